// The README's main job: a real `publish` of examples/hello, built with Docker and pushed to a registry this
// script starts on 127.0.0.1, called through the real Dagger SDK as `dagger call` calls it, against the project's
// engine double (no Dagger engine can run on this machine). Where Docker or the registry cannot run, it says so
// and shows a dry run instead. With a Dagger CLI the same job is:
//   dagger call --source=. publish --context=examples/hello --images=<registry>/acme/hello \
//     --username=demo --password=env:REGISTRY_PASSWORD json
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { MemoryBackend } from "../test/engine/memory-backend.js";
import { startEngineDouble } from "../test/engine/server.js";
import { hasDocker } from "../test/infra/docker.js";
import { startRegistry } from "../test/infra/registry.js";
import { startDockerWorld } from "../test/integration/setup.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const PASSWORD = "demo-password";

/** Why a real publish cannot run here, or undefined when it can. */
async function cannotPublish(): Promise<string | undefined> {
  if (!(await hasDocker())) return "no Docker engine answers and none can be started (needs root and docker.io)";
  const registry = spawnSync("docker-registry", ["--version"], { encoding: "utf8" });
  if (registry.error) return "Debian's docker-registry is not installed (apt-get install docker-registry)";
  const htpasswd = spawnSync("htpasswd", ["-h"], { encoding: "utf8" });
  if (htpasswd.error) return "htpasswd is not installed (apt-get install apache2-utils)";
  return undefined;
}

/** A fresh clone of this checkout's HEAD: what a CI job checks out, small, with its .git and nothing uncommitted. */
function cloneHead(): { dir: string; head: string } {
  const dir = mkdtempSync(join(tmpdir(), "dockyard-demo-"));
  execFileSync("git", ["clone", "-q", "--depth", "1", `file://${repoRoot}`, dir]);
  return { dir, head: execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim() };
}

/** Docker and a registry on 127.0.0.1, or why they could not start (a publish that fails is not hidden). */
async function startServices() {
  let world: Awaited<ReturnType<typeof startDockerWorld>> | undefined;
  try {
    world = await startDockerWorld();
    const registry = await startRegistry({ users: { demo: PASSWORD } });
    return { world, registry };
  } catch (e) {
    await world?.stop();
    return `Docker or the registry did not start (${(e as Error).message.split("\n")[0]})`;
  }
}

async function realPublish(services: Exclude<Awaited<ReturnType<typeof startServices>>, string>): Promise<void> {
  const { world, registry } = services;
  const checkout = cloneHead();
  try {
    const d = world.double;
    const json = await d
      .module({ args: { source: d.hostDirectory(checkout.dir) } })
      .call(
        "publish",
        {
          images: [`${registry.host}/acme/hello`],
          context: "examples/hello",
          username: "demo",
          password: d.cliSecret(PASSWORD),
        },
        { returns: "Publication" },
      )
      .call("json")
      .result<string>();
    console.log(
      `dockyard publish: examples/hello of commit ${checkout.head} (a clone of this checkout's HEAD; uncommitted changes are not in it), built with Docker and pushed to ${registry.host}:`,
    );
    console.log(json);
    const { refs } = JSON.parse(json) as { refs: string[] };
    const tags = await registry.client("demo").listTags("acme/hello");
    console.log(
      `registry ${registry.host} now lists acme/hello tags: ${tags.sort().join(", ")} (${refs.length} refs pushed)`,
    );
  } finally {
    rmSync(checkout.dir, { recursive: true, force: true });
    await registry.stop();
    await world.stop();
  }
}

async function dryRun(why: string): Promise<void> {
  console.log(`dockyard demo: DRY RUN ONLY: a real publish cannot run here: ${why}.`);
  const double = await startEngineDouble({ backend: new MemoryBackend({ registries: {} }) });
  // The same clean clone as the real publish: a dry run makes every check it makes, the dirty guard included.
  const checkout = cloneHead();
  try {
    const json = await double
      .module({ args: { source: double.hostDirectory(checkout.dir) } })
      .call(
        "publish",
        { images: ["ghcr.io/acme/hello"], context: "examples/hello", dryRun: true },
        { returns: "Publication" },
      )
      .call("json")
      .result<string>();
    console.log("dockyard publish --dry-run (examples/hello) would push:");
    console.log(json);
  } finally {
    rmSync(checkout.dir, { recursive: true, force: true });
    await double.close();
  }
}

const why = await cannotPublish();
const services = why ?? (await startServices());
if (typeof services === "string") await dryRun(services);
else await realPublish(services);
