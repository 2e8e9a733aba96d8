// Rung 3 (engine double): honest partial-failure reports and a bound on every push, on real Docker builds pushed
// through a fault-injecting proxy to a real registry, whose tags are read back to check what the report claims.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { match, startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { dockerAvailable, gitFixture, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 honest-reports suite (docker backend)");
const PASSWORD = "ci-pass-0c7a";

describe.skipIf(!docker)("honest reports and bounded pushes, end to end on the docker backend", () => {
  let world: DockerWorld;
  let reg: Registry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    world = await startDockerWorld();
    reg = await startRegistry({ users: { ci: PASSWORD } });
    proxy = await startFaultProxy(reg.port);
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await world?.stop();
  });
  beforeEach(() => {
    world.double.reset();
    proxy.clear();
  });

  const publish = (dir: string, args: Record<string, unknown>) =>
    world.double
      .module({ args: { source: world.double.hostDirectory(dir) } })
      .call("publish", {
        username: "ci",
        password: world.double.cliSecret(PASSWORD),
        latest: "NEVER",
        ...args,
      })
      .result<{ refs: string[]; pushed: boolean }>();

  /** The sha tag's manifest PUT: the first push of the repository. */
  const shaManifestPut = (repo: string, sha: string) => (r: { method: string; path: string }) =>
    match.manifestPut(r) && r.path.endsWith(`/${repo}/manifests/${sha}`);

  it("a 5xx after the registry stored the manifest is reported unknown, not 'not pushed', and the registry holds it", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    // containerd re-sends a 503 once by itself: two faults reach the module.
    proxy.failNext(2, { forwardThenFail: 503 }, shaManifestPut("acme/unknown", sha));
    const err = (await publish(g.dir, { images: [`${proxy.host}/acme/unknown`], retries: 0 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/^publish failed for 2 of 2 refs; 1 unknown: the registry may hold them/);
    expect(err.message).toContain(`  unknown: ${proxy.host}/acme/unknown:${sha}: `);
    expect(err.message).toContain(`  not tried: ${proxy.host}/acme/unknown:main: `);
    expect(err.message).not.toMatch(/not pushed: .*:\w{7}:/);
    // What the report calls unknown is really there: the registry stored the manifest before the 503.
    expect(await reg.client("ci").listTags("acme/unknown")).toEqual([sha]);
  });

  it("a retry of the idempotent manifest PUT heals it: every ref confirmed", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    proxy.failNext(2, { forwardThenFail: 503 }, shaManifestPut("acme/healed", sha));
    const pub = await publish(g.dir, { images: [`${proxy.host}/acme/healed`], retries: 1 });
    expect(pub.pushed).toBe(true);
    expect(pub.refs.map((r) => r.split("@")[0])).toEqual([
      `${proxy.host}/acme/healed:${sha}`,
      `${proxy.host}/acme/healed:main`,
    ]);
    expect((await reg.client("ci").listTags("acme/healed")).sort()).toEqual([sha, "main"].sort());
    expect(proxy.count(shaManifestPut("acme/healed", sha))).toBeGreaterThanOrEqual(2);
  });

  it("a 2xx whose digest differs from what was sent is reported unknown: the registry holds the tag", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    proxy.failNext(1, { wrongDigest: `sha256:${"0".repeat(64)}` }, shaManifestPut("acme/otherdigest", sha));
    const err = (await publish(g.dir, { images: [`${proxy.host}/acme/otherdigest`] }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toContain(`  unknown: ${proxy.host}/acme/otherdigest:${sha}: `);
    expect(err.message).toMatch(/got digest sha256:0{64}, expected sha256:/);
    expect(await reg.client("ci").listTags("acme/otherdigest")).toEqual([sha]);
  });

  it("a push that never answers is bounded by --push-timeout, counted transient and retried", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    proxy.failNext(1, "hang", shaManifestPut("acme/hang", sha));
    const pub = await publish(g.dir, { images: [`${proxy.host}/acme/hang`], retries: 1, pushTimeout: 2 });
    expect(pub.pushed).toBe(true);
    expect((await reg.client("ci").listTags("acme/hang")).sort()).toEqual([sha, "main"].sort());
    expect(proxy.count(shaManifestPut("acme/hang", sha))).toBeGreaterThanOrEqual(2);
  });

  it("with no retry left, a push that never answers is reported unknown after its bound", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    proxy.failNext(1, "hang", shaManifestPut("acme/stuck", sha));
    const err = (await publish(g.dir, { images: [`${proxy.host}/acme/stuck`], retries: 0, pushTimeout: 1 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toContain(
      `  unknown: ${proxy.host}/acme/stuck:${sha}: push timed out after 1 s (--push-timeout)`,
    );
  });
});
