// Rung 2 (registration): runs the pinned SDK's own introspector on a module's src/, as `dagger functions` would.
import { copyFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";

import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { processTempDir } from "../infra/tempdirs.js";

export interface TypeDef {
  kind: string;
  name?: string;
  typeDef?: TypeDef;
}
export interface ArgDef {
  name: string;
  description: string;
  type: TypeDef;
  isOptional: boolean;
  isNullable?: boolean;
  defaultValue?: unknown;
  defaultPath?: string;
}
export interface FunctionDef {
  name: string;
  description: string;
  arguments: Record<string, ArgDef>;
  returnType: TypeDef;
  /** The cache policy given to @func({ cache }); undefined: the engine's default (persisted, 7 days). */
  cache?: string;
}
export interface ObjectDef {
  name: string;
  description: string;
  constructor?: FunctionDef;
  methods: Record<string, FunctionDef>;
  properties: Record<string, { name: string; description: string; type: TypeDef; isExposed: boolean }>;
}
export interface EnumDef {
  name: string;
  description: string;
  values: Record<string, { name: string; value: string; description: string }>;
}
export interface ModuleDef {
  name: string;
  description: string;
  objects: Record<string, ObjectDef>;
  enums?: Record<string, EnumDef>;
}

interface RawModule {
  objects?: Record<string, { methods?: Record<string, { cache?: string }> }>;
}

const require = createRequire(import.meta.url);
// The package's exports map hides its internals; its main entry sits in dist/src.
const sdkDist = dirname(require.resolve("@dagger.io/dagger"));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return [".ts", ".mts"].includes(extname(p)) ? [p] : [];
  });
}

/** The typedefs the SDK registers for the module in `srcDir`, as plain JSON. */
export async function introspectModule(srcDir: string, moduleName: string): Promise<ModuleDef> {
  // The introspector skips .d.ts files, so the generated client's declarations go in as client.gen.ts.
  const clientDir = processTempDir("dockyard-client-");
  const client = join(clientDir, "client.gen.ts");
  copyFileSync(join(sdkDist, "api/client.gen.d.ts"), client);
  const { scan } = (await import(pathToFileURL(join(sdkDist, "module/introspector/index.js")).href)) as {
    scan: (files: string[], name: string, full: boolean) => Promise<unknown>;
  };
  const result = (await scan([...tsFiles(resolve(srcDir)), client], moduleName, false)) as RawModule;
  const mod = JSON.parse(JSON.stringify(result)) as ModuleDef;
  // The scanner's toJSON leaves out the cache policy that Register sends (register.ts): copy it over.
  for (const [objName, obj] of Object.entries(result.objects ?? {})) {
    for (const [fnName, fn] of Object.entries(obj.methods ?? {})) {
      const def = mod.objects[objName]?.methods[fnName];
      if (def && fn.cache !== undefined) def.cache = fn.cache;
    }
  }
  return mod;
}
