// Rung 3 (engine double): the entrypoint stage.ts writes to the staged module's src/__dagger.entrypoint.ts.
// It does what the runtime's own one does (dagger v0.21.8 sdk/typescript/runtime/tsutils/bin/__dagger.entrypoint.ts:8-42):
// list every .ts/.mts under src/ (this file included) plus ../sdk/client.gen.ts, then hand them to the SDK.
// Only meaningful inside a stage: "@dagger.io/dagger" resolves through the staged tsconfig to sdk/index.ts.
import { entrypoint } from "@dagger.io/dagger";
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";

function moduleFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return moduleFiles(p);
    return extname(p) === ".ts" || extname(p) === ".mts" ? [p] : [];
  });
}

// Not awaited, as in the runtime: load() imports every listed file, this one too, which a pending top-level await
// would deadlock.
void entrypoint([...moduleFiles(import.meta.dirname), join(import.meta.dirname, "../sdk/client.gen.ts")]);
