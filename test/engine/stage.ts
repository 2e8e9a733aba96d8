// Rung 3 (engine double): stages a module the way Dagger v0.21's TypeScript runtime lays out its container.
// Citations: dagger/dagger at tag v0.21.8; a bare file name is under sdk/typescript/runtime/.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { processTempDir } from "../infra/tempdirs.js";

/** tsdistconsts/consts.go:22: the version the runtime writes and the fast path looks for. */
export const DEFAULT_TYPESCRIPT_VERSION = "5.9.3";
/** The pinned npm SDK that stands in for the engine's bundled SDK (same source, v0.21 line). */
export const SDK_VERSION = "0.21.9";

const DAGGER_LIB = "@dagger.io/dagger";
const DAGGER_TELEMETRY = "@dagger.io/dagger/telemetry";
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, "../..");
const ENTRYPOINT_SOURCE = join(HERE, "run-entrypoint.ts");
/** main.go:28 (EntrypointExecutableFile), placed under src/ by runtime_node.go:94. */
const ENTRYPOINT = "src/__dagger.entrypoint.ts";

/** tsutils/template/package.json: used when the module has none (runtime_node.go:201-209). */
const TEMPLATE_PACKAGE_JSON = '{\n  "type": "module"\n}';
/** tsutils/template/tsconfig.json: used as is when the module has none (config_updator.go:20-25). */
const TEMPLATE_TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "moduleResolution": "Node",
    "experimentalDecorators": true,
    "strict": true,
    "skipLibCheck": true,
    "paths": {
      "@dagger.io/dagger": ["./sdk/index.ts"],
      "@dagger.io/dagger/telemetry": ["./sdk/telemetry.ts"]
    }
  }
}
`;

/** config.go:560-590: config files the runtime handles itself and leaves out of the copied source. */
const MODULE_CONFIG_FILES = [
  "package.json",
  "tsconfig.json",
  "pnpm-workspace.yaml",
  ".yarnrc.yml",
  "package-lock.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lockb",
  "bun.lock",
  "bunfig.toml",
  "deno.json",
  "deno.lock",
];

/** How dependencies get into node_modules: the fast path mounts only a TypeScript library, else a package manager. */
export type InstallPath = "fast" | "npm" | "yarn" | "pnpm";

export interface InstallPlan {
  path: InstallPath;
  /** The runtime mounts its TypeScript library at node_modules/typescript (dependencies.typescript is "5.9.3"). */
  typescriptLibrary: boolean;
}

export interface StagedModule {
  /** The module root that was staged. */
  root: string;
  /** The staged copy: what /src holds in the runtime container. */
  dir: string;
  plan: InstallPlan;
  /** Absolute path of the staged src/__dagger.entrypoint.ts. */
  entrypoint: string;
  /** Absolute path of the staged (rewritten) tsconfig.json. */
  tsconfig: string;
  /** sha256 over the module's source files (path and content). */
  hash: string;
  /** Time staging took. */
  ms: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** tsutils/utils.go:36-63: drops `//` comments outside strings, keeping the newline. */
export function stripLineComments(text: string): string {
  let out = "";
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (c === '"' && !escaped) inString = !inString;
    if (!inString && c === "/" && text[i + 1] === "/") {
      const nl = text.indexOf("\n", i);
      out += "\n";
      if (nl === -1) break;
      i = nl;
      continue;
    }
    out += c;
    escaped = c === "\\" && !escaped;
  }
  return out;
}

function parseObject(text: string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`engine double: ${what} is not JSON (${(e as Error).message})`);
  }
  if (!isObject(value)) throw new Error(`engine double: ${what} is not a JSON object`);
  return value;
}

/** The object at `key`, created when absent, as sjson.Set does for a dotted path. */
function objectAt(obj: Json, key: string, what: string): Json {
  const v = obj[key] ?? {};
  if (!isObject(v)) throw new Error(`engine double: ${what}: "${key}" is not an object`);
  obj[key] = v;
  return v;
}

/**
 * The package.json the runtime writes into its container: tsutils/package_json_updator.go:11-42 applied to the
 * module's file, or to the template when there is none (runtime_node.go:198-220).
 */
export function rewritePackageJson(original: string | undefined): string {
  const pkg = parseObject(stripLineComments(original ?? TEMPLATE_PACKAGE_JSON), "package.json");
  pkg.type = "module"; // :15
  const deps = objectAt(pkg, "dependencies", "package.json");
  if (!("typescript" in deps)) deps.typescript = DEFAULT_TYPESCRIPT_VERSION; // :21, setIfNotExists (utils.go:25-34)
  delete deps[DAGGER_LIB]; // :28
  if (isObject(pkg.devDependencies)) delete pkg.devDependencies[DAGGER_LIB]; // :36
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** config_updator.go:14-38: the template when absent, else tsutils/tsconfig_updator.go:24-52. */
export function rewriteTsconfig(original: string | undefined): string {
  if (original === undefined) return TEMPLATE_TSCONFIG;
  const cfg = parseObject(stripLineComments(original), "tsconfig.json");
  const opts = objectAt(cfg, "compilerOptions", "tsconfig.json");
  const paths = objectAt(opts, "paths", "tsconfig.json");
  paths[DAGGER_LIB] = ["./sdk/index.ts"]; // :28-31
  paths[DAGGER_TELEMETRY] = ["./sdk/telemetry.ts"]; // :37-40
  opts.experimentalDecorators = true; // :46
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

/**
 * The install step, decided on the ORIGINAL package.json (config.go:159-172 parses it before any rewrite; with none,
 * dependencies are empty: runtime_node.go:206-208). `files` holds the module's root-level file names.
 */
export function installPlan(original: string | undefined, files: ReadonlySet<string>): InstallPlan {
  // config.go:167: plain json.Unmarshal, so comments in package.json are an error here too.
  const pkg = original === undefined ? undefined : parseObject(original, "package.json");
  const deps = isObject(pkg?.dependencies) ? pkg.dependencies : {};
  const runtime = detectRuntime(pkg, files);
  if (runtime !== "node") throw new Error(`engine double: only the node runtime is modelled (this module: ${runtime})`);
  // runtime_node.go:312-320 (npm), 253-261 (yarn), 372-380 (pnpm): the same fast path for every package manager.
  const typescriptLibrary = deps.typescript === DEFAULT_TYPESCRIPT_VERSION;
  if (typescriptLibrary && Object.keys(deps).length <= 1) return { path: "fast", typescriptLibrary };
  return { path: packageManager(pkg, files), typescriptLibrary };
}

/** config.go:421-456: dagger.runtime ("node@20" is node; anything but node or bun is refused, 430-435), then lock files, else node. */
function detectRuntime(pkg: Json | undefined, files: ReadonlySet<string>): string {
  const field = isObject(pkg?.dagger) && typeof pkg.dagger.runtime === "string" ? pkg.dagger.runtime : "";
  if (field !== "") return field.split("@")[0] ?? field;
  if (files.has("bun.lockb") || files.has("bun.lock")) return "bun";
  if (["package-lock.json", "yarn.lock", "pnpm-lock.yaml"].some((f) => files.has(f))) return "node";
  if (files.has("deno.json") || files.has("deno.lock")) return "deno";
  return "node";
}

/** config.go:478-516: packageManager field, then lock files, else yarn. */
function packageManager(pkg: Json | undefined, files: ReadonlySet<string>): Exclude<InstallPath, "fast"> {
  const field = typeof pkg?.packageManager === "string" ? pkg.packageManager : "";
  if (field !== "") {
    const [name, version] = field.split("@");
    if (!version) throw new Error(`engine double: packageManager "${field}" has no version (config.go:485-487)`);
    if (name === "npm" || name === "yarn" || name === "pnpm") return name;
    throw new Error(`engine double: unknown packageManager "${field}" (config.go:492-493)`);
  }
  if (files.has("bun.lockb") || files.has("bun.lock"))
    throw new Error("engine double: a bun lock file selects bun's package manager (config.go:499-501), not modelled");
  if (files.has("package-lock.json")) return "npm";
  if (files.has("pnpm-lock.yaml") && !files.has("yarn.lock")) return "pnpm";
  return "yarn";
}

const run = (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((res, rej) => {
    execFile(cmd, args, { ...opts, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return rej(err); // not started (e.g. ENOENT)
      res({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });

/**
 * The module's files, relative to its root. The engine uploads a local module with its .gitignore applied
 * (core/schema/modulesource.go:1084-1086 include "*", :1107 gitignore: true). We approximate it with git's own
 * ignore rules; Dagger reads only .gitignore files (util/fsxutil/gitignore_matcher.go:99-153), also outside a work
 * tree and for tracked files (CONFORMANCE L5). Outside a git work tree we copy all.
 */
async function sourceFiles(root: string): Promise<string[]> {
  const inTree = await run("git", ["rev-parse", "--is-inside-work-tree"], { cwd: root });
  if (inTree.code === 0 && inTree.stdout.trim() === "true") {
    const ls = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
    if (ls.code !== 0) throw new Error(`engine double: git ls-files in ${root} failed: ${ls.stderr.trim()}`);
    // Index entries deleted from the work tree, and untracked nested repositories ("dir/"), are not files.
    const listed = ls.stdout.split("\0").filter((f) => f !== "" && !f.endsWith("/"));
    return [...new Set(listed)].filter((f) => exists(join(root, f))).sort();
  }
  const walk = (rel: string): string[] =>
    readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (rel === "" && (e.name === "node_modules" || e.name === "sdk" || e.name === ".git")) return [];
      return e.isDirectory() ? walk(p) : [p];
    });
  return walk("").sort();
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A file removed since it was listed (someone is editing the module) is left out, not an error. */
function ifPresent<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function contentHash(root: string, files: readonly string[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    const p = join(root, f);
    const content = ifPresent(() => (lstatSync(p).isSymbolicLink() ? readlinkSync(p) : readFileSync(p)));
    if (content !== undefined) h.update(`${f}\0`).update(content).update("\0");
  }
  return h.digest("hex");
}

/** config.go:536-551: the copied source leaves out the config files, sdk and node_modules at the root. */
function isWrappedSource(rel: string): boolean {
  const top = rel.split("/")[0] ?? rel;
  return !MODULE_CONFIG_FILES.includes(rel) && top !== "sdk" && top !== "node_modules";
}

function copyEntry(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  ifPresent(() => (lstatSync(from).isSymbolicLink() ? symlinkSync(readlinkSync(from), to) : copyFileSync(from, to)));
}

/** Node's lookup: `name` in the nearest node_modules at or above `from`. */
function findPackage(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

const readJson = (path: string): Json => parseObject(readFileSync(path, "utf8"), path);

/** The dev checkout's SDK package, checked against the pin. */
function sdkPackage(): { dir: string; pkg: Json } {
  const dir = findPackage(REPO_ROOT, DAGGER_LIB);
  if (!dir) throw new Error(`engine double: ${DAGGER_LIB} is not installed in ${REPO_ROOT}: run npm ci`);
  const pkg = readJson(join(dir, "package.json"));
  if (pkg.version !== SDK_VERSION)
    throw new Error(
      `engine double: ${DAGGER_LIB} is ${String(pkg.version)} in ${dir}; the double models ${SDK_VERSION}`,
    );
  return { dir, pkg };
}

/** `^x.y.z` as npm reads it for x >= 1: same major, not lower. */
function satisfiesCaret(version: string, range: string): boolean {
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  const r = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  if (!v || !r || v[1] !== r[1]) return false;
  const [a, b] = [v, r].map((m) => Number(m[2]) * 1e6 + Number(m[3]));
  return (a ?? 0) >= (b ?? 0);
}

/**
 * The runtime's TypeScript library is the SDK's own `typescript` dependency, installed when the engine image is built
 * (toolchains/engine-dev/build/sdk.go:157 `bun install` on sdk/typescript/package.json:39 `^6.0.3`, copied at :174),
 * not the 5.9.3 the package.json names. The npm SDK declares the same range; we use the copy it resolves.
 */
function typescriptLibrary(sdk: { dir: string; pkg: Json }): string {
  const range = isObject(sdk.pkg.dependencies) ? String(sdk.pkg.dependencies.typescript) : "";
  const dir = findPackage(sdk.dir, "typescript");
  const version = dir ? String(readJson(join(dir, "package.json")).version) : "absent";
  if (!dir || !satisfiesCaret(version, range))
    throw new Error(
      `engine double: the SDK's typescript is ${version} (from ${sdk.dir}); the engine's library is ${range}`,
    );
  return dir;
}

const dependencyNames = (pkg: Json): string[] =>
  ["dependencies", "optionalDependencies", "peerDependencies"].flatMap((k) => {
    const deps = pkg[k];
    return isObject(deps) ? Object.keys(deps) : [];
  });

/** Every package name the SDK reaches through dependencies, each resolved from its dependent's folder; no typescript. */
function dependencyClosure(sdk: { dir: string; pkg: Json }): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const queue: { dir: string; pkg: Json }[] = [sdk];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const name of dependencyNames(next.pkg)) {
      if (name === "typescript") continue;
      const dir = findPackage(next.dir, name);
      if (!dir) {
        if (next === sdk) throw new Error(`engine double: ${DAGGER_LIB}'s dependency ${name} is missing: run npm ci`);
        continue; // an optional or peer dependency nobody installed
      }
      names.add(name);
      if (seen.has(dir)) continue;
      seen.add(dir);
      queue.push({ dir, pkg: readJson(join(dir, "package.json")) });
    }
  }
  return names;
}

/**
 * The SDK at node_modules/@dagger.io/dagger (runtime_node.go:100). The engine's copy is one bundle with every
 * dependency inside except typescript (toolchains/engine-dev/build/sdk.go:162 `--external=typescript`), so we copy the
 * package and give it a private node_modules of its dependency closure minus typescript: the module's own imports cannot see
 * them, and the SDK's `import "typescript"` falls through to the staged node_modules/typescript, as core.js's does.
 */
function mountSdk(stage: string, sdk: { dir: string; pkg: Json }): void {
  const target = join(stage, "node_modules", DAGGER_LIB);
  rmSync(target, { recursive: true, force: true }); // a mount hides whatever the install put there
  cpSync(sdk.dir, target, { recursive: true, filter: (src) => src !== join(sdk.dir, "node_modules") });
  for (const name of dependencyClosure(sdk)) {
    // What the SDK finds from its place in the dev checkout, hoisting included (it imports undeclared packages).
    const dep = findPackage(sdk.dir, name);
    if (!dep) continue;
    const link = join(target, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(dep, link, "dir");
  }
  // sdk/ (runtime_node.go:98): index.ts and telemetry.ts (tsutils/module/*.ts) over the npm build; the engine's also holds core.js and a generated client.gen.ts (lib_generator.go:108-132).
  const dist = "../node_modules/@dagger.io/dagger/dist/src";
  const gen = join(sdk.dir, "dist/src/api/client.gen.d.ts");
  writeFile(
    join(stage, "sdk/index.ts"),
    [
      "// Staged by the engine double: tsutils/module/index.ts, re-exporting the npm SDK instead of the bundle's core.js.",
      "export {",
      "  connection, connect, Context, func, check, generate, argument, object, field, enumType, entrypoint,",
      `} from "${dist}/index.js";`,
      `export type { ConnectOpts, CallbackFct } from "${dist}/index.js";`,
      `export * from "${dist}/api/client.gen.js";`,
      "",
    ].join("\n"),
  );
  writeFile(join(stage, "sdk/telemetry.ts"), `export { getTracer } from "${dist}/telemetry/index.js";\n`);
  // The introspector reads Container/Directory/Secret from a file named client.gen.ts (entrypoint lists it).
  const decl = readFileSync(gen, "utf8")
    .replace(/^import \{/gm, "import type {")
    .replace(/from "\.\.\//g, `from "${dist}/`)
    .replace(/from "\.\//g, `from "${dist}/api/`);
  writeFile(join(stage, "sdk/client.gen.ts"), decl);
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Node would look above the stage for packages: nothing there may answer an import the engine's /src could not. */
function assertNoOuterNodeModules(stage: string): void {
  for (let dir = dirname(stage); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules")))
      throw new Error(`engine double: ${join(dir, "node_modules")} exists above the stage ${stage}; remove it`);
    if (dirname(dir) === dir) return;
  }
}

/** npm reads npm_config_* from the environment; `npm test` sets some for the project, which is not the stage. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

/** runtime_node.go:324-328: lock file and .npmrc next to the rewritten package.json, then `npm install --omit=dev`. */
async function npmInstall(root: string, stage: string, files: ReadonlySet<string>): Promise<void> {
  for (const f of ["package-lock.json", ".npmrc"]) if (files.has(f)) copyFileSync(join(root, f), join(stage, f));
  // --offline: the double never reaches a registry; it installs from npm's cache (filled by `npm ci`).
  const args = ["install", "--omit=dev", "--offline", "--no-audit", "--no-fund"];
  const got = await run("npm", args, { cwd: stage, env: npmEnv() }).catch((e: unknown) => {
    throw new Error(`engine double: cannot run npm to stage ${root}: ${String(e)}`);
  });
  if (got.code !== 0) {
    throw new Error(
      `engine double: staging ${root}: \`npm ${args.join(" ")}\` failed (exit ${got.code}). The runtime runs ` +
        "`npm install --omit=dev` online (runtime_node.go:324-328); the double has only npm's cache, so every " +
        `production dependency must be in the lock file and the cache:\n${got.stderr.trim()}`,
    );
  }
}

const cache = new Map<string, Promise<StagedModule>>();

async function stage(root: string, files: readonly string[], hash: string): Promise<StagedModule> {
  const started = performance.now();
  // Stage folders carry the pid that made them: removed when it exits, or by a later process if it was killed.
  const dir = processTempDir("dockyard-stage-");
  assertNoOuterNodeModules(dir);
  const listed = new Set(files);
  for (const f of files.filter(isWrappedSource)) copyEntry(join(root, f), join(dir, f));
  const read = (f: string) => (listed.has(f) ? readFileSync(join(root, f), "utf8") : undefined);
  const originalPackageJson = read("package.json");
  writeFile(join(dir, "package.json"), rewritePackageJson(originalPackageJson));
  writeFile(join(dir, "tsconfig.json"), rewriteTsconfig(read("tsconfig.json")));
  const plan = installPlan(originalPackageJson, listed);
  if (plan.path === "yarn" || plan.path === "pnpm") {
    throw new Error(
      `engine double: ${root}: the runtime would run \`${plan.path} install … --prod\` (runtime_node.go:263-267, ` +
        "383-387), which the double cannot run offline. Give the module a package.json whose only dependency is " +
        `"typescript": "${DEFAULT_TYPESCRIPT_VERSION}" (the runtime's fast path), or a package-lock.json (npm).`,
    );
  }
  if (plan.path === "npm") await npmInstall(root, dir, listed);
  const sdk = sdkPackage();
  if (plan.typescriptLibrary) {
    // runtime_node.go:314-315: the runtime mounts it before the install (324-328); here it replaces what npm wrote.
    const link = join(dir, "node_modules/typescript");
    rmSync(link, { recursive: true, force: true });
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(typescriptLibrary(sdk), link, "dir");
  }
  mountSdk(dir, sdk);
  // runtime_node.go:94,104-107 place and run the entrypoint in src/; tsutils/bin/__dagger.entrypoint.ts:8-38 loads every .ts/.mts there.
  writeFile(join(dir, ENTRYPOINT), readFileSync(ENTRYPOINT_SOURCE, "utf8"));
  return {
    root,
    dir,
    plan,
    entrypoint: join(dir, ENTRYPOINT),
    tsconfig: join(dir, "tsconfig.json"),
    hash,
    ms: performance.now() - started,
  };
}

/** The staged copy of a module root (default: this repository), made once per root and content in this process. */
export async function stageModule(root: string = REPO_ROOT): Promise<StagedModule> {
  const abs = resolve(root);
  const files = await sourceFiles(abs);
  const hash = contentHash(abs, files);
  const key = `${abs}\0${hash}`;
  let staged = cache.get(key);
  if (!staged) {
    staged = stage(abs, files, hash);
    cache.set(key, staged);
    // A failed staging is not cached: the next call reports the error afresh.
    staged.catch(() => cache.delete(key));
  }
  return staged;
}
