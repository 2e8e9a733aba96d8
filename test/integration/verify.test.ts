// Rung 3 (engine double): publish's read-back (--verify, on by default) on the docker backend: real Docker builds
// pushed to Debian's docker-registry 2.8.2 on loopback through a counting fault proxy, the module reading every ref
// back with dockyard's own client, skopeo as the independent reader of what the registry holds.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { startFaultProxy, type FaultProxy, type RequestInfo } from "../infra/fault-proxy.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { digestRead, rawRead } from "../infra/skopeo.js";
import { dockerAvailable, gitFixture, REPO_ROOT, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 verify suite (docker backend)");
const PASSWORD = "ci-pass-3b8f";
const CREDS = `ci:${PASSWORD}`;
const MULTIARCH = join(REPO_ROOT, "test/fixtures/multiarch");
const PLATFORMS = ["linux/amd64", "linux/arm64"];

describe.skipIf(!docker)("publish --verify, end to end on the docker backend", () => {
  const suite = useDockerWorld(PASSWORD);
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy(suite.registry.port);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  /** `dagger call --source=<dir> publish --username ci --password env:… …` through the double. */
  async function publish(dir: string, args: Record<string, unknown>) {
    const d = suite.world.double;
    const result = await d
      .module({ args: { source: d.hostDirectory(dir) } })
      .call("publish", { username: "ci", password: d.cliSecret(PASSWORD), ...args }, { returns: "Publication" })
      .result<PublicationResult>();
    return publicationData(result);
  }

  /** The proxy's requests from `mark` to `end` to `repo`, as `METHOD /v2/repo/...`. */
  const seen = (mark: number, repo: string, end = proxy.requests.length) =>
    proxy.requests
      .slice(mark, end)
      .filter((q) => q.path.startsWith(`/v2/${repo}/`))
      .map((q) => `${q.method} ${q.path}`);
  const reads = (requests: string[]) => requests.filter((q) => q.startsWith("GET "));
  /** Whether `tag` was HEADed after its last manifest PUT: the push HEADs a tag only before it PUTs it. */
  const headedAfterPut = (requests: string[], repo: string, tag: string) =>
    requests.lastIndexOf(`HEAD /v2/${repo}/manifests/${tag}`) >
    requests.lastIndexOf(`PUT /v2/${repo}/manifests/${tag}`);

  it("two platforms: verified, each platform's digest as skopeo reads it, every ref and config read back", async () => {
    const g = gitFixture(MULTIARCH);
    const sha = g.head().slice(0, 7);
    const repo = "acme/verified";
    const mark = proxy.requests.length;
    const pub = await publish(g.dir, { images: [`${proxy.host}/${repo}`], platforms: PLATFORMS });
    const during = seen(mark, repo);

    // skopeo reads the index the tag names, and each child by digest.
    const index = JSON.parse((await rawRead(`${proxy.host}/${repo}:${sha}`, CREDS)).toString("utf8")) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    const children = index.manifests.map((m) => ({
      digest: m.digest,
      platform: `${m.platform.os}/${m.platform.architecture}`,
    }));
    expect(pub).toMatchObject({
      digest: await digestRead(`${proxy.host}/${repo}:${sha}`, CREDS),
      platforms: PLATFORMS,
      platformDigests: children.map((c) => `${c.platform}=${c.digest}`),
      pushed: true,
      verified: true,
    });
    expect(pub.platformDigests.map((p) => p.split("=")[0]).sort()).toEqual(PLATFORMS);
    for (const c of children) expect(await digestRead(`${proxy.host}/${repo}@${c.digest}`, CREDS)).toBe(c.digest);

    // verify's reads during the call: each tag HEADed after its PUT, the index and each child GET by digest, and
    // each child's config blob GET; the push itself GETs only the index Dagger pushed, to annotate it.
    for (const tag of [sha, "main"]) expect(headedAfterPut(during, repo, tag)).toBe(true);
    const gets = reads(during);
    const verifyGets = [pub.digest, ...children.map((c) => c.digest)].map((dg) => `GET /v2/${repo}/manifests/${dg}`);
    const manifestGets = new Set(gets.filter((q) => q.includes("/manifests/")));
    expect([...manifestGets].filter((q) => !verifyGets.includes(q))).toEqual([
      expect.stringMatching(new RegExp(`^GET /v2/${repo}/manifests/sha256:[0-9a-f]{64}$`)),
    ]);
    expect(verifyGets.every((q) => manifestGets.has(q))).toBe(true);
    expect(new Set(gets.filter((q) => q.includes("/blobs/"))).size).toBe(PLATFORMS.length);
  });

  it("--verify=false reads nothing back (but the index it annotates) and does not claim verified", async () => {
    const g = gitFixture(MULTIARCH);
    const repo = "acme/unverified";
    const mark = proxy.requests.length;
    const pub = await publish(g.dir, { images: [`${proxy.host}/${repo}`], platforms: PLATFORMS, verify: false });
    expect(pub).toMatchObject({ pushed: true, verified: false, platformDigests: [] });
    expect(pub.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const requests = seen(mark, repo);
    expect(requests.filter((q) => q.startsWith("PUT ") && q.includes("/manifests/")).length).toBeGreaterThan(0);
    // The one read is the index Dagger pushed, by digest, which the index annotations rewrite; the other tags are
    // PUT with the rewritten bytes in hand, so the final digest is never read; nothing by tag, no config.
    // (A GET may show twice: the registry's 401 challenge, then the same GET with credentials.)
    const gets = [...new Set(reads(requests))];
    expect(gets).toEqual([expect.stringMatching(new RegExp(`^GET /v2/${repo}/manifests/sha256:[0-9a-f]{64}$`))]);
    expect(gets).not.toContain(`GET /v2/${repo}/manifests/${pub.digest}`);
    expect(requests).toContain(`PUT /v2/${repo}/manifests/main`);
    for (const tag of [g.head().slice(0, 7), "main"]) expect(headedAfterPut(requests, repo, tag)).toBe(false);
  });

  it.each([
    { what: "--push=false", args: { push: false } },
    { what: "--dry-run", args: { dryRun: true } },
  ])("$what reads nothing and is not verified", async ({ args }) => {
    const g = gitFixture();
    const repo = "acme/notpushed";
    const mark = proxy.requests.length;
    const pub = await publish(g.dir, { images: [`${proxy.host}/${repo}`], ...args });
    expect(pub).toMatchObject({ pushed: false, verified: false, platformDigests: [] });
    expect(seen(mark, repo)).toEqual([]);
  });

  it("a tag moved between push and verify fails with the honest report; nothing claims verified", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    const repo = "acme/moved";
    const moved = `sha256:${"0e".repeat(32)}`;
    const tagPath = `/v2/${repo}/manifests/main`;
    // After the push has PUT `main`, the registry answers a HEAD of it with another digest: the tag moved.
    const afterPut = (q: RequestInfo) =>
      q.method === "HEAD" &&
      q.path === tagPath &&
      proxy.requests.some((p) => p.method === "PUT" && p.path === tagPath && p.outcome === 201);
    proxy.failNext(10, { wrongDigest: moved }, afterPut);
    try {
      const err = await publish(g.dir, { images: [`${proxy.host}/${repo}`] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FunctionCallError);
      const message = (err as FunctionCallError).message;
      const pushed = await digestRead(`${proxy.host}/${repo}:${sha}`, CREDS);
      expect(message).toContain("publish pushed every ref, but 1 of 2 did not read back as pushed");
      expect(message).toContain(`verified: ${proxy.host}/${repo}:${sha}@${pushed}`);
      expect(message).toContain(`mismatch: ${proxy.host}/${repo}:main (pushed ${pushed}):`);
      expect(message).toContain(`the tag names ${moved} in the registry, but the push put it at ${pushed}`);
      expect(message).toMatch(/fix: a tag that names another digest was moved after this push/);
      expect(message).not.toContain(PASSWORD);
      expect(JSON.stringify((err as FunctionCallError).values ?? null)).not.toContain('"verified":true');
    } finally {
      proxy.clear();
    }
  });

  it("a manifest served under another digest than asked for is a mismatch, with the registry's answer and the fix", async () => {
    const g = gitFixture();
    const repo = "acme/tampered";
    const other = `sha256:${"0f".repeat(32)}`;
    // verify GETs the pushed digest once every tag is written; before, only the fan-out reads it (to PUT main).
    let tagsWritten = false;
    const manifestGet = (q: RequestInfo) => {
      if (q.method === "PUT" && q.path === `/v2/${repo}/manifests/main`) tagsWritten = true;
      return tagsWritten && q.method === "GET" && q.path.startsWith(`/v2/${repo}/manifests/sha256:`);
    };
    proxy.failNext(10, { wrongDigest: other }, manifestGet);
    try {
      const err = await publish(g.dir, { images: [`${proxy.host}/${repo}`] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FunctionCallError);
      const message = (err as FunctionCallError).message;
      expect(message).toContain("publish pushed every ref, but 2 of 2 did not read back as pushed");
      expect(message).toMatch(/mismatch: .*acme\/tampered:main \(pushed sha256:[0-9a-f]{64}\):\n {4}.*digest mismatch/);
      expect(message).toContain(`expected ${other}`);
      expect(message).toContain(
        "fix: the registry (or a proxy in front of it) serves other bytes than their digest names",
      );
      expect(message).not.toContain("--verify=false");
      expect(message).not.toContain(PASSWORD);
    } finally {
      proxy.clear();
    }
  });
});
