// Rung 3 (engine double): dockyard's own functions, called through the real SDK as `dagger call` calls them,
// building with a real Docker engine and pushing to real registries, everything read back over the registry API.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { cliSecret } from "../engine/state.js";
import { match, startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 publish suite (docker backend)");

const USERS = { ci: "ci-pass-7d1e", bot: "bot-pass-42aa" };
const DIGEST_REF = /^(.+):([^:@]+)@(sha256:[0-9a-f]{64})$/;

function splitRef(ref: string): { image: string; tag: string; digest: string } {
  const m = DIGEST_REF.exec(ref);
  if (!m) throw new Error(`not a digest-pinned ref: ${ref}`);
  return { image: m[1]!, tag: m[2]!, digest: m[3]! };
}

/** Every file under a folder, as text, to search for a canary. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => readFileSync(p).toString("latin1"))
    .join("\n");
}

describe.skipIf(!docker)("publish, end to end on the docker backend", () => {
  let world: DockerWorld;
  let r1: Registry;
  let r2: Registry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    world = await startDockerWorld();
    r1 = await startRegistry({ users: { ci: USERS.ci } });
    r2 = await startRegistry({ users: { bot: USERS.bot } });
    proxy = await startFaultProxy(r1.port);
  });

  afterAll(async () => {
    await proxy?.stop();
    await r1?.stop();
    await r2?.stop();
    await world?.stop();
  });

  beforeEach(() => world.double.reset());

  /** `dagger call --source=<dir> [with-registry-auth ...] publish ...` against the double. */
  function publish(dir: string, args: Record<string, unknown>, auths: Record<string, unknown>[] = []) {
    const d = world.double;
    let chain = d.module({ args: { source: d.hostDirectory(dir) } });
    for (const auth of auths) chain = chain.call("withRegistryAuth", auth);
    return chain
      .call("publish", args)
      .result<{ refs: string[] }>()
      .then((p) => p.refs);
  }

  // `--password env:X`: a CLI-passed secret, which has no name (engine double row R4).
  const ciAuth = () => ({ username: "ci", password: cliSecret(world.double, USERS.ci) });
  const fieldCount = (field: string) => world.double.journal.filter((e) => e.field === field).length;

  async function expectExactTags(registry: Registry, repo: string, refs: string[], tags: string[]) {
    const client = registry.client("ci" in registry.users ? "ci" : "bot");
    expect((await client.listTags(repo)).sort()).toEqual([...tags].sort());
    expect(refs.map((r) => splitRef(r).tag)).toEqual(tags);
    const digests = new Set(refs.map((r) => splitRef(r).digest));
    expect(digests.size).toBe(1);
    for (const tag of tags) expect((await client.getManifest(repo, tag)).digest).toBe([...digests][0]);
  }

  describe("1-3: exact tags, labels, one build", () => {
    it.each([
      {
        kind: "branch push (HEAD on main, from .git)",
        repo: "acme/branch",
        prepare: () => gitFixture(),
        args: {},
        tags: (sha: string) => [sha, "main"],
        version: "main",
      },
      {
        kind: "semver tag (detached HEAD at v1.4.0, from .git)",
        repo: "acme/release",
        prepare: () => {
          const g = gitFixture();
          g.git("tag", "-a", "v1.4.0", "-m", "release");
          g.git("checkout", "-q", "--detach", "v1.4.0");
          return g;
        },
        args: {},
        tags: (sha: string) => [sha, "1.4.0", "1.4", "1", "latest"],
        version: "1.4.0",
      },
      {
        kind: "pull request (commit and ref passed as CI does)",
        repo: "acme/pr",
        prepare: () => gitFixture(),
        args: { ref: "refs/pull/7/merge" },
        tags: (sha: string) => [sha, "pr-7"],
        version: "pr-7",
      },
    ])("$kind", async ({ repo, prepare, args, tags, version }) => {
      const g = prepare();
      const commit = g.head();
      const extra = "ref" in args ? { commit } : {};
      const refs = await publish(g.dir, {
        images: [`${r1.host}/${repo}`],
        ...ciAuth(),
        ...args,
        ...extra,
        sourceUrl: "https://git.example/acme/hello",
      });
      const want = tags(commit.slice(0, 7));
      await expectExactTags(r1, repo, refs, want);

      const labels = (await r1.client("ci").imageConfig(repo, want[0]!)).config?.Labels ?? {};
      expect(labels).toMatchObject({
        "org.opencontainers.image.revision": commit,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.title": repo.split("/")[1],
        "org.opencontainers.image.source": "https://git.example/acme/hello",
      });
      expect(labels).not.toHaveProperty("org.opencontainers.image.created");

      expect(world.double.builds).toBe(1);
      // One Dagger push, of the sha tag; every other tag is a PUT of its manifest by dockyard's own client.
      expect(fieldCount("Container.publish")).toBe(1);
    });

    it("one build per platform however many tags and images; several platforms make one index", async () => {
      const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
      const refs = await publish(
        g.dir,
        {
          images: [`${r1.host}/acme/multi`, `${r2.host}/acme/multi`],
          platforms: ["linux/amd64", "linux/arm64"],
          tags: ["edge", "nightly"],
        },
        [
          { address: r1.host, ...{ username: "ci", password: cliSecret(world.double, USERS.ci) } },
          { address: r2.host, ...{ username: "bot", password: cliSecret(world.double, USERS.bot) } },
        ],
      );
      expect(refs).toHaveLength(2 * 4);
      expect(world.double.builds).toBe(2);
      expect(fieldCount("Directory.dockerBuild")).toBe(2);
      const index = await r1.client("ci").getManifest("acme/multi", "edge");
      expect(index.body.manifests?.map((m) => m.platform?.architecture).sort()).toEqual(["amd64", "arm64"]);
      const arm = await r2.client("bot").imageConfig("acme/multi", "nightly", "linux/arm64");
      expect(arm.architecture).toBe("arm64");
      expect(arm.config?.Labels?.["org.opencontainers.image.revision"]).toBe(g.head());
    });
  });

  it("4: two registries with their own credentials get the same digest", async () => {
    const g = gitFixture();
    const refs = await publish(g.dir, { images: [`${r1.host}/acme/two`, `${r2.host}/acme/two`] }, [
      { address: r1.host, username: "ci", password: cliSecret(world.double, USERS.ci) },
      { address: `${r2.host}/acme/two`, username: "bot", password: cliSecret(world.double, USERS.bot) },
    ]);
    const byHost = Object.fromEntries(world.double.publishes.map((p) => [p.host, p.username]));
    expect(byHost).toEqual({ [r1.host]: "ci", [r2.host]: "bot" });
    expect(new Set(refs.map((r) => splitRef(r).digest)).size).toBe(1);
    expect(await r1.client("ci").listTags("acme/two")).toHaveLength(2);
    expect(await r2.client("bot").listTags("acme/two")).toHaveLength(2);
  });

  it("5: a wrong password fails naming the registry, pushes nothing, and leaks the password nowhere", async () => {
    const canary = `canary-${createHash("sha256").update(String(process.pid)).digest("hex").slice(0, 16)}`;
    const g = gitFixture();
    const err = await publish(g.dir, {
      images: [`${r1.host}/acme/denied`],
      username: "ci",
      password: cliSecret(world.double, canary),
      labels: ["team=core"],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    expect(e.message).toMatch(
      new RegExp(`registry ${r1.host.replace(/\./g, "\\.")} refused the credentials \\(401\\)`),
    );
    expect(e.message).toMatch(/401 Unauthorized/);
    // The first tag's push fails once (401 is never retried) and the second tag is not tried at all.
    expect(fieldCount("Container.publish")).toBe(1);
    expect(await r1.client("ci").listTags("acme/denied")).toEqual([]);
    const everything = [
      e.message,
      e.stdout,
      e.stderr,
      JSON.stringify(e.values),
      JSON.stringify(world.double.journal),
      JSON.stringify(world.double.publishes),
      await r1.log(),
      allText(r1.dir),
    ].join("\n");
    expect(everything).not.toContain(canary);
    expect(everything).not.toContain(Buffer.from(`ci:${canary}`).toString("base64"));
  });

  describe("6: transient faults are retried, auth faults are not", () => {
    it.each([
      // containerd re-sends a 503 once by itself (engine double row R2), so two 503s cost one module retry.
      {
        name: "503 twice: re-sent once, retried once, then pushed",
        fault: { status: 503 },
        times: 2,
        ok: true,
        attempts: 2,
      },
      // containerd re-sends a 429 at once, up to 6 answers, Retry-After unread: one publish absorbs two.
      {
        name: "429 twice with Retry-After: re-sent by containerd, one publish",
        fault: { status: 429, retryAfter: 1 },
        times: 2,
        ok: true,
        attempts: 1,
      },
      { name: "dropped connection: retried, then pushed", fault: "drop" as const, times: 1, ok: true, attempts: 2 },
      // containerd re-sends a 401 with its credentials until 6 answers: 6 are needed to fail the push.
      { name: "401: never retried", fault: { status: 401 }, times: 6, ok: false, attempts: 1 },
      { name: "403: never retried", fault: { status: 403 }, times: 5, ok: false, attempts: 1 },
    ])("$name", async ({ fault, times, ok, attempts }) => {
      const g = gitFixture();
      const repo = `acme/fault-${typeof fault === "string" ? fault : fault.status}`;
      const faultedBefore = proxy.faulted;
      proxy.failNext(times, fault, match.manifestPut);
      const run = publish(g.dir, { images: [`${proxy.host}/${repo}`], ...ciAuth(), latest: "NEVER" });
      if (ok) {
        const refs = await run;
        expect(refs).toHaveLength(2);
        expect(await r1.client("ci").listTags(repo)).toHaveLength(2);
      } else {
        await expect(run).rejects.toThrow(
          /registry \S+ (?:refused the credentials \(401\)|accepted the credentials but denied pushing to \S+ \(403\))/,
        );
      }
      // The sha tag's Dagger push meets every fault; the branch tag, a manifest PUT by dockyard's client, follows
      // only when it got through.
      expect(fieldCount("Container.publish")).toBe(attempts);
      expect(proxy.faulted - faultedBefore).toBeGreaterThanOrEqual(ok ? times : 1);
      proxy.clear();
    });
  });

  it("7: a partial failure across registries lists what was pushed and what was not", async () => {
    const g = gitFixture();
    const err = (await publish(g.dir, { images: [`${r1.host}/acme/partial`, `${r2.host}/acme/partial`] }, [
      { address: r1.host, username: "ci", password: cliSecret(world.double, USERS.ci) },
      { address: r2.host, username: "bot", password: cliSecret(world.double, "not-the-password") },
    ]).catch((e: unknown) => e)) as Error;
    const sha = g.head().slice(0, 7);
    expect(err.message).toMatch(/publish failed for 2 of 4 refs/);
    expect(err.message).toContain(`not pushed: ${r2.host}/acme/partial:${sha}`);
    expect(err.message).toContain(`not tried: ${r2.host}/acme/partial:main`);
    expect(err.message).toMatch(new RegExp(`confirmed: ${r1.host.replace(/\./g, "\\.")}/acme/partial:${sha}@sha256:`));
    expect((await r1.client("ci").listTags("acme/partial")).sort()).toEqual([sha, "main"].sort());
    expect(await r2.client("bot").listTags("acme/partial")).toEqual([]);
  });

  it("8: publishing the same commit again gives the same digest and no error", async () => {
    const g = gitFixture();
    const args = { images: [`${r1.host}/acme/again`], ...ciAuth(), created: "2026-01-01T00:00:00Z" };
    const first = await publish(g.dir, args);
    const second = await publish(g.dir, args);
    expect(second).toEqual(first);
  });

  it("9: a dry run returns the refs and builds and pushes nothing", async () => {
    const g = gitFixture();
    const refs = await publish(g.dir, { images: [`${r1.host}/acme/dry`], dryRun: true, ...ciAuth() });
    expect(refs).toEqual([`${r1.host}/acme/dry:${g.head().slice(0, 7)}`, `${r1.host}/acme/dry:main`]);
    expect(fieldCount("Directory.dockerBuild")).toBe(0);
    expect(fieldCount("Container.publish")).toBe(0);
    expect(world.double.builds).toBe(0);
    expect(await r1.client("ci").listTags("acme/dry")).toEqual([]);
  });

  it("10: a dirty checkout refuses to publish; allowDirty publishes", async () => {
    const g = gitFixture();
    writeFileSync(join(g.dir, "greet.sh"), 'echo "changed"\n');
    writeFileSync(join(g.dir, "notes.txt"), "new\n");
    writeFileSync(join(g.dir, "build.log"), "ignored by .gitignore\n");
    const args = { images: [`${r1.host}/acme/dirty`], ...ciAuth() };
    const err = (await publish(g.dir, args).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/source has uncommitted changes \("greet.sh", "notes.txt"\)/);
    expect(err.message).not.toContain("build.log");
    expect(fieldCount("Directory.dockerBuild")).toBe(0);
    expect(await r1.client("ci").listTags("acme/dirty")).toEqual([]);

    const refs = await publish(g.dir, { ...args, ...ciAuth(), allowDirty: true });
    expect(refs).toHaveLength(2);
  });

  it("11: a build secret reaches RUN --mount by its id and is in no layer of the pushed image", async () => {
    const value = `//registry.npmjs.example/:_authToken=npm-${process.pid}-c4n4ry`;
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/secret-app"));
    const d = world.double;
    // Passed on the CLI, so it has no name (engine double row R4): dockyard must mount it as "npmrc".
    const secret = cliSecret(d, value);
    const refs = await d
      .module({ args: { source: d.hostDirectory(g.dir) } })
      .call("withBuildSecret", { id: "npmrc", secret })
      .call("withRegistryAuth", { address: r1.host, username: "ci", password: cliSecret(d, USERS.ci) })
      .call("publish", {
        images: [`${r1.host}/acme/secret`],
        buildArgs: [`SECRET_SHA256=${createHash("sha256").update(value).digest("hex")}`],
      })
      .result<{ refs: string[] }>()
      .then((p) => p.refs);
    expect(refs).toHaveLength(2);
    const layers = await r1.client("ci").layers("acme/secret", g.head().slice(0, 7));
    const text = layers.map((l) => l.toString("latin1")).join("\n");
    expect(text).toContain("secret checked");
    expect(text).not.toContain(value);
    expect(JSON.stringify(d.journal)).not.toContain(value);
  });
});
