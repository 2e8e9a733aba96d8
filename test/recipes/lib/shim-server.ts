// Rung 3 (engine double): the process behind the `dagger` shim. It holds one engine double (memory backend) and the
// staged module, reads each `dagger call` command line the shim forwards as the CLI would (dagger-cli.ts), runs
// the chain for real through the double, and answers with what the CLI would print and a record of what ran.
// --sign is answered by Sigstore's mock Fulcio and Rekor under their public-good names. Started by shim.ts; prints
// `ready <port>` on stdout, then serves POST /call until killed.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";

import { MemoryBackend, type MemoryRegistryConfig } from "../../engine/memory-backend.js";
import { FunctionCallError, startEngineDouble, type EngineDouble } from "../../engine/server.js";
import { stageModule } from "../../engine/stage.js";
import { startSigstore } from "../../fixtures/sigstore.js";
import { introspectModule, type ModuleDef, type TypeDef } from "../../registration/introspect.js";
import { CliUsageError, parseDaggerCall, type CliValue, type ParsedCall } from "./dagger-cli.js";
import type { ShimRecord, ShimRequest, ShimResponse } from "./shim-protocol.js";

const MAIN_OBJECT = "Dockyard";
/** A module address naming dockyard (any host, owner and version): the shim runs this checkout's module for it. */
const DOCKYARD_ADDRESS = /(^|\/)dockyard(@[^/@]+)?$/;

/** A Dagger CLI error: the message, as `Error: …` on stderr, exit code 1. */
class CallFailure extends Error {}

/** engine/client/secretprovider/env.go:18 (the name is shortened in the message). */
function envSecret(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (value === undefined) throw new CallFailure(`secret env var not found: "${name.slice(0, 3)}..."`);
  return value;
}

/** The secret providers the recipes use: env:NAME / env://NAME and file:PATH / file://PATH; a bare name is env. */
function secretPlaintext(address: string, env: Record<string, string>, cwd: string): string {
  const m = /^([a-z]+):(?:\/\/)?(.*)$/.exec(address);
  if (!m) return envSecret(env, address);
  const [, scheme, rest = ""] = m;
  if (scheme === "env") return envSecret(env, rest);
  if (scheme === "file") {
    const path = resolve(cwd, rest);
    if (!existsSync(path)) throw new CallFailure(`secret file not found: ${path}`);
    return readFileSync(path, "utf8");
  }
  throw new CallFailure(`secret provider ${scheme}: not modelled by the shim`);
}

/** What a host folder is to the module: HEAD, refs, and every change git sees (ignored files included). */
function folderFingerprint(dir: string): { key: string; clean: boolean } {
  const git = (...args: string[]) =>
    spawnSync("git", args, { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: "/dev/null" } });
  const status = git("status", "--porcelain", "--untracked-files=all", "--ignored");
  if (status.status !== 0) return { key: "", clean: false };
  const refs = git("for-each-ref", "--format=%(refname) %(objectname)").stdout;
  const head = `${git("rev-parse", "HEAD").stdout}${git("symbolic-ref", "-q", "HEAD").stdout}`;
  return { key: `${head}\n${refs}`, clean: status.stdout === "" };
}

interface Resolved {
  args: Record<string, unknown>[];
  /** Undefined when the call must not be replayed (a folder with changes, or one git cannot read). */
  memoKey?: string;
}

function resolveValues(double: EngineDouble, call: ParsedCall, req: ShimRequest): Resolved {
  let replayable = true;
  const keyParts: unknown[] = [req.argv];
  const args = call.steps.map((step) => {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(step.args)) out[name] = resolveOne(v);
    return out;
  });
  function resolveOne(v: CliValue): unknown {
    if (v.kind === "json") return v.value;
    if (v.kind === "secret") {
      const plaintext = secretPlaintext(v.address, req.env, req.cwd);
      keyParts.push(createHash("sha256").update(plaintext).digest("hex"));
      return double.cliSecret(plaintext);
    }
    const path = resolve(req.cwd, v.address);
    if (!existsSync(path)) throw new CallFailure(`host directory ${path} does not exist`);
    const print = folderFingerprint(path);
    if (!print.clean) replayable = false;
    keyParts.push(print.key);
    return double.hostDirectory(path);
  }
  return { args, ...(replayable ? { memoKey: JSON.stringify(keyParts) } : {}) };
}

/** functions.go:1012-1060 prints an object leaf as `Type@digest`; here the digest is over the object's JSON. */
function printObject(type: TypeDef, value: unknown): string {
  return `${type.name ?? "Object"}@sha256:${createHash("sha256").update(JSON.stringify(value)).digest("hex")}\n`;
}

/** functions.go:1069-1140: plain results (strings as they are, one line per list item), or JSON with --json. */
function render(call: ParsedCall, value: unknown): string {
  if (call.json) return `${JSON.stringify(value, null, 4)}\n`;
  const leaf = call.leaf;
  if (leaf.kind === "OBJECT_KIND") return printObject(leaf, value);
  const plain = (v: unknown): string =>
    Array.isArray(v) ? v.map((x) => `${plain(x)}\n`).join("") : typeof v === "string" ? v : String(v);
  return leaf.kind === "VOID_KIND" ? "" : plain(value);
}

async function runCall(
  double: EngineDouble,
  backend: MemoryBackend,
  mod: ModuleDef,
  memo: Map<string, ShimRecord>,
  req: ShimRequest,
): Promise<ShimResponse> {
  const started = performance.now();
  const base = { argv: req.argv, cwd: req.cwd };
  let call: ParsedCall;
  try {
    call = parseDaggerCall(req.argv, mod, MAIN_OBJECT);
    if (!DOCKYARD_ADDRESS.test(call.module)) {
      throw new CallFailure(`module ${call.module}: the shim runs only dockyard (this repository's module)`);
    }
  } catch (e) {
    if (!(e instanceof CliUsageError) && !(e instanceof CallFailure)) throw e;
    return failed(base, undefined, e.message, started);
  }
  const steps = call.steps.map((s) => ({ fn: s.fn, command: s.command, parent: s.parent, flags: s.flags }));
  let resolved: Resolved;
  try {
    resolved = resolveValues(double, call, req);
  } catch (e) {
    if (!(e instanceof CallFailure)) throw e;
    return failed(base, steps, e.message, started);
  }
  const hit = resolved.memoKey === undefined ? undefined : memo.get(resolved.memoKey);
  if (hit) return withOutputFile(call, { ...hit, cwd: req.cwd, replayed: true, ms: performance.now() - started });

  // Each dagger call is a session of its own: no registry credential or cached build of an earlier call is left.
  double.reset();
  const pushedFrom = backend.pushed.length;
  // The constructor's arguments go to double.module; every later step is a chained call.
  const fns = call.steps.slice(1);
  let chain = double.module({ args: resolved.args[0] ?? {} });
  fns.forEach((s, i) => {
    chain = chain.call(
      s.fn,
      resolved.args[i + 1] ?? {},
      s.returns && s.returns !== MAIN_OBJECT ? { returns: s.returns } : {},
    );
  });
  let value: unknown;
  let error: string | undefined;
  try {
    value = await chain.result();
    if (call.field !== undefined) value = (value as Record<string, unknown>)[call.field];
  } catch (e) {
    if (!(e instanceof FunctionCallError)) throw e;
    // A step that ended without a result: what its process printed last says why.
    const tail = / and no result$/.test(e.message) ? e.stderr.trim().split("\n").slice(-3) : [];
    error = [e.message, ...tail].join("\n");
  }
  const journal = [...double.journal];
  const returns = journal
    .filter((j) => j.field === "FunctionCall.returnValue")
    .map((j, i) => ({ fn: call.steps[i]?.fn ?? "?", value: JSON.parse(String(j.args.value)) as unknown }));
  const record: ShimRecord = {
    ...base,
    module: call.module,
    steps,
    ...(call.output !== undefined ? { output: call.output } : {}),
    status: error === undefined ? 0 : 1,
    stdout: error === undefined ? render(call, value) : "",
    stderr: error === undefined ? "" : `Error: ${error}\n`,
    returns,
    builds: journal
      .filter((j) => j.field === "Directory.dockerBuild")
      .map((j) => ({ platform: typeof j.args.platform === "string" ? j.args.platform : "" })),
    pushAttempts: journal.filter((j) => j.field === "Container.publish").map((j) => String(j.args.address)),
    pushes: backend.pushed.slice(pushedFrom).map((p) => ({
      host: p.host,
      repository: p.repository,
      tag: p.tag ?? "latest",
      digest: p.digest,
      ...(p.username !== undefined ? { username: p.username } : {}),
      manifest: p.manifest,
    })),
    registry: heldTags(backend, pushedFrom),
    replayed: false,
    ms: performance.now() - started,
  };
  if (resolved.memoKey !== undefined) memo.set(resolved.memoKey, record);
  return withOutputFile(call, record);
}

/** What the registries hold after a call, in every repository it pushed to: each tag and the digest it names. */
function heldTags(backend: MemoryBackend, pushedFrom: number): Record<string, Record<string, string>> {
  const held: Record<string, Record<string, string>> = {};
  for (const p of backend.pushed.slice(pushedFrom)) {
    const registry = backend.registry(p.host);
    const tags: Record<string, string> = {};
    for (const tag of registry.tags(p.repository)) tags[tag] = registry.manifest(p.repository, tag)?.digest ?? "";
    held[`${p.host}/${p.repository}`] = tags;
  }
  return held;
}

/** functions.go:860-871: an object leaf is only printed; any other result is written to --output, then printed. */
function withOutputFile(call: ParsedCall, record: ShimRecord): ShimResponse {
  if (record.status !== 0 || call.output === undefined || call.leaf.kind === "OBJECT_KIND") return { record };
  return { record, outputFile: { path: call.output, text: record.stdout } };
}

function failed(
  base: { argv: string[]; cwd: string },
  steps: ShimRecord["steps"] | undefined,
  message: string,
  started: number,
): ShimResponse {
  return {
    record: {
      ...base,
      module: "",
      steps: steps ?? [],
      status: 1,
      stdout: "",
      stderr: `Error: ${message}\n`,
      returns: [],
      builds: [],
      pushAttempts: [],
      pushes: [],
      registry: {},
      replayed: false,
      ms: performance.now() - started,
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<void> {
  const registries = JSON.parse(process.env.DOCKYARD_SHIM_REGISTRIES ?? "{}") as Record<string, MemoryRegistryConfig>;
  const backend = new MemoryBackend({ registries });
  // --sign reaches the public-good Fulcio and Rekor by name: here Sigstore's mock on loopback answers for both.
  const sigstore = new URL((await startSigstore()).url).host;
  const registryNetwork = backend.moduleNetwork.bind(backend);
  backend.moduleNetwork = async () => ({
    ...(await registryNetwork()),
    "fulcio.sigstore.dev": sigstore,
    "rekor.sigstore.dev": sigstore,
  });
  const double = await startEngineDouble({ backend });
  const staged = await stageModule();
  // The flags `dagger call` offers are the module's registered arguments (the double reads the same typedefs).
  const mod = await introspectModule(join(staged.dir, "src"), "dockyard");
  const memo = new Map<string, ShimRecord>();
  // One call at a time, as the recipes' shells call dagger one after another.
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const work = queue.then(async () => {
      try {
        const request = JSON.parse(await readBody(req)) as ShimRequest;
        answer(200, await runCall(double, backend, mod, memo, request));
      } catch (e) {
        answer(500, { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    });
    queue = work;
  });
  // A call may take minutes on a loaded machine: no server-side timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`dagger shim server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
