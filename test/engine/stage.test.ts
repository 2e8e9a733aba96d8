// Rung 3 (engine double): the double runs a module from a copy staged as Dagger v0.21's TypeScript runtime lays it out.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FunctionCallError } from "./calls.js";
import { MemoryBackend } from "./memory-backend.js";
import { startEngineDouble, type EngineDouble } from "./server.js";
import { installPlan, rewritePackageJson, rewriteTsconfig, stageModule, type InstallPath } from "./stage.js";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURES = resolve(ROOT, "test/fixtures");
const ECHO = join(FIXTURES, "echo-module");
const DEV_IMPORT = join(FIXTURES, "dev-import-module");
const TS_DEV = join(FIXTURES, "ts-dev-module");

let double: EngineDouble;
let work: string;

beforeAll(async () => {
  double = await startEngineDouble({ backend: new MemoryBackend() });
  work = mkdtempSync(join(tmpdir(), "dockyard-stagetest-"));
});

afterAll(async () => {
  await double.close();
  rmSync(work, { recursive: true, force: true });
});

const lock = new Set(["package-lock.json"]);

describe("package.json: the runtime's rewrite and the install step it leads to", () => {
  const cases: {
    name: string;
    input: string | undefined;
    files?: Set<string>;
    output: unknown;
    path: InstallPath;
    typescriptLibrary: boolean;
  }[] = [
    {
      name: "none: the template, and no dependencies to take the fast path with",
      input: undefined,
      output: { type: "module", dependencies: { typescript: "5.9.3" } },
      path: "yarn",
      typescriptLibrary: false,
    },
    {
      name: "what `dagger init` writes: the fast path",
      input: '{ "type": "module", "dependencies": { "typescript": "5.9.3" } }',
      output: { type: "module", dependencies: { typescript: "5.9.3" } },
      path: "fast",
      typescriptLibrary: true,
    },
    {
      name: "typescript only in devDependencies (dockyard before a1cd74e): npm, which then installs nothing",
      input: '{ "type": "module", "devDependencies": { "@dagger.io/dagger": "0.21.9", "typescript": "6.0.3" } }',
      files: lock,
      output: { type: "module", devDependencies: { typescript: "6.0.3" }, dependencies: { typescript: "5.9.3" } },
      path: "npm",
      typescriptLibrary: false,
    },
    {
      name: "@dagger.io/dagger in dependencies: dropped by the rewrite, but the install is decided before it",
      input: '{ "dependencies": { "typescript": "5.9.3", "@dagger.io/dagger": "0.21.9" } }',
      files: lock,
      output: { dependencies: { typescript: "5.9.3" }, type: "module" },
      path: "npm",
      typescriptLibrary: true,
    },
    {
      name: "another typescript version is kept, and type becomes module",
      input: '{ "type": "commonjs", "dependencies": { "typescript": "6.0.3" } }',
      files: lock,
      output: { type: "module", dependencies: { typescript: "6.0.3" } },
      path: "npm",
      typescriptLibrary: false,
    },
    {
      name: "a runtime dependency, pnpm's lock file",
      input: '{ "type": "module", "dependencies": { "yaml": "2.9.1" } }',
      files: new Set(["pnpm-lock.yaml"]),
      output: { type: "module", dependencies: { yaml: "2.9.1", typescript: "5.9.3" } },
      path: "pnpm",
      typescriptLibrary: false,
    },
    {
      name: "the packageManager field wins over lock files",
      input: '{ "type": "module", "packageManager": "npm@11.8.0", "dependencies": { "yaml": "2.9.1" } }',
      files: new Set(["yarn.lock"]),
      output: { type: "module", packageManager: "npm@11.8.0", dependencies: { yaml: "2.9.1", typescript: "5.9.3" } },
      path: "npm",
      typescriptLibrary: false,
    },
  ];

  it.each(cases)("$name", ({ input, files, output, path, typescriptLibrary }) => {
    expect(JSON.parse(rewritePackageJson(input))).toEqual(output);
    expect(installPlan(input, files ?? new Set())).toEqual({ path, typescriptLibrary });
  });

  it("keeps the key order sjson gives: new keys go last", () => {
    const got = rewritePackageJson('{ "name": "m", "devDependencies": {} }');
    expect(Object.keys(JSON.parse(got) as object)).toEqual(["name", "devDependencies", "type", "dependencies"]);
  });

  it("refuses a package.json with comments, as the runtime's json.Unmarshal does", () => {
    expect(() => installPlan('{\n  // note\n  "type": "module"\n}', new Set())).toThrow(/package.json is not JSON/);
  });
});

describe("tsconfig.json: the runtime's rewrite", () => {
  const sdkPaths = { "@dagger.io/dagger": ["./sdk/index.ts"], "@dagger.io/dagger/telemetry": ["./sdk/telemetry.ts"] };
  const cases: { name: string; input: string | undefined; output: unknown }[] = [
    {
      name: "none: the template",
      input: undefined,
      output: {
        compilerOptions: {
          target: "ES2022",
          moduleResolution: "Node",
          experimentalDecorators: true,
          strict: true,
          skipLibCheck: true,
          paths: sdkPaths,
        },
      },
    },
    {
      name: "dockyard's fallback to node_modules is replaced by sdk/ alone; other paths and keys stay",
      input: JSON.stringify({
        compilerOptions: {
          strict: true,
          paths: {
            "@dagger.io/dagger": ["./sdk/index.ts", "./node_modules/@dagger.io/dagger"],
            "#lib/*": ["./src/lib/*"],
          },
        },
        include: ["src/**/*.ts"],
      }),
      output: {
        compilerOptions: {
          strict: true,
          paths: { ...sdkPaths, "#lib/*": ["./src/lib/*"] },
          experimentalDecorators: true,
        },
        include: ["src/**/*.ts"],
      },
    },
    {
      name: "line comments go, `//` inside strings stays, experimentalDecorators is forced on",
      input:
        '{\n  "$schema": "https://json.schemastore.org/tsconfig", // editor help\n' +
        '  "compilerOptions": { "experimentalDecorators": false }\n}',
      output: {
        $schema: "https://json.schemastore.org/tsconfig",
        compilerOptions: { experimentalDecorators: true, paths: sdkPaths },
      },
    },
  ];

  it.each(cases)("$name", ({ input, output }) => {
    expect(JSON.parse(rewriteTsconfig(input))).toEqual(output);
  });
});

describe("this module, staged", () => {
  it("takes the fast path: typescript is its only dependency, exactly 5.9.3", () => {
    const files = new Set(readdirSync(ROOT));
    expect(installPlan(readFileSync(join(ROOT, "package.json"), "utf8"), files)).toEqual({
      path: "fast",
      typescriptLibrary: true,
    });
  });

  it("holds the rewritten configs, the source without ignored files, the SDK and the TypeScript library only", async () => {
    const staged = await stageModule();
    const read = (f: string) => readFileSync(join(staged.dir, f), "utf8");
    expect(read("package.json")).toBe(rewritePackageJson(readFileSync(join(ROOT, "package.json"), "utf8")));
    expect(read("tsconfig.json")).toBe(rewriteTsconfig(readFileSync(join(ROOT, "tsconfig.json"), "utf8")));
    expect(existsSync(join(staged.dir, "src/index.ts"))).toBe(true);
    expect(existsSync(join(staged.dir, "src/__dagger.entrypoint.ts"))).toBe(true);
    // Not copied: git-ignored (.tmp), config files the runtime handles itself (the lock, on the fast path).
    for (const f of [".tmp", "package-lock.json", ".git"]) expect(existsSync(join(staged.dir, f)), f).toBe(false);
    expect(readdirSync(join(staged.dir, "node_modules")).sort()).toEqual(["@dagger.io", "typescript"]);
    expect(readdirSync(join(staged.dir, "sdk")).sort()).toEqual(["client.gen.ts", "index.ts", "telemetry.ts"]);
    // The SDK's own copy of typescript is not staged: its import falls through to node_modules/typescript.
    const sdk = join(staged.dir, "node_modules/@dagger.io/dagger");
    expect(existsSync(join(sdk, "node_modules/graphql"))).toBe(true);
    expect(existsSync(join(sdk, "node_modules/typescript"))).toBe(false);
    const tsVersion = (JSON.parse(read("node_modules/typescript/package.json")) as { version: string }).version;
    expect(tsVersion).toMatch(/^6\./);
    expect(await stageModule()).toBe(staged);
  });
});

describe("module source as the engine uploads it", () => {
  it("applies .gitignore in a git work tree", async () => {
    const repo = join(work, "in-git");
    cpSync(ECHO, repo, { recursive: true });
    writeFileSync(join(repo, ".gitignore"), "notes.txt\nsdk/\nnode_modules/\n");
    writeFileSync(join(repo, "notes.txt"), "local\n");
    writeFileSync(join(repo, "kept.txt"), "kept\n");
    execFileSync("git", ["init", "-q", repo]);
    const staged = await stageModule(repo);
    expect(existsSync(join(staged.dir, "kept.txt"))).toBe(true);
    expect(existsSync(join(staged.dir, "notes.txt"))).toBe(false);
  });

  it("outside git, copies everything but node_modules and sdk at the root", async () => {
    const plain = join(work, "plain");
    cpSync(ECHO, plain, { recursive: true });
    for (const d of ["node_modules/yaml", "sdk", "docs/node_modules"]) mkdirSync(join(plain, d), { recursive: true });
    writeFileSync(join(plain, "node_modules/yaml/package.json"), "{}");
    writeFileSync(join(plain, "sdk/index.ts"), "export {};\n");
    writeFileSync(join(plain, "docs/node_modules/x.txt"), "x\n");
    const staged = await stageModule(plain);
    expect(existsSync(join(staged.dir, "node_modules/yaml"))).toBe(false);
    expect(readFileSync(join(staged.dir, "sdk/index.ts"), "utf8")).toContain("tsutils/module/index.ts");
    expect(existsSync(join(staged.dir, "docs/node_modules/x.txt"))).toBe(true);
  });

  it("restages when the source changes", async () => {
    const plain = join(work, "changing");
    cpSync(ECHO, plain, { recursive: true });
    const first = await stageModule(plain);
    writeFileSync(join(plain, "src/extra.ts"), "export const extra = 1;\n");
    const second = await stageModule(plain);
    expect(second.dir).not.toBe(first.dir);
    expect(lstatSync(join(second.dir, "src/extra.ts")).isFile()).toBe(true);
  });
});

/** The child's stderr when a call fails before the module answers. */
async function failure(dir: string, name: string, fn: string, args: Record<string, unknown>): Promise<string> {
  const err = await double
    .module({ dir, name })
    .call(fn, args)
    .result()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FunctionCallError);
  return (err as FunctionCallError).stderr;
}

describe("what the runtime container does not have", () => {
  it("a devDependency imported by the module's source: ERR_MODULE_NOT_FOUND", async () => {
    const stderr = await failure(DEV_IMPORT, "dev-import-module", "firstKind", { query: "{ a }" });
    expect(stderr).toContain("ERR_MODULE_NOT_FOUND");
    expect(stderr).toMatch(/Cannot find package 'graphql' imported from \S+\/src\/index\.ts/);
  });

  it("typescript only in devDependencies: npm installs nothing", async () => {
    const staged = await stageModule(TS_DEV);
    expect(staged.plan).toEqual({ path: "npm", typescriptLibrary: false });
    expect(existsSync(join(staged.dir, "node_modules/typescript"))).toBe(false);
  });

  it("typescript only in devDependencies: the SDK cannot import typescript", async () => {
    const stderr = await failure(TS_DEV, "ts-dev-module", "hello", {});
    expect(stderr).toContain("ERR_MODULE_NOT_FOUND");
    expect(stderr).toMatch(/Cannot find package 'typescript' imported from \S+\/node_modules\/@dagger\.io\/dagger\//);
  });
});
