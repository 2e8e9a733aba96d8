// Rung 3 (engine double): dockyard as a dependency. The raw GraphQL a Go, Python or TypeScript SDK sends for
// dag.dockyard(source).publish(...): one query per field read, each carrying the whole chain, in one client session;
// pushes counted at a real registry (docker backend) through a counting proxy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { match, on, startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import type { ClientSession } from "../engine/server.js";
import { dockerAvailable, gitFixture, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 composition suite (docker backend)");
const PASSWORD = "ci-pass-c0mp";

describe.skipIf(!docker)("composition: another module reads a Publication field by field", () => {
  const suite = useDockerWorld(PASSWORD);
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(suite.registry.port);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  /** Every request the registry saw for a manifest: a push asks for each ref's at least once. */
  const manifestRequests = () => proxy.count(on("*", "/manifests/"));

  /** `dag.dockyard({ source }).publish([image], { username, password })` then one field, as the SDKs send it. */
  function publishField(session: ClientSession, source: string, password: string, image: string, field: string) {
    return session.query(
      `query { dockyard(source: "${source}") { publish(images: ["${image}"], username: "ci", password: "${password}") { ${field} } } }`,
    );
  }

  async function read<T>(session: ClientSession, source: string, password: string, image: string, field: string) {
    const { body } = await publishField(session, source, password, image, field);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return (body.data as { dockyard: { publish: Record<string, T> } }).dockyard.publish[field] as T;
  }

  it("digest, refs, json and githubOutput in one session push once; a new session pushes again", async () => {
    const double = suite.world.double;
    const g = gitFixture();
    const source = double.hostDirectory(g.dir);
    const password = double.cliSecret(PASSWORD);
    const image = `${proxy.host}/acme/composed`;
    const session = await double.session({ modules: [{}] });

    const before = manifestRequests();
    const digest = await read<string>(session, source, password, image, "digest");
    const afterFirst = manifestRequests();
    const refs = await read<string[]>(session, source, password, image, "refs");
    const json = JSON.parse(await read<string>(session, source, password, image, "json")) as { digest: string };
    const output = await read<string>(session, source, password, image, "githubOutput");

    const sha = g.head().slice(0, 7);
    expect(refs).toEqual([`${image}:${sha}@${digest}`, `${image}:main@${digest}`]);
    expect(json.digest).toBe(digest);
    expect(output).toContain(`digest=${digest}\n`);
    // One push: every ref's manifest was asked for by the first read only, and stored once.
    expect(afterFirst).toBeGreaterThan(before);
    expect(manifestRequests()).toBe(afterFirst);
    expect(proxy.count(match.manifestPut)).toBe(refs.length);
    // The engine pushes the first tag; main is a PUT of the same manifest by dockyard's own client.
    expect(double.publishes.map((p) => p.address)).toEqual([`${image}:${sha}`]);
    const runs = () => double.functionRuns.filter((r) => r.name === "publish").map((r) => r.ran);
    expect(runs()).toEqual([true, false, false, false]);
    expect(double.functionRuns.find((r) => r.name === "publish")?.policy).toBe("PerSession");

    // A new `dagger call` is a new session: publish runs, and pushes, again.
    const next = await double.session({ modules: [{}] });
    expect(await read<string>(next, source, password, image, "digest")).toBe(digest);
    expect(runs()).toEqual([true, false, false, false, true]);
    expect(double.publishes).toHaveLength(2);
    expect(manifestRequests()).toBeGreaterThan(afterFirst);
  });

  it("a failed publish is not kept: the next read in the session tries again and reports again", async () => {
    const double = suite.world.double;
    const g = gitFixture();
    const session = await double.session({ modules: [{}] });
    const source = double.hostDirectory(g.dir);
    const wrong = double.cliSecret("not-the-password");
    const image = `${proxy.host}/acme/refused`;
    for (const field of ["digest", "refs"]) {
      const { body } = await publishField(session, source, wrong, image, field);
      expect(body.errors?.[0]?.message).toMatch(/not pushed|unauthorized|authentication/i);
    }
    expect(double.functionRuns.filter((r) => r.name === "publish").map((r) => r.ran)).toEqual([true, true]);
  });
});
