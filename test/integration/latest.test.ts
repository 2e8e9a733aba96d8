// Rung 3 (engine double, docker backend): --latest=auto reads each target repository's tags (tags/list, through
// dockyard's own client) from Debian's docker-registry 2.8.2 on loopback, htpasswd behind a counting proxy and
// token auth, and moves latest only past older releases; skopeo reads back where latest points.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { on, startFaultProxy, type FaultProxy, type ProxiedRequest } from "../infra/fault-proxy.js";
import { writeLayout, type LayoutImage } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { digestRead, pushLayout } from "../infra/skopeo.js";
import { dockerAvailable, gitFixture, startDockerWorld, type DockerWorld, type GitFixture } from "./setup.js";

const docker = await dockerAvailable("rung 3 registry-aware latest suite (docker backend)");

const PASSWORD = "ci-pass-3b8e";
const CREDS = `ci:${PASSWORD}`;
const tagsList = on("GET", /\/tags\/list/);
// The client asks once without credentials (the registry's 401 is its challenge), then answers it: count answers.
const tagsListed = (q: ProxiedRequest) => tagsList(q) && q.outcome === 200;

describe.skipIf(!docker)("--latest=auto against the tags already in the registry", () => {
  let world: DockerWorld;
  let layout: string;
  let seeded: LayoutImage;
  const reg: Record<"htpasswd" | "token", Registry> = {} as never;
  let proxy: FaultProxy;
  let g: GitFixture;

  beforeAll(async () => {
    layout = await mkdtemp(path.join(os.tmpdir(), "dockyard-latest-"));
    seeded = await writeLayout(layout, "v2", "release 2.0.0\n");
    [world, reg.htpasswd, reg.token] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      startRegistry({ users: { ci: PASSWORD }, tokenAuth: {} }),
    ]);
    proxy = await startFaultProxy(reg.htpasswd.port);
    // A repository whose newest release is 2.0.0 (latest on it), beside tags that must not count.
    for (const host of [proxy.host, reg.token.host])
      for (const tag of ["2.0.0", "latest", "9", "9.9", "3.0.0-rc.1", "main"])
        await pushLayout(layout, "v2", `${host}/acme/app:${tag}`, CREDS);
    g = gitFixture();
  });

  afterAll(async () => {
    await proxy?.stop();
    await world?.stop();
    await Promise.all(Object.values(reg).map((r) => r?.stop()));
    if (layout) await rm(layout, { recursive: true, force: true });
  });

  beforeEach(() => {
    world.double.reset();
    proxy.clear();
  });

  const secret = () => world.double.cliSecret(PASSWORD);
  const listed = () => proxy.requests.filter(tagsListed).length;

  /** `dagger call --source=<git> publish --commit … --ref refs/tags/<version> …` through the double. */
  async function publish(version: string, args: Record<string, unknown>) {
    const d = world.double;
    const result = await d
      .module({ args: { source: d.hostDirectory(g.dir) } })
      .call(
        "publish",
        { commit: g.head(), ref: `refs/tags/${version}`, username: "ci", password: secret(), ...args },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    return { ...publicationData(result), markdown: result.markdown };
  }

  const sha = () => g.head().slice(0, 7);
  const latestAt = (host: string, repo: string) => digestRead(`${host}/${repo}:latest`, CREDS);

  it("v1.5.0 below the repository's 2.0.0: latest is not moved, and the summary says why", async () => {
    const mark = listed();
    const pub = await publish("v1.5.0", { images: [`${proxy.host}/acme/app`] });
    expect(pub.tags).toEqual([sha(), "1.5.0", "1.5", "1"]);
    expect(pub.pushed).toBe(true);
    expect(pub.markdown).toContain(`| latest | not moved: 1.5.0 < 2.0.0 in ${proxy.host}/acme/app |`);
    expect(listed() - mark).toBe(1);
    expect(await latestAt(proxy.host, "acme/app")).toBe(seeded.manifestDigest);
    expect(await digestRead(`${proxy.host}/acme/app:1.5.0`, CREDS)).toBe(pub.digest);
    // The latest check, the fan-out's tags and the read-back share one session per host: the password is read once.
    expect(world.double.journal.filter((j) => j.field === "Secret.plaintext")).toHaveLength(1);
  });

  it("a publish to a token-auth registry: one Dagger push, every other tag and latest by PUT with a Bearer token", async () => {
    const tokens = reg.token.tokenServer?.requests.length ?? 0;
    const pub = await publish("v2.1.0", { images: [`${reg.token.host}/acme/bearer`] });
    expect(pub.tags).toEqual([sha(), "2.1.0", "2.1", "2", "latest"]);
    expect(pub.markdown).not.toContain("| latest |");
    expect(world.double.journal.filter((j) => j.field === "Container.publish")).toHaveLength(1);
    for (const tag of pub.tags)
      expect(await digestRead(`${reg.token.host}/acme/bearer:${tag}`, CREDS)).toBe(pub.digest);
    // The engine's push asks its token by the OAuth2 POST; dockyard's client by GET with Basic, for its scope.
    const asked = (reg.token.tokenServer?.requests ?? []).slice(tokens);
    expect(asked.some((q) => q.method === "POST" && q.outcome === "granted")).toBe(true);
    expect(asked.filter((q) => q.method === "GET").map((q) => q.scopes)).toContainEqual([
      "repository:acme/bearer:pull,push",
    ]);
  });

  it("a dry run on a token-auth registry reads its tags with a token and plans no latest", async () => {
    const tokens = reg.token.tokenServer?.requests.length ?? 0;
    const pub = await publish("v1.5.0", { images: [`${reg.token.host}/acme/app`], dryRun: true });
    expect(pub.tags).toEqual([sha(), "1.5.0", "1.5", "1"]);
    expect(pub.markdown).toContain(`| latest | not moved: 1.5.0 < 2.0.0 in ${reg.token.host}/acme/app |`);
    expect(reg.token.tokenServer?.requests.length ?? 0).toBeGreaterThan(tokens);
    expect(await latestAt(reg.token.host, "acme/app")).toBe(seeded.manifestDigest);
  });

  it("a dry run reads the tags too (read only) and plans no latest; it pushes nothing", async () => {
    const mark = proxy.requests.length;
    const pub = await publish("v1.6.0", { images: [`${proxy.host}/acme/app`], dryRun: true });
    expect(pub.tags).toEqual([sha(), "1.6.0", "1.6", "1"]);
    expect(pub.pushed).toBe(false);
    expect(pub.markdown).toContain("not moved: 1.6.0 < 2.0.0");
    const seen = proxy.requests.slice(mark);
    expect(seen.filter(tagsListed)).toHaveLength(1);
    expect(seen.filter((q) => q.method !== "GET" && q.method !== "HEAD")).toEqual([]);
  });

  it("a repository one of several images holds a newer release in keeps latest out of all of them", async () => {
    const pub = await publish("v1.7.0", { images: [`${proxy.host}/acme/other`, `${proxy.host}/acme/app`] });
    expect(pub.tags).not.toContain("latest");
    expect(pub.markdown).toContain(`| latest | not moved: 1.7.0 < 2.0.0 in ${proxy.host}/acme/app |`);
    expect(await reg.htpasswd.client("ci").listTags("acme/other")).not.toContain("latest");
  });

  it("v2.1.0 above it: latest moves to the new image (and an empty repository gets latest)", async () => {
    const pub = await publish("v2.1.0", { images: [`${proxy.host}/acme/app`, `${proxy.host}/acme/fresh`] });
    expect(pub.tags).toEqual([sha(), "2.1.0", "2.1", "2", "latest"]);
    expect(pub.markdown).not.toContain("| latest |");
    expect(pub.digest).not.toBe(seeded.manifestDigest);
    expect(await latestAt(proxy.host, "acme/app")).toBe(pub.digest);
    expect(await latestAt(proxy.host, "acme/fresh")).toBe(pub.digest);
  });

  it.each([
    { latest: "ALWAYS", wantLatest: true },
    { latest: "NEVER", wantLatest: false },
  ])("--latest=$latest reads no tags", async ({ latest, wantLatest }) => {
    const repo = `acme/${latest.toLowerCase()}`;
    await pushLayout(layout, "v2", `${proxy.host}/${repo}:2.0.0`, CREDS);
    const mark = proxy.requests.length;
    const pub = await publish("v1.0.0", { images: [`${proxy.host}/${repo}`], latest });
    expect(pub.tags.includes("latest")).toBe(wantLatest);
    // Not even the unauthenticated first try.
    expect(proxy.requests.slice(mark).filter(tagsList)).toEqual([]);
    if (wantLatest) expect(await latestAt(proxy.host, repo)).toBe(pub.digest);
  });

  it("a listing the registry refuses fails naming the repository and the fix, before anything is built", async () => {
    const mark = proxy.requests.length;
    const err = await publish("v3.0.0", {
      images: [`${proxy.host}/acme/app`],
      password: world.double.cliSecret("canary-9f2e71"),
    })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionCallError);
    const message = (err as FunctionCallError).message;
    expect(message).toContain(`--latest=auto: reading the tags of ${proxy.host}/acme/app`);
    expect(message).toContain("pass --latest=always or --latest=never");
    expect(message).toMatch(/401 Unauthorized/);
    expect(message).not.toContain("canary-9f2e71");
    expect(world.double.journal.filter((e) => e.field === "Container.publish")).toEqual([]);
    expect(proxy.requests.slice(mark).filter((q) => q.method === "PUT")).toEqual([]);
  });

  it("promote on its own client, token auth: v1.5.0 leaves latest out, v2.0.0 (equal) moves it", async () => {
    const d = world.double;
    const promote = (version: string) =>
      d
        .module()
        .call(
          "promote",
          {
            from: `${reg.token.host}/acme/app@${seeded.manifestDigest}`,
            images: [`${reg.token.host}/acme/promoted`],
            commit: g.head(),
            ref: `refs/tags/${version}`,
            username: "ci",
            password: secret(),
          },
          { returns: "Publication" },
        )
        .result<PublicationResult>();
    await pushLayout(layout, "v2", `${reg.token.host}/acme/promoted:2.0.0`, CREDS);
    const older = await promote("v1.5.0");
    expect(older.tags).not.toContain("latest");
    expect(older.markdown).toContain(`not moved: 1.5.0 < 2.0.0 in ${reg.token.host}/acme/promoted`);
    const equal = await promote("v2.0.0");
    expect(equal.tags).toContain("latest");
    expect(await latestAt(reg.token.host, "acme/promoted")).toBe(seeded.manifestDigest);
  });
});
