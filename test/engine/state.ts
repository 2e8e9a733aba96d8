// Rung 3 (engine double): the object table, journal, session-wide registry auth and build cache behind the GraphQL resolvers.
import { createHash } from "node:crypto";
import type { Backend, BuildRequest, BuiltImage, ExecResult, RegistryCredential } from "./backend.js";
import { copyFiltered, NotExistError, rootPath, scratchDir, statInRoot } from "./directory.js";
import { folderDigest } from "./memory-backend.js";

/** A dockerBuild as asked for: checked when asked (as Dagger does), built only when something forces the build. */
export interface PendingBuild {
  /** The real folder of the Directory dockerBuild was called on. */
  contextDir: string;
  /** Patterns from <dockerfile>.dockerignore, else .dockerignore: Dagger filters the context with them. */
  ignore: string[];
  /** The ignore file the patterns came from. */
  ignoreFile?: string;
  dockerfile: string;
  dockerfileText: string;
  platform?: string;
  buildArgs: { name: string; value: string }[];
  target?: string;
  secretIds: string[];
}

/**
 * A Directory: the folder `sub` of the snapshot whose root is `root` (or, for a lazily made snapshot such as
 * `filter`, whatever `materialise` returns). `sub` is not checked until the directory is used, as in Dagger.
 */
export interface DirectoryModel {
  kind: "Directory";
  root: string;
  sub: string;
  /** The path as the caller gave it to Directory.directory, for messages. */
  given?: string;
  materialise?: () => string;
}

export interface GitRepoModel {
  kind: "GitRepository";
  /** The folder asGit was called on. */
  dir: string;
  /** Root of the snapshot it belongs to: git may not look above it. */
  root: string;
}

/** annotations: withAnnotation's list in call order, a name repeated as given (core/container.go:6340-6350). */
export interface ContainerModel {
  kind: "Container";
  build?: PendingBuild;
  /** Container.from's local image (backend handle), when the container starts from one. */
  image?: string;
  labels: Record<string, string>;
  annotations: { name: string; value: string }[];
  platform: string;
  /** withMountedFile's files by container path, in call order. */
  mounts?: { path: string; file: ModelOf<"File"> }[];
  /** The last withExec: run once, when exitCode, stdout or stderr is asked (R29). */
  exec?: { args: string[]; useEntrypoint: boolean };
}

export type Model =
  | { kind: "Secret"; name: string; plaintext: string }
  | DirectoryModel
  /** tarballOf: Container.asTarball's file, written (backend.tarball) when a process mounts it. */
  | { kind: "File"; root: string; sub: string; tarballOf?: ContainerModel }
  | GitRepoModel
  /** ref is the ref name Dagger resolved ("" for commit() and commonAncestor(): ref() then answers the sha). */
  | { kind: "GitRef"; commit: string; ref: string; repo: GitRepoModel }
  | { kind: "Changeset"; addedPaths: string[]; modifiedPaths: string[]; removedPaths: string[]; empty: boolean }
  | ContainerModel
  | { kind: "FunctionCallArgValue"; name: string; value: string }
  | { kind: "Error"; message: string; values: { name: string; value: string }[] }
  | { kind: "FunctionCall"; token: string }
  | { kind: "CurrentModule"; token: string }
  /** An object of a served module: its JSON as the function returned it, and the call that made it (its cache key). */
  | { kind: "ModuleObject"; typeName: string; objectName: string; value: Record<string, unknown>; callKey: string };

export type Kind = Model["kind"];
export type ModelOf<K extends Kind> = Extract<Model, { kind: K }>;

/** What a resolver hands to graphql-js for an object: the ID and the model behind it. */
export interface Ref<K extends Kind = Kind> {
  id: string;
  model: ModelOf<K>;
}

export interface JournalEntry {
  seq: number;
  field: string;
  args: Record<string, unknown>;
  /** performance.now() when the field was resolved, for benchmarks (never asserted by tests). */
  at: number;
}

export interface PublishRecord {
  address: string;
  host: string;
  username?: string;
  /** Where the credential came from: the session's withRegistryAuth map, or the CLI host's docker config. */
  credentialFrom?: "session" | "docker-config";
  variants: number;
}

/** The snapshot root a Directory belongs to (made on first use for a lazy one). */
export function snapshotRoot(d: DirectoryModel): string {
  return d.materialise ? d.materialise() : d.root;
}

/**
 * The real folder of a Directory, evaluated as Dagger evaluates a lazy Directory.directory (core/directory.go:1086-1123):
 * a missing path is ENOENT ("stat <path>: no such file or directory"), a file is "not a directory".
 */
export function dirPath(d: DirectoryModel): string {
  const root = snapshotRoot(d);
  if (d.sub === "") return root;
  const given = d.given ?? d.sub;
  const st = statInRoot(root, d.sub, true);
  if (!st) throw new NotExistError(`stat ${given}: no such file or directory`);
  if (!st.isDirectory()) throw new Error(`path ${given} is a file, not a directory`);
  return rootPath(root, d.sub);
}

/** A CLI-passed secret (`--password env:X`): Dagger mints it from a URI, so it has no name (CONFORMANCE R4a). */
export function cliSecret(double: { secret(name: string, plaintext: string): string }, plaintext: string): string {
  return double.secret("", plaintext);
}

export class DoubleState {
  readonly journal: JournalEntry[] = [];
  readonly publishes: PublishRecord[] = [];
  builds = 0;
  /** The session's registry credentials by host (auth/registry.go RegistryAuthProvider): last write wins. */
  readonly registryAuth = new Map<string, RegistryCredential>();
  /** withRegistryAuth calls already made: the field is cached per session, so a repeat adds nothing. */
  readonly authCalls = new Set<string>();
  private readonly objects = new Map<string, Model>();
  private readonly buildCache = new Map<string, Promise<BuiltImage>>();
  private readonly execCache = new Map<string, Promise<ExecResult>>();
  /** Processes run by withExec (each distinct exec once per session, as the engine caches it). */
  execs = 0;
  private nextId = 1;

  constructor(readonly backend: Backend) {}

  /** IDs are opaque to the SDK; the kind inside only helps humans read journals. */
  mint<K extends Kind>(model: ModelOf<K>): Ref<K> {
    const id = `dbl:${model.kind}:${this.nextId++}`;
    this.objects.set(id, model);
    return { id, model };
  }

  ref(id: string): Ref {
    const model = this.objects.get(id);
    if (!model) throw new Error(`engine double: unknown ID ${JSON.stringify(id)}`);
    return { id, model };
  }

  /** Loads an ID argument and checks its type, as dagql does for @expectedType arguments. */
  load<K extends Kind>(id: string, kind: K): Ref<K> {
    const r = this.ref(id);
    if (r.model.kind !== kind) throw new Error(`engine double: ID ${id} is a ${r.model.kind}, expected ${kind}`);
    return { id, model: r.model as ModelOf<K> };
  }

  record(field: string, args: Record<string, unknown>): void {
    this.journal.push({ seq: this.journal.length + 1, field, args: this.scrub(args), at: performance.now() });
  }

  /** A new session: journal, publishes, builds, build cache and registry credentials go; IDs stay valid. */
  reset(): void {
    this.journal.length = 0;
    this.publishes.length = 0;
    this.builds = 0;
    this.buildCache.clear();
    this.execCache.clear();
    this.execs = 0;
    this.registryAuth.clear();
    this.authCalls.clear();
  }

  /**
   * Builds once per distinct content + request, like the engine's content-addressed cache. A named secret's
   * handle does not depend on its value (core/secret.go), so the key holds secret names, not plaintexts.
   */
  build(pending: PendingBuild): Promise<BuiltImage> {
    const secrets = pending.secretIds.map((id) => this.load(id, "Secret").model);
    const key = createHash("sha256")
      .update(
        JSON.stringify({
          ctx: folderDigest(pending.contextDir),
          ...pending,
          contextDir: undefined,
          secretIds: undefined,
          secrets: secrets.map((s) => s.name),
        }),
      )
      .digest("hex");
    const cached = this.buildCache.get(key);
    if (cached) return cached;
    const req: BuildRequest = {
      contextDir: this.stageContext(pending),
      dockerfile: pending.dockerfile,
      dockerfileText: pending.dockerfileText,
      ...(pending.ignoreFile !== undefined ? { ignoreFile: pending.ignoreFile } : {}),
      ...(pending.platform !== undefined ? { platform: pending.platform } : {}),
      buildArgs: pending.buildArgs,
      ...(pending.target !== undefined ? { target: pending.target } : {}),
      secrets: secrets.map((s) => ({ name: s.name, plaintext: s.plaintext })),
    };
    this.builds++;
    const result = this.backend.build(req);
    this.buildCache.set(key, result);
    // A failed build is not cached: the engine retries it next time.
    result.catch(() => this.buildCache.delete(key));
    return result;
  }

  /** The backend image a container runs in: Container.from's, else its build's. */
  private async imageOf(c: ContainerModel): Promise<BuiltImage> {
    if (c.image !== undefined) return { image: c.image, platform: c.platform };
    if (c.build) return this.build(c.build);
    throw new Error("engine double: a process in a container with no image (dag.container() alone) is not modelled");
  }

  /** A file's host path: a snapshot's file as it is, an asTarball file written by the backend. */
  private async hostFile(f: ModelOf<"File">): Promise<string> {
    if (!f.tarballOf) return rootPath(f.root, f.sub);
    const c = f.tarballOf;
    const built = await this.imageOf(c);
    const annotations = Object.fromEntries(c.annotations.map((a) => [a.name, a.value]));
    return this.backend.tarball({ image: built.image, platform: built.platform, labels: { ...c.labels }, annotations });
  }

  /**
   * The container's last withExec, run once per distinct container (image, mounts, args), as the engine's cache
   * evaluates the exec once however many of exitCode, stdout and stderr are read; a failed run is not kept.
   */
  execOf(c: ContainerModel): Promise<ExecResult> {
    if (!c.exec) return Promise.reject(new Error("no command has been set"));
    const exec = c.exec;
    const mountKey = (c.mounts ?? []).map((m) => ({
      path: m.path,
      file: m.file.tarballOf ? { tarballOf: { ...m.file.tarballOf, mounts: undefined, exec: undefined } } : m.file,
    }));
    const key = JSON.stringify({ image: c.image, build: c.build, exec, mounts: mountKey });
    const cached = this.execCache.get(key);
    if (cached) return cached;
    const result = (async () => {
      const { image } = await this.imageOf(c);
      const mounts = await Promise.all(
        (c.mounts ?? []).map(async (m) => ({ path: m.path, hostPath: await this.hostFile(m.file) })),
      );
      this.execs++;
      return this.backend.exec({ image, args: exec.args, useEntrypoint: exec.useEntrypoint, mounts });
    })();
    this.execCache.set(key, result);
    result.catch(() => this.execCache.delete(key));
    return result;
  }

  /** applyDockerIgnore (core/schema/directory.go:1637-1680): the context is the directory filtered by the ignore file. */
  private stageContext(pending: PendingBuild): string {
    if (pending.ignore.length === 0) return pending.contextDir;
    const out = scratchDir("context");
    copyFiltered(pending.contextDir, out, { include: [], exclude: pending.ignore });
    return out;
  }

  /** Replaces every known secret plaintext inside journal args: the journal must never hold one. */
  private scrub(args: Record<string, unknown>): Record<string, unknown> {
    const plaintexts = [...this.objects.values()]
      .flatMap((m) => (m.kind === "Secret" && m.plaintext.length >= 3 ? [m.plaintext] : []))
      .sort((a, b) => b.length - a.length);
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return plaintexts.reduce((s, p) => s.split(p).join("***"), v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x)]));
      }
      return v;
    };
    return walk(JSON.parse(JSON.stringify(args)) as unknown) as Record<string, unknown>;
  }
}
