// Rung 3 (engine double): `merge` called as the module through the double (the SDK's entrypoint, Secrets read with
// Secret.plaintext), assembling one index from two single-platform images (linux/amd64, linux/arm64) that skopeo
// pushed under staging tags into Debian's docker-registry 2.8.2 on loopback (htpasswd, behind a counting proxy),
// merged in the same repository and into another registry with token auth; skopeo reads back the index (its
// annotations: the OCI labels the children share, and --annotations) and each child by digest. A child built from
// another commit, or without a revision label, is refused after reading, before any write. The memory backend
// serves the engine side: merge asks it for nothing but Secret plaintexts.
import { createHash } from "node:crypto";
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
import { digestRead as skopeoDigest, pushLayout, rawRead as skopeoRaw } from "../infra/skopeo.js";

const PASSWORD = "ci-pass-4e1a";
const COMMIT = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
const SHA = COMMIT.slice(0, 7);
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const OTHER_COMMIT = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";
const RELEASE_TAGS = [SHA, "1.2.3", "1.2", "1", "latest"];
const OCI = "org.opencontainers.image";
/** The labels each runner's publish --staging of COMMIT sets, plus one that differs by platform and a non-OCI one. */
const labelsFor = (commit: string, base: string) => ({
  [`${OCI}.revision`]: commit,
  [`${OCI}.version`]: "1.2.3",
  [`${OCI}.source`]: "https://github.com/acme/app",
  [`${OCI}.base.digest`]: base,
  "com.example.team": "core",
});
/** The index's annotations by default: the OCI labels both children carry with the same value. */
const DEFAULT_ANNOTATIONS = {
  [`${OCI}.revision`]: COMMIT,
  [`${OCI}.source`]: "https://github.com/acme/app",
  [`${OCI}.version`]: "1.2.3",
};

/** The bytes skopeo reads for `ref` (host/repo:tag or host/repo@digest), and their digest: our independent reader. */
const rawRead = (ref: string) => skopeoRaw(ref, `ci:${PASSWORD}`);
const digestRead = (ref: string) => skopeoDigest(ref, `ci:${PASSWORD}`);

let double: EngineDouble;
let layouts: string[] = [];
let amd64: LayoutImage;
let arm64: LayoutImage;
let amd64Again: LayoutImage;
let arm64Other: LayoutImage;
let multi: LayoutIndex;
let htpasswd: Registry;
let token: Registry;
let proxy: FaultProxy;

beforeAll(async () => {
  layouts = await Promise.all([0, 1, 2, 3, 4].map(() => mkdtemp(path.join(os.tmpdir(), "dockyard-merge-"))));
  const base = (c: string) => `sha256:${c.repeat(64)}`;
  amd64 = await writeLayout(layouts[0]!, "v1", "built on an amd64 runner\n", "amd64", labelsFor(COMMIT, base("a")));
  arm64 = await writeLayout(layouts[1]!, "v1", "built on an arm64 runner\n", "arm64", labelsFor(COMMIT, base("b")));
  // No labels at all: not built by dockyard's publish.
  amd64Again = await writeLayout(layouts[2]!, "v1", "another amd64 build\n", "amd64");
  multi = await writeIndexLayout(layouts[3]!, "v1", ["amd64", "arm64"]);
  arm64Other = await writeLayout(
    layouts[4]!,
    "v1",
    "an older arm64 build\n",
    "arm64",
    labelsFor(OTHER_COMMIT, base("c")),
  );
  [htpasswd, token, double] = await Promise.all([
    startRegistry({ users: { ci: PASSWORD } }),
    startRegistry({ users: { ci: PASSWORD }, tokenAuth: {} }),
    startEngineDouble({ backend: new MemoryBackend() }),
  ]);
  proxy = await startFaultProxy(htpasswd.port);
  // Each runner's publish --staging: one platform under <sha7>-<os>-<arch>, in the repository merge writes to.
  for (const [dir, tag] of [
    [layouts[0]!, `${SHA}-linux-amd64`],
    [layouts[1]!, `${SHA}-linux-arm64`],
    [layouts[2]!, `other-linux-amd64`],
    [layouts[3]!, `multi`],
    [layouts[4]!, `${OTHER_COMMIT.slice(0, 7)}-linux-arm64`],
  ] as const)
    await pushLayout(dir, "v1", `${htpasswd.host}/acme/app:${tag}`, `ci:${PASSWORD}`);
});

afterAll(async () => {
  await proxy?.stop();
  await double?.close();
  await Promise.all([htpasswd, token].map((r) => r?.stop()));
  await Promise.all(layouts.map((d) => rm(d, { recursive: true, force: true })));
});

beforeEach(() => double.reset());

/** `dagger call [with-registry-auth …] merge --from … --images … --commit … --ref …` through the double. */
async function merge(args: Record<string, unknown>, auths: string[] = []) {
  let chain = double.module();
  for (const address of auths)
    chain = chain.call("withRegistryAuth", { address, username: "ci", password: double.cliSecret(PASSWORD) });
  const result = await chain
    .call("merge", { commit: COMMIT, ref: "refs/tags/v1.2.3", ...args }, { returns: "Publication" })
    .result<PublicationResult>();
  return publicationData(result);
}

/** Requests the proxy (in front of the htpasswd registry) saw since `mark`, path decoded. */
const seenSince = (mark: number) => proxy.requests.slice(mark).map((q) => ({ ...q, path: decodeURIComponent(q.path) }));
const children = () => [amd64, arm64];
const fromOf = (host: string) => children().map((c) => `${host}/acme/app@${c.manifestDigest}`);

/**
 * The index skopeo reads at `ref`: its digest is `digest`, it names each child exactly, platforms from configs,
 * and it carries `annotations`.
 */
async function expectIndex(ref: string, digest: string, annotations: Record<string, string> = DEFAULT_ANNOTATIONS) {
  const raw = await rawRead(ref);
  expect(sha256(raw)).toBe(digest);
  expect(JSON.parse(raw.toString("utf8"))).toEqual({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      ["amd64", amd64],
      ["arm64", arm64],
    ].map(([architecture, c]) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: (c as LayoutImage).manifestDigest,
      size: (c as LayoutImage).manifest.length,
      platform: { architecture, os: "linux" },
    })),
    annotations,
  });
}

let indexDigest = "";

describe("merge two staging images", () => {
  it("in their own repository: the index PUT under every final tag and read back; nothing else written", async () => {
    const mark = proxy.requests.length;
    const pub = await merge({
      from: fromOf(proxy.host),
      images: [`${proxy.host}/acme/app`],
      username: "ci",
      password: double.cliSecret(PASSWORD),
    });
    indexDigest = pub.digest;
    expect(pub).toEqual({
      refs: RELEASE_TAGS.map((t) => `${proxy.host}/acme/app:${t}@${pub.digest}`),
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      tags: RELEASE_TAGS,
      images: [`${proxy.host}/acme/app`],
      platforms: ["linux/amd64", "linux/arm64"],
      platformDigests: [`linux/amd64=${amd64.manifestDigest}`, `linux/arm64=${arm64.manifestDigest}`],
      built: false,
      pushed: true,
      verified: true,
      commit: COMMIT,
      dirty: false,
    });
    const seen = seenSince(mark);
    // The children are there already: one manifest PUT per final tag, no blob upload, no child manifest PUT.
    expect(seen.filter((q) => q.method === "PUT").map((q) => q.path)).toEqual(
      expect.arrayContaining(RELEASE_TAGS.map((t) => `/v2/acme/app/manifests/${t}`)),
    );
    expect(seen.filter((q) => q.method === "PUT" || q.method === "POST" || q.method === "PATCH")).toHaveLength(
      RELEASE_TAGS.length,
    );
    for (const tag of RELEASE_TAGS) await expectIndex(`${htpasswd.host}/acme/app:${tag}`, pub.digest);
    // The children keep their digests: each staging tag and each digest still reads the runner's own bytes.
    for (const [c, tag] of [
      [amd64, `${SHA}-linux-amd64`],
      [arm64, `${SHA}-linux-arm64`],
    ] as const) {
      expect(await digestRead(`${htpasswd.host}/acme/app@${c.manifestDigest}`)).toBe(c.manifestDigest);
      expect(await digestRead(`${htpasswd.host}/acme/app:${tag}`)).toBe(c.manifestDigest);
    }
    expect(double.journal.filter((e) => e.field === "Secret.plaintext")).toHaveLength(1);
  });

  it("into another registry (token auth) and another repository: children brought first, the same index digest", async () => {
    const mark = proxy.requests.length;
    const pub = await merge(
      {
        from: fromOf(proxy.host),
        images: [`${token.host}/acme/app`, `${proxy.host}/acme/release`],
        ref: "refs/heads/main",
      },
      [proxy.host, token.host],
    );
    const tags = [SHA, "main"];
    // Same children in the same order: the same index bytes, so the same digest everywhere.
    expect(pub.digest).toBe(indexDigest);
    expect(pub.refs).toEqual([
      ...tags.map((t) => `${token.host}/acme/app:${t}@${indexDigest}`),
      ...tags.map((t) => `${proxy.host}/acme/release:${t}@${indexDigest}`),
    ]);
    expect(pub.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    // On the same registry every blob is mounted (201), none uploaded; each child is PUT by digest before a tag.
    const seen = seenSince(mark);
    const uploads = seen.filter((q) => q.path.includes("/acme/release/blobs/uploads"));
    expect(uploads.map((q) => /mount=([^&]+)/.exec(q.path)?.[1]).sort()).toEqual(
      children()
        .flatMap((c) => [c.configDigest, c.layerDigest])
        .sort(),
    );
    expect(uploads.every((q) => q.method === "POST" && q.outcome === 201)).toBe(true);
    const puts = seen.filter((q) => q.method === "PUT").map((q) => q.path.split("/manifests/")[1]);
    expect(puts.slice(0, 2).sort()).toEqual(
      children()
        .map((c) => c.manifestDigest)
        .sort(),
    );
    expect(puts.slice(2).sort()).toEqual([...tags].sort());
    for (const ref of pub.refs) await expectIndex(ref.split("@")[0]!, indexDigest);
    for (const host of [token.host, `${htpasswd.host}`])
      for (const c of children()) {
        const repo = host === token.host ? "acme/app" : "acme/release";
        expect(await digestRead(`${host}/${repo}@${c.manifestDigest}`)).toBe(c.manifestDigest);
      }
  });

  it("--annotations index:…: on the index beside the defaults (a given key wins), children unchanged", async () => {
    const description = "Acme web app, built natively";
    const mark = proxy.requests.length;
    const pub = await merge(
      {
        from: fromOf(proxy.host),
        images: [`${proxy.host}/acme/annotated`],
        ref: "refs/heads/main",
        annotations: [`index:${OCI}.description=${description}`, `index:${OCI}.version=1.2.3-native`],
      },
      [proxy.host],
    );
    const annotations = {
      ...DEFAULT_ANNOTATIONS,
      [`${OCI}.description`]: description,
      [`${OCI}.version`]: "1.2.3-native",
    };
    // Other annotations, other index bytes: another digest than the defaults' index.
    expect(pub.digest).not.toBe(indexDigest);
    expect(pub.platformDigests).toEqual([`linux/amd64=${amd64.manifestDigest}`, `linux/arm64=${arm64.manifestDigest}`]);
    for (const tag of [SHA, "main"])
      await expectIndex(`${htpasswd.host}/acme/annotated:${tag}`, pub.digest, annotations);
    // The children are brought by digest, their bytes untouched: no child manifest is annotated.
    for (const c of children()) {
      expect(await digestRead(`${htpasswd.host}/acme/annotated@${c.manifestDigest}`)).toBe(c.manifestDigest);
      const raw = JSON.parse((await rawRead(`${htpasswd.host}/acme/annotated@${c.manifestDigest}`)).toString("utf8"));
      expect(raw).not.toHaveProperty("annotations");
    }
    const puts = seenSince(mark).filter((q) => q.method === "PUT");
    expect(
      puts
        .filter((q) => q.path.includes("/manifests/sha256:"))
        .map((q) => q.path.split("/manifests/")[1])
        .sort(),
    ).toEqual(
      children()
        .map((c) => c.manifestDigest)
        .sort(),
    );
  });
});

describe("bad input makes no request; a bad child is refused after reading, before any write", () => {
  it.each([
    {
      rule: "an unpinned --from (a staging tag)",
      args: () => ({ from: [fromOf(proxy.host)[0]!, `${proxy.host}/acme/app:${SHA}-linux-arm64`] }),
      match:
        /^--from "127\.0\.0\.1:\d+\/acme\/app:[0-9a-f]{7}-linux-arm64": is not pinned by digest: a tag can move, so merge copies/,
      reads: false,
    },
    {
      rule: "no credential for a target host",
      args: () => ({ images: [`${proxy.host}/acme/app`, `${token.host}/acme/app`] }),
      match:
        /^--images "127\.0\.0\.1:\d+\/acme\/app": no credentials for 127\.0\.0\.1:\d+, where merge must push \(pass --username and --password, or with-registry-auth --address 127\.0\.0\.1:\d+\)/,
      reads: false,
    },
    {
      rule: "a manifest-level annotation (it would change the children's digests)",
      args: () => ({ annotations: [`${OCI}.description=Acme`] }),
      match: new RegExp(
        `^--annotations "${OCI}\\.description=Acme": has no level, so it is a manifest annotation: merge keeps each child's manifest as pushed, so that its digest holds, and annotates only the index it writes \\(try "index:${OCI}\\.description=Acme"\\)$`,
      ),
      reads: false,
    },
    {
      rule: "a child built from another commit",
      args: () => ({ from: [fromOf(proxy.host)[0]!, `${proxy.host}/acme/app@${arm64Other.manifestDigest}`] }),
      match: new RegExp(
        `^--from "127\\.0\\.0\\.1:\\d+/acme/app@sha256:[0-9a-f]{64}": was built from "${OTHER_COMMIT}" \\(its config's ${OCI}\\.revision\\), not ${COMMIT}, the commit merge tags \\(publish it with publish --staging from ${COMMIT}, or pass --commit=${OTHER_COMMIT} if that is the commit to release\\)$`,
      ),
      reads: true,
    },
    {
      rule: "a child without a revision label",
      args: () => ({ from: [`${proxy.host}/acme/app@${amd64Again.manifestDigest}`, fromOf(proxy.host)[1]!] }),
      match: new RegExp(
        `^--from "127\\.0\\.0\\.1:\\d+/acme/app@sha256:[0-9a-f]{64}": its config has no ${OCI}\\.revision label, so nothing says it was built from ${COMMIT}`,
      ),
      reads: true,
    },
    {
      rule: "an index as a child",
      args: () => ({ from: [`${proxy.host}/acme/app@${multi.indexDigest}`] }),
      match:
        /^--from "127\.0\.0\.1:\d+\/acme\/app@sha256:[0-9a-f]{64}": is an index \(a multi-platform image\), and merge takes one image per platform/,
      reads: true,
    },
    {
      rule: "two children of one platform",
      args: () => ({ from: [...fromOf(proxy.host), `${proxy.host}/acme/app@${amd64Again.manifestDigest}`] }),
      match:
        /": is linux\/amd64, as "127\.0\.0\.1:\d+\/acme\/app@sha256:[0-9a-f]{64}" is: an index holds one image per platform \(drop one\)$/,
      reads: true,
    },
  ])("$rule", async ({ args, match, reads }) => {
    const tokens = token.tokenServer!.requests.length;
    const mark = proxy.requests.length;
    const err = await merge(
      { from: fromOf(proxy.host), images: [`${proxy.host}/acme/refused`], ref: "refs/heads/main", ...args() },
      [proxy.host],
    ).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(match);
    const seen = seenSince(mark);
    if (reads) {
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((q) => q.method !== "GET" && q.method !== "HEAD")).toEqual([]);
      expect(seen.filter((q) => q.path.includes("/acme/refused/"))).toEqual([]);
    } else {
      expect(seen).toEqual([]);
      expect(double.journal.map((e) => e.field)).not.toContain("Secret.plaintext");
    }
    expect(token.tokenServer!.requests.length).toBe(tokens);
  });
});
