// Rung 3 (engine double): the object table, journal and build cache behind the GraphQL resolvers.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Backend, BuildRequest, BuiltImage } from "./backend.js";
import { folderDigest } from "./memory-backend.js";

export interface RegistryCred {
  username: string;
  secretId: string;
}

/** A dockerBuild as asked for: resolved to a BuildRequest only when something forces the build. */
export interface PendingBuild {
  contextDir: string;
  dockerfile: string;
  platform?: string;
  buildArgs: { name: string; value: string }[];
  target?: string;
  secretIds: string[];
}

export type Model =
  | { kind: "Secret"; name: string; plaintext: string }
  | { kind: "Directory"; root: string; sub: string }
  | { kind: "File"; root: string; sub: string }
  | { kind: "GitRepository"; dir: string }
  | { kind: "GitRef"; commit: string; ref: string }
  | { kind: "Changeset"; addedPaths: string[]; modifiedPaths: string[]; removedPaths: string[] }
  | { kind: "Container"; build?: PendingBuild; labels: Record<string, string>; auth: Record<string, RegistryCred> }
  | { kind: "FunctionCallArgValue"; name: string; value: string }
  | { kind: "Error"; message: string; values: { name: string; value: string }[] }
  | { kind: "FunctionCall"; token: string }
  | { kind: "CurrentModule"; token: string };

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
  variants: number;
}

export class DoubleState {
  readonly journal: JournalEntry[] = [];
  readonly publishes: PublishRecord[] = [];
  builds = 0;
  private readonly objects = new Map<string, Model>();
  private readonly buildCache = new Map<string, Promise<BuiltImage>>();
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

  reset(): void {
    this.journal.length = 0;
    this.publishes.length = 0;
    this.builds = 0;
    this.buildCache.clear();
  }

  /** Builds once per distinct content + request, like the engine's content-addressed cache. */
  build(pending: PendingBuild): Promise<BuiltImage> {
    const secrets = pending.secretIds.map((id) => this.load(id, "Secret").model);
    const key = createHash("sha256")
      .update(
        JSON.stringify({
          ctx: folderDigest(pending.contextDir),
          ...pending,
          secretIds: undefined,
          secrets: secrets.map((s) => [s.name, createHash("sha256").update(s.plaintext).digest("hex")]),
        }),
      )
      .digest("hex");
    const cached = this.buildCache.get(key);
    if (cached) return cached;
    const req: BuildRequest = {
      contextDir: pending.contextDir,
      dockerfile: pending.dockerfile,
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

export const hostPath = (m: { root: string; sub: string }): string => join(m.root, m.sub);
