// Rung 3 (engine double): runs the SDK's real module entrypoint, as the runtime container does under `dagger call`.
// Usage: node --import tsx run-entrypoint.ts <file.ts>... (absolute paths; the last may be client.gen.ts)
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/** The package's exports map blocks deep imports, so the entrypoint is loaded by file URL. */
async function loadEntrypoint(): Promise<(files: string[]) => Promise<void>> {
  // Resolved from the module's folder, so the module and the entrypoint share one SDK (and one registry).
  const main = createRequire(join(process.cwd(), "noop.js")).resolve("@dagger.io/dagger");
  const url = pathToFileURL(join(dirname(main), "module/entrypoint/entrypoint.js")).href;
  const mod = (await import(url)) as { entrypoint: (files: string[]) => Promise<void> };
  return mod.entrypoint;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: run-entrypoint.ts <module .ts files...>\n");
  process.exit(2);
}
const entrypoint = await loadEntrypoint();
await entrypoint(files);
