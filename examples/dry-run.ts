// The README's main job on a machine without a Dagger engine: `publish --dry-run` of examples/hello,
// called through the real Dagger SDK as `dagger call` would, against the project's engine double.
// With a Dagger CLI the same job is:
//   dagger call --source=. publish --context=examples/hello --images=ghcr.io/acme/hello --dry-run
import { fileURLToPath } from "node:url";

import { MemoryBackend } from "../test/engine/memory-backend.js";
import { startEngineDouble } from "../test/engine/server.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const double = await startEngineDouble({ backend: new MemoryBackend({ registries: {} }) });
try {
  const refs = await double
    .module({ args: { source: double.hostDirectory(repoRoot) } })
    .call("publish", {
      images: ["ghcr.io/acme/hello", "registry.gitlab.com/acme/hello"],
      context: "examples/hello",
      dryRun: true,
      // A local edit must not stop a demo; a real publish refuses a dirty checkout.
      allowDirty: true,
    })
    .result<string[]>();
  console.log("dockyard publish --dry-run (examples/hello) would push:");
  for (const ref of refs) console.log(`  ${ref}`);
  const built = double.journal.filter((e) => e.field === "Directory.dockerBuild" || e.field === "Container.publish");
  console.log(`engine calls that build or push: ${built.length}`);
} finally {
  await double.close();
}
