// Rung 3 (engine double): `promote` called as the module through the double (the SDK's entrypoint, Secrets read with
// Secret.plaintext), copying images that skopeo seeded into Debian's docker-registry 2.8.2 on loopback, one with
// htpasswd and one with token auth, and skopeo reading every target back. The memory backend serves the engine
// side: promote asks the engine for nothing but Secret plaintexts (and git, given here as --commit and --ref).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { MemoryBackend } from "../engine/memory-backend.js";
import { startEngineDouble, type EngineDouble } from "../engine/server.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { writeIndexLayout, writeLayout, type LayoutImage, type LayoutIndex } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { digestRead as skopeoDigest, pushLayout } from "../infra/skopeo.js";

const PASSWORD = "ci-pass-7c3d";
const COMMIT = "3f4e5d6c7b8a99a8b7c6d5e4f3a2b1c0d9e8f7a6";
const SHA = COMMIT.slice(0, 7);
// The registry's challenge lists scopes, and a scope's actions, in Go map order: sorted, so one order is seen.
const sorted = (scopes: string[]) =>
  scopes.map((s) => s.replace(/[^:]*$/, (a) => a.split(",").sort().join(","))).sort();

/** The digest of the bytes skopeo reads for `ref` (host/repo:tag or host/repo@digest): our independent reader. */
const digestRead = (ref: string) => skopeoDigest(ref, `ci:${PASSWORD}`);

let double: EngineDouble;
let layouts: string[] = [];
let image: LayoutImage;
let multi: LayoutIndex;
const reg: Record<"htpasswd" | "token", Registry> = {} as never;
let proxy: FaultProxy;

beforeAll(async () => {
  layouts = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), "dockyard-promote-"))));
  image = await writeLayout(layouts[0]!, "v1", "promote me\n");
  multi = await writeIndexLayout(layouts[1]!, "v1", ["amd64", "arm64"]);
  [reg.htpasswd, reg.token, double] = await Promise.all([
    startRegistry({ users: { ci: PASSWORD } }),
    startRegistry({ users: { ci: PASSWORD }, tokenAuth: {} }),
    startEngineDouble({ backend: new MemoryBackend() }),
  ]);
  proxy = await startFaultProxy(reg.htpasswd.port);
  for (const r of Object.values(reg)) {
    for (const [dir, repo] of [
      [layouts[0]!, "acme/app"],
      [layouts[1]!, "acme/multi"],
    ] as const)
      await pushLayout(dir, "v1", `${r.host}/${repo}:v1`, `ci:${PASSWORD}`);
  }
});

afterAll(async () => {
  await proxy?.stop();
  await double?.close();
  await Promise.all(Object.values(reg).map((r) => r.stop()));
  await Promise.all(layouts.map((d) => rm(d, { recursive: true, force: true })));
});

beforeEach(() => double.reset());

/** `dagger call [with-registry-auth …] promote --from … --images … --commit … --ref …` through the double. */
async function promote(args: Record<string, unknown>, auths: { address: string }[] = []) {
  let chain = double.module();
  for (const { address } of auths)
    chain = chain.call("withRegistryAuth", { address, username: "ci", password: double.cliSecret(PASSWORD) });
  const result = await chain
    .call("promote", { commit: COMMIT, ref: "refs/tags/v1.2.3", ...args }, { returns: "Publication" })
    .result<PublicationResult>();
  return publicationData(result);
}

const RELEASE_TAGS = [SHA, "1.2.3", "1.2", "1", "latest"];

/** Requests the fault proxy (in front of the htpasswd registry) saw since `mark`, as `METHOD path`, decoded. */
const seenSince = (mark: number) => proxy.requests.slice(mark).map((q) => ({ ...q, path: decodeURIComponent(q.path) }));

describe.each(["htpasswd", "token"] as const)("on one registry with %s auth", (auth) => {
  const r = () => reg[auth];
  // The htpasswd registry is reached through the counting proxy, so its requests can be read.
  const hostOf = () => (auth === "htpasswd" ? proxy.host : reg.token.host);

  it("same repository, new tags: a manifest PUT per tag, each tag read back at the source's digest", async () => {
    const host = hostOf();
    const mark = proxy.requests.length;
    const pub = await promote({
      from: `${host}/acme/app:v1@${image.manifestDigest}`,
      images: [`${host}/acme/app`],
      username: "ci",
      password: double.cliSecret(PASSWORD),
    });
    expect(pub).toEqual({
      refs: RELEASE_TAGS.map((t) => `${host}/acme/app:${t}@${image.manifestDigest}`),
      digest: image.manifestDigest,
      tags: RELEASE_TAGS,
      images: [`${host}/acme/app`],
      platforms: ["linux/amd64"],
      platformDigests: [`linux/amd64=${image.manifestDigest}`],
      built: false,
      pushed: true,
      verified: true,
      commit: COMMIT,
      dirty: false,
    });
    if (auth === "htpasswd") {
      const seen = seenSince(mark);
      expect(seen.filter((q) => q.method === "PUT").map((q) => q.path)).toEqual(
        expect.arrayContaining(RELEASE_TAGS.map((t) => `/v2/acme/app/manifests/${t}`)),
      );
      expect(seen.filter((q) => q.method === "PUT")).toHaveLength(RELEASE_TAGS.length);
      expect(seen.filter((q) => q.path.includes("/blobs/uploads"))).toEqual([]);
    }
    for (const tag of RELEASE_TAGS) expect(await digestRead(`${host}/acme/app:${tag}`)).toBe(image.manifestDigest);
    expect(double.journal.filter((e) => e.field === "Secret.plaintext")).toHaveLength(1);
  });

  it("another repository on the same registry: the index's blobs mounted, children before the index", async () => {
    const host = hostOf();
    const mark = proxy.requests.length;
    const tokensBefore = r().tokenServer?.requests.length ?? 0;
    const pub = await promote(
      {
        from: `${host}/acme/multi@${multi.indexDigest}`,
        images: [`${host}/acme/release`],
        ref: "refs/heads/main",
        tags: ["stable"],
      },
      [{ address: host }],
    );
    const tags = [SHA, "main", "stable"];
    expect(pub).toMatchObject({
      refs: tags.map((t) => `${host}/acme/release:${t}@${multi.indexDigest}`),
      digest: multi.indexDigest,
      platforms: ["linux/amd64", "linux/arm64"],
      platformDigests: multi.images.map((i, n) => `linux/${["amd64", "arm64"][n]}=${i.manifestDigest}`),
      pushed: true,
      verified: true,
    });
    if (auth === "htpasswd") {
      // Every blob arrives by one mount (201), none by an upload; each child's manifest is PUT before the index.
      const seen = seenSince(mark);
      const uploads = seen.filter((q) => q.path.includes("/blobs/uploads"));
      expect(uploads.map((q) => /mount=([^&]+)/.exec(q.path)?.[1]).sort()).toEqual(
        multi.images.flatMap((i) => [i.configDigest, i.layerDigest]).sort(),
      );
      expect(uploads.every((q) => q.method === "POST" && q.outcome === 201 && q.path.includes("from=acme/multi"))).toBe(
        true,
      );
      const puts = seen.filter((q) => q.method === "PUT").map((q) => q.path.split("/manifests/")[1]);
      expect(puts.slice(0, 3)).toEqual([...multi.images.map((i) => i.manifestDigest), multi.indexDigest]);
      expect(puts.slice(3).sort()).toEqual([...tags].sort());
    }
    for (const tag of tags) expect(await digestRead(`${host}/acme/release:${tag}`)).toBe(multi.indexDigest);
    for (const child of multi.images)
      expect(await digestRead(`${host}/acme/release@${child.manifestDigest}`)).toBe(child.manifestDigest);
    if (auth === "token") {
      // A mount asks, in one token, for push on the target and pull on the source.
      const scopes = r()
        .tokenServer!.requests.slice(tokensBefore)
        .map((q) => sorted(q.scopes));
      expect(scopes).toContainEqual(["repository:acme/multi:pull", "repository:acme/release:pull,push"]);
    }
  });
});

describe("to another registry: a streamed copy", () => {
  it.each([
    { rule: "a multi-platform index, htpasswd to token auth", from: "htpasswd", to: "token", repo: "acme/multi" },
    { rule: "one image, token to htpasswd auth", from: "token", to: "htpasswd", repo: "acme/app" },
  ] as const)("$rule: every child, then the index, each digest read back", async ({ from, to, repo }) => {
    const digest = repo === "acme/multi" ? multi.indexDigest : image.manifestDigest;
    const children = repo === "acme/multi" ? multi.images.map((i) => i.manifestDigest) : [];
    const [source, target] = [reg[from].host, reg[to].host];
    const pub = await promote(
      { from: `${source}/${repo}@${digest}`, images: [`${target}/copied/${repo}`, `${source}/${repo}`] },
      [{ address: source }, { address: target }],
    );
    expect(pub.refs).toEqual([
      ...RELEASE_TAGS.map((t) => `${target}/copied/${repo}:${t}@${digest}`),
      ...RELEASE_TAGS.map((t) => `${source}/${repo}:${t}@${digest}`),
    ]);
    expect(pub.digest).toBe(digest);
    for (const ref of pub.refs) expect(await digestRead(ref.split("@")[0]!)).toBe(digest);
    for (const child of children) expect(await digestRead(`${target}/copied/${repo}@${child}`)).toBe(child);
    // Running it again finds the content there: only the tags are PUT again, the digest unchanged.
    const again = await promote({ from: `${source}/${repo}@${digest}`, images: [`${target}/copied/${repo}`] }, [
      { address: source },
      { address: target },
    ]);
    expect(again.digest).toBe(digest);
  });
});

describe("a registry that refuses one repository", () => {
  it("the report sorts every ref: the other repository confirmed, the refused one not pushed, then not tried", async () => {
    const refused = (q: { method: string; path: string }) =>
      q.method === "PUT" && q.path.startsWith("/v2/acme/denied/manifests/");
    proxy.failNext(10, { status: 403 }, refused);
    try {
      const err = await promote(
        {
          from: `${proxy.host}/acme/app@${image.manifestDigest}`,
          images: [`${proxy.host}/acme/app`, `${proxy.host}/acme/denied`],
          ref: "refs/heads/main",
        },
        [{ address: proxy.host }],
      ).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      const message = (err as Error).message;
      expect(message).toMatch(/^promote failed for 2 of 4 refs\n/);
      for (const tag of [SHA, "main"])
        expect(message).toContain(`confirmed: ${proxy.host}/acme/app:${tag}@${image.manifestDigest}`);
      expect(message).toContain(
        `not pushed: ${proxy.host}/acme/denied:${SHA}: PUT manifest acme/denied:${image.manifestDigest}`,
      );
      expect(message).toMatch(/403 Forbidden.*may not do this on acme\/denied/);
      expect(message).toContain(`not tried: ${proxy.host}/acme/denied:main`);
      expect(message).not.toContain(PASSWORD);
    } finally {
      proxy.clear();
    }
  });
});

describe("bad input makes no registry request and reads no credential", () => {
  it.each([
    {
      rule: "an unpinned --from",
      args: () => ({ from: `${proxy.host}/acme/app:v1`, images: [`${proxy.host}/acme/app`] }),
      match: /^--from "127\.0\.0\.1:\d+\/acme\/app:v1": is not pinned by digest: a tag can move/,
    },
    {
      rule: "a target carrying a tag",
      args: () => ({
        from: `${proxy.host}/acme/app@${image.manifestDigest}`,
        images: [`${proxy.host}/acme/app:1.2.3`],
      }),
      match: /^--images "127\.0\.0\.1:\d+\/acme\/app:1\.2\.3": must not carry a tag: pass tags with --tags/,
    },
    {
      rule: "no credential for a target host",
      args: () => ({
        from: `${proxy.host}/acme/app@${image.manifestDigest}`,
        images: [`${proxy.host}/acme/app`, `${reg.token.host}/acme/app`],
      }),
      match:
        /^--images "127\.0\.0\.1:\d+\/acme\/app": no credentials for 127\.0\.0\.1:\d+, where promote must push \(pass --username and --password, or with-registry-auth --address 127\.0\.0\.1:\d+\)/,
    },
  ])("$rule", async ({ rule, args, match }) => {
    const tokens = reg.token.tokenServer!.requests.length;
    const mark = proxy.requests.length;
    const err = await promote(args(), [{ address: proxy.host }]).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(match);
    if (rule.startsWith("no credential"))
      expect((err as Error).message).toContain(`no credentials for ${reg.token.host},`);
    expect(seenSince(mark)).toEqual([]);
    expect(reg.token.tokenServer!.requests.length).toBe(tokens);
    expect(double.journal.map((e) => e.field)).not.toContain("Secret.plaintext");
  });
});
