// Rung 3 (engine double): one handler per modelled `Type.field`; anything else is refused by the dispatcher.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { posix } from "node:path";
import { Kind as AstKind, type GraphQLResolveInfo } from "graphql";
import { assertGitRepository, gitBranches, gitHead, gitTag, gitTags, gitUncommitted } from "./git.js";
import { authHost, formatPublished, parseImageRef } from "./refs.js";
import { hostPath, type DoubleState, type Kind, type ModelOf, type Ref } from "./state.js";

export interface CallContext {
  /** currentModule.name; the SDK derives the main class name from it (PascalCase). */
  moduleName: string;
  parentName: string;
  name: string;
  /** Parent object state; sent to the SDK as its JSON. */
  parent: unknown;
  inputArgs: Record<string, unknown>;
}

export interface CallOutcome {
  /** JSON text given to returnValue. */
  value?: string;
  error?: { message: string; values: { name: string; value: string }[] };
}

/** What one token may see: admin tokens have no call; function-call tokens carry their context. */
export interface Session {
  token: string;
  call?: CallContext;
  argIds: string[];
  settle?: (o: CallOutcome) => void;
}

export interface ExecContext {
  state: DoubleState;
  session: Session;
}

type Args = Record<string, unknown>;
type Handler = (self: Ref, args: Args, ctx: ExecContext, info: GraphQLResolveInfo) => unknown;

/** Narrows the parent object to the kind the schema says it is. */
function self<K extends Kind>(r: Ref, kind: K): ModelOf<K> {
  if (r.model.kind !== kind) throw new Error(`engine double: expected a ${kind}, got ${r.model.kind}`);
  return r.model as ModelOf<K>;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const optStr = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function notModelled(what: string): never {
  throw new Error(`engine double: ${what} is not modelled`);
}

/** A path inside a directory; like the engine, it cannot climb above the directory's root. */
function subPath(base: string, path: string): string {
  const joined = posix.normalize(posix.join(base, path.replace(/^\/+/, "")));
  if (joined === ".." || joined.startsWith("../")) throw new Error(`${path}: path escapes the directory`);
  return joined === "." ? "" : joined;
}

function callOf(ctx: ExecContext): CallContext {
  if (!ctx.session.call) throw new Error("engine double: no function call is running for this session");
  return ctx.session.call;
}

/** node(id:) answers only through a fragment on the object's own type (or Node), so a wrong type fails loudly. */
function checkNodeFragments(kind: string, info: GraphQLResolveInfo): void {
  const selections = info.fieldNodes.flatMap((n) => n.selectionSet?.selections ?? []);
  const conditions = selections.flatMap((s) =>
    s.kind === AstKind.INLINE_FRAGMENT && s.typeCondition ? [s.typeCondition.name.value] : [],
  );
  if (conditions.length > 0 && !conditions.some((c) => c === kind || c === "Node")) {
    throw new Error(`engine double: node is a ${kind}, queried as ${conditions.join(", ")}`);
  }
}

function directoryHandlers(): Record<string, Handler> {
  return {
    "Directory.id": (r) => r.id,
    "Directory.sync": (r) => r.id,
    "Directory.directory": (r, a, { state }) => {
      const d = self(r, "Directory");
      const sub = subPath(d.sub, str(a.path));
      const full = hostPath({ root: d.root, sub });
      if (!existsSync(full) || !statSync(full).isDirectory()) throw new Error(`${a.path}: no such file or directory`);
      return state.mint({ kind: "Directory", root: d.root, sub });
    },
    "Directory.file": (r, a, { state }) => {
      const d = self(r, "Directory");
      const sub = subPath(d.sub, str(a.path));
      const full = hostPath({ root: d.root, sub });
      if (!existsSync(full) || !statSync(full).isFile()) throw new Error(`${a.path}: no such file or directory`);
      return state.mint({ kind: "File", root: d.root, sub });
    },
    // Directories carry a trailing slash, as the engine answers current clients.
    "Directory.entries": (r, a) => {
      const d = self(r, "Directory");
      const full = hostPath({ root: d.root, sub: subPath(d.sub, str(a.path)) });
      return readdirSync(full, { withFileTypes: true })
        .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
        .sort();
    },
    "Directory.exists": (r, a) => {
      const d = self(r, "Directory");
      const full = hostPath({ root: d.root, sub: subPath(d.sub, str(a.path)) });
      if (!existsSync(full)) return false;
      const st = a.doNotFollowSymlinks === true ? lstatSync(full) : statSync(full);
      const want = a.expectedType;
      if (want === "REGULAR_TYPE") return st.isFile();
      if (want === "DIRECTORY_TYPE") return st.isDirectory();
      if (want === "SYMLINK_TYPE") return lstatSync(full).isSymbolicLink();
      return true;
    },
    "Directory.asGit": (r, _a, { state }) => {
      const dir = hostPath(self(r, "Directory"));
      assertGitRepository(dir);
      return state.mint({ kind: "GitRepository", dir });
    },
    "Directory.dockerBuild": (r, a, { state }) => {
      const d = self(r, "Directory");
      if (a.ssh != null) notModelled("argument Directory.dockerBuild(ssh:)");
      const secretIds = strList(a.secrets);
      for (const id of secretIds) state.load(id, "Secret");
      const buildArgs = (Array.isArray(a.buildArgs) ? a.buildArgs : []).map((b) => {
        const { name, value } = b as { name: unknown; value: unknown };
        return { name: str(name), value: str(value) };
      });
      const platform = optStr(a.platform);
      const target = optStr(a.target);
      return state.mint({
        kind: "Container",
        build: {
          contextDir: hostPath(d),
          dockerfile: str(a.dockerfile) || "Dockerfile",
          ...(platform !== undefined ? { platform } : {}),
          buildArgs,
          ...(target !== undefined ? { target } : {}),
          secretIds,
        },
        labels: {},
        auth: {},
      });
    },
    "File.id": (r) => r.id,
    "File.contents": (r) => readFileSync(hostPath(self(r, "File")), "utf8"),
  };
}

function gitHandlers(): Record<string, Handler> {
  return {
    "GitRepository.id": (r) => r.id,
    "GitRepository.head": (r, _a, { state }) =>
      state.mint({ kind: "GitRef", ...gitHead(self(r, "GitRepository").dir) }),
    "GitRepository.tag": (r, a, { state }) =>
      state.mint({ kind: "GitRef", ...gitTag(self(r, "GitRepository").dir, str(a.name)) }),
    "GitRepository.tags": (r, a) => gitTags(self(r, "GitRepository").dir, strList(a.patterns)),
    "GitRepository.branches": (r, a) => gitBranches(self(r, "GitRepository").dir, strList(a.patterns)),
    "GitRepository.uncommitted": (r, _a, { state }) =>
      state.mint({ kind: "Changeset", ...gitUncommitted(self(r, "GitRepository").dir) }),
    "GitRef.id": (r) => r.id,
    "GitRef.commit": (r) => self(r, "GitRef").commit,
    "GitRef.ref": (r) => self(r, "GitRef").ref,
    "Changeset.id": (r) => r.id,
    "Changeset.isEmpty": (r) => {
      const c = self(r, "Changeset");
      return c.addedPaths.length + c.modifiedPaths.length + c.removedPaths.length === 0;
    },
    "Changeset.addedPaths": (r) => self(r, "Changeset").addedPaths,
    "Changeset.modifiedPaths": (r) => self(r, "Changeset").modifiedPaths,
    "Changeset.removedPaths": (r) => self(r, "Changeset").removedPaths,
  };
}

/** publish: build every variant, refuse duplicate platforms, push with the creds registered for the host. */
async function publish(r: Ref, a: Args, state: DoubleState): Promise<string> {
  const c = self(r, "Container");
  if (a.registryService != null) notModelled("argument Container.publish(registryService:)");
  const address = str(a.address);
  const ref = parseImageRef(address);
  const containers = [c, ...strList(a.platformVariants).map((id) => state.load(id, "Container").model)];
  const withFs = containers.filter((x) => x.build !== undefined);
  if (withFs.length === 0) throw new Error("no containers to export");
  const variants = await Promise.all(
    withFs.map(async (x) => ({ ...(await state.build(x.build!)), labels: { ...x.labels } })),
  );
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.platform)) throw new Error(`duplicate platform "${v.platform}"`);
    seen.add(v.platform);
  }
  const cred = c.auth[ref.host];
  const auth = cred
    ? { username: cred.username, password: state.load(cred.secretId, "Secret").model.plaintext }
    : undefined;
  const digest = await state.backend.push({ address, variants, ...(auth ? { auth } : {}) });
  state.publishes.push({
    address,
    host: ref.host,
    ...(cred ? { username: cred.username } : {}),
    variants: variants.length,
  });
  return formatPublished(ref, digest);
}

function containerHandlers(): Record<string, Handler> {
  return {
    "Container.id": (r) => r.id,
    // sync forces the build and answers the container's own ID.
    "Container.sync": async (r, _a, { state }) => {
      const c = self(r, "Container");
      if (c.build) await state.build(c.build);
      return r.id;
    },
    "Container.withLabel": (r, a, { state }) => {
      const c = self(r, "Container");
      return state.mint({ ...c, labels: { ...c.labels, [str(a.name)]: str(a.value) } });
    },
    "Container.withRegistryAuth": (r, a, { state }) => {
      const c = self(r, "Container");
      const secretId = str(a.secret);
      state.load(secretId, "Secret");
      return state.mint({
        ...c,
        auth: { ...c.auth, [authHost(str(a.address))]: { username: str(a.username), secretId } },
      });
    },
    "Container.publish": (r, a, { state }) => publish(r, a, state),
  };
}

function functionCallHandlers(): Record<string, Handler> {
  return {
    "CurrentModule.id": (r) => r.id,
    "CurrentModule.name": (_r, _a, ctx) => callOf(ctx).moduleName,
    "FunctionCall.id": (r) => r.id,
    "FunctionCall.parentName": (_r, _a, ctx) => callOf(ctx).parentName,
    "FunctionCall.name": (_r, _a, ctx) => callOf(ctx).name,
    // JSON scalars travel as JSON text: the SDK JSON.parses what it reads.
    "FunctionCall.parent": (_r, _a, ctx) => JSON.stringify(callOf(ctx).parent ?? {}),
    "FunctionCall.inputArgs": (_r, _a, ctx) => ctx.session.argIds.map((id) => ctx.state.ref(id)),
    "FunctionCall.returnValue": (_r, a, ctx) => {
      callOf(ctx);
      ctx.session.settle?.({ value: str(a.value) });
      return null;
    },
    "FunctionCall.returnError": (_r, a, ctx) => {
      callOf(ctx);
      const e = ctx.state.load(str(a.error), "Error").model;
      ctx.session.settle?.({ error: { message: e.message, values: e.values } });
      return null;
    },
    "FunctionCallArgValue.id": (r) => r.id,
    "FunctionCallArgValue.name": (r) => self(r, "FunctionCallArgValue").name,
    "FunctionCallArgValue.value": (r) => self(r, "FunctionCallArgValue").value,
    "Error.id": (r) => r.id,
    "Error.message": (r) => self(r, "Error").message,
    "Error.withValue": (r, a, { state }) => {
      const e = self(r, "Error");
      return state.mint({ ...e, values: [...e.values, { name: str(a.name), value: str(a.value) }] });
    },
    "Secret.id": (r) => r.id,
    "Secret.name": (r) => self(r, "Secret").name,
    "Secret.plaintext": (r) => self(r, "Secret").plaintext,
  };
}

function queryHandlers(): Record<string, Handler> {
  return {
    "Query.node": (_r, a, { state }, info) => {
      const ref = state.ref(str(a.id));
      checkNodeFragments(ref.model.kind, info);
      return ref;
    },
    "Query.setSecret": (_r, a, { state }) =>
      state.mint({ kind: "Secret", name: str(a.name), plaintext: str(a.plaintext) }),
    "Query.currentModule": (_r, _a, ctx) => {
      callOf(ctx);
      return ctx.state.mint({ kind: "CurrentModule", token: ctx.session.token });
    },
    "Query.currentFunctionCall": (_r, _a, ctx) => {
      callOf(ctx);
      return ctx.state.mint({ kind: "FunctionCall", token: ctx.session.token });
    },
    "Query.error": (_r, a, { state }) => state.mint({ kind: "Error", message: str(a.message), values: [] }),
    // An empty container, as dag.container() gives: only useful to publish platformVariants.
    "Query.container": (_r, a, { state }) => {
      if (a.platform != null) notModelled("argument Query.container(platform:)");
      return state.mint({ kind: "Container", labels: {}, auth: {} });
    },
    "Query.version": () => "v0.21.8",
  };
}

export const handlers: Readonly<Record<string, Handler>> = {
  ...queryHandlers(),
  ...directoryHandlers(),
  ...gitHandlers(),
  ...containerHandlers(),
  ...functionCallHandlers(),
};

/** Journal args for a field; setSecret keeps its name only, so a plaintext never reaches the journal. */
export function journalArgs(field: string, args: Args): Args {
  return field === "Query.setSecret" ? { name: args.name } : args;
}
