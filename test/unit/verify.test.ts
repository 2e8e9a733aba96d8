// Unit: verify's judgement (src/verify/check.ts): what a manifest names, a config's revision label, each pushed
// ref judged against what its registry holds, and the report a mismatch fails with.
import { describe, expect, it } from "vitest";

import { MEDIA_TYPES } from "../../src/registry/manifests.js";
import {
  judge,
  manifestShape,
  platformDigest,
  revisionOf,
  verifyReport,
  type PlatformImage,
  type Readback,
  type Verdict,
} from "../../src/verify/check.js";

const COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
const OTHER = "9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5";
const d = (n: string) => `sha256:${n.repeat(64 / n.length)}`;
const PUSHED = d("a1");
const REF = "ghcr.io/acme/app:main";
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("manifestShape: what a pushed manifest names", () => {
  it.each([
    {
      what: "an OCI index: each child with its platform, attestations flagged",
      body: {
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { digest: d("01"), platform: { os: "linux", architecture: "amd64" } },
          { digest: d("02"), platform: { os: "linux", architecture: "arm", variant: "v7" } },
          { digest: d("03"), platform: { os: "unknown", architecture: "unknown" } },
          { digest: d("04") },
        ],
      },
      mediaType: MEDIA_TYPES.ociIndex,
      want: {
        kind: "index",
        children: [
          { digest: d("01"), platform: "linux/amd64", attestation: false },
          { digest: d("02"), platform: "linux/arm/v7", attestation: false },
          { digest: d("03"), attestation: true },
          { digest: d("04"), attestation: false },
        ],
      },
    },
    {
      what: "a Docker list known by its media type only",
      body: { manifests: [] },
      mediaType: MEDIA_TYPES.dockerList,
      want: { kind: "index", children: [] },
    },
    {
      what: "an image manifest: its config",
      body: { mediaType: MEDIA_TYPES.ociManifest, config: { digest: d("c0") }, layers: [] },
      mediaType: MEDIA_TYPES.ociManifest,
      want: { kind: "image", config: d("c0") },
    },
    {
      what: "neither",
      body: { schemaVersion: 2 },
      mediaType: "",
      want: { kind: "other", why: "names neither platform images nor a config" },
    },
    { what: "not an object", body: [1, 2], mediaType: "", want: { kind: "other", why: "is not a JSON object" } },
  ])("$what", ({ body, mediaType, want }) => {
    expect(manifestShape(bytes(body), mediaType)).toEqual(want);
  });

  it("bytes that are not JSON are 'other'", () => {
    expect(manifestShape(new TextEncoder().encode("{not json"), "")).toEqual({
      kind: "other",
      why: "is not a JSON object",
    });
  });
});

describe("revisionOf: a config's org.opencontainers.image.revision", () => {
  it.each([
    {
      what: "the label",
      config: { config: { Labels: { "org.opencontainers.image.revision": COMMIT } } },
      want: COMMIT,
    },
    { what: "other labels only", config: { config: { Labels: { "org.opencontainers.image.version": "1" } } } },
    { what: "null labels (Docker writes null for none)", config: { config: { Labels: null } } },
    { what: "no config section", config: { architecture: "amd64" } },
    { what: "a label that is not text", config: { config: { Labels: { "org.opencontainers.image.revision": 7 } } } },
  ])("$what", ({ config, want }) => {
    expect(revisionOf(config)).toBe(want);
  });
});

const image = (platform: string, digest: string, revision: string | undefined = COMMIT): PlatformImage => ({
  platform,
  digest,
  revision,
});
const read = (tagDigest: string | undefined, images: PlatformImage[]): Readback => ({ read: true, tagDigest, images });

describe("judge: one pushed ref against what its registry holds", () => {
  it.each<{ rule: string; readback: Readback; want: Verdict }>([
    {
      rule: "the tag names the pushed digest and every platform carries the commit: verified",
      readback: read(PUSHED, [image("linux/amd64", d("01")), image("linux/arm64", d("02"))]),
      want: { ref: REF, digest: PUSHED, state: "verified" },
    },
    {
      rule: "the tag was moved to another digest",
      readback: read(d("b2"), [image("linux/amd64", d("01"))]),
      want: {
        ref: REF,
        digest: PUSHED,
        state: "mismatch",
        problems: [{ kind: "tag", text: `the tag names ${d("b2")} in the registry, but the push put it at ${PUSHED}` }],
      },
    },
    {
      rule: "the tag is gone",
      readback: read(undefined, [image("linux/amd64", d("01"))]),
      want: {
        ref: REF,
        digest: PUSHED,
        state: "mismatch",
        problems: [{ kind: "tag", text: `the registry has no such tag now (the push put it at ${PUSHED})` }],
      },
    },
    {
      rule: "one platform built from another commit, one without the label, each named",
      readback: read(PUSHED, [
        image("linux/amd64", d("01")),
        image("linux/arm64", d("02"), OTHER),
        { platform: "", digest: d("03"), revision: undefined },
      ]),
      want: {
        ref: REF,
        digest: PUSHED,
        state: "mismatch",
        problems: [
          {
            kind: "revision",
            text: `linux/arm64 (${d("02")}): its config's org.opencontainers.image.revision is "${OTHER}", expected ${COMMIT}`,
          },
          {
            kind: "revision",
            text: `an image without a platform (${d("03")}): its config has no org.opencontainers.image.revision label, expected ${COMMIT}`,
          },
        ],
      },
    },
    {
      rule: "an index with no platform image proves nothing",
      readback: read(PUSHED, []),
      want: {
        ref: REF,
        digest: PUSHED,
        state: "mismatch",
        problems: [{ kind: "revision", text: `${PUSHED} names no platform image, so no revision could be checked` }],
      },
    },
    {
      rule: "a body that does not hash to its digest: a content mismatch, the client's text kept",
      readback: { read: false, reason: `GET manifest acme/app:${PUSHED} on ghcr.io: digest mismatch: …` },
      want: {
        ref: REF,
        digest: PUSHED,
        state: "mismatch",
        problems: [{ kind: "content", text: `GET manifest acme/app:${PUSHED} on ghcr.io: digest mismatch: …` }],
      },
    },
    {
      rule: "not read: the reason is kept",
      readback: { read: false, reason: "GET manifest acme/app:main on ghcr.io: 401 (check the token)" },
      want: {
        ref: REF,
        digest: PUSHED,
        state: "unread",
        reason: "GET manifest acme/app:main on ghcr.io: 401 (check the token)",
      },
    },
  ])("$rule", ({ readback, want }) => {
    expect(judge({ ref: REF, digest: PUSHED }, readback, COMMIT)).toEqual(want);
  });
});

describe("verifyReport: every ref, what the registry holds, and the fix", () => {
  const ok: Verdict = { ref: "ghcr.io/acme/app:1a2b3c4", digest: PUSHED, state: "verified" };
  const moved = judge({ ref: REF, digest: PUSHED }, read(d("b2"), [image("linux/amd64", d("01"))]), COMMIT);
  const wrongRevision = judge(
    { ref: "ghcr.io/acme/app:edge", digest: PUSHED },
    read(PUSHED, [image("linux/arm64", d("02"), OTHER)]),
    COMMIT,
  );
  const unread: Verdict = { ref: "ghcr.io/acme/app:x", digest: PUSHED, state: "unread", reason: "connection refused" };

  it.each([
    {
      what: "a moved tag",
      verdicts: [ok, moved],
      has: [
        "publish pushed every ref, but 1 of 2 did not read back as pushed, so nothing is verified",
        `  verified: ghcr.io/acme/app:1a2b3c4@${PUSHED}`,
        `  mismatch: ${REF} (pushed ${PUSHED}):`,
        `    the tag names ${d("b2")} in the registry`,
        "fix: a tag that names another digest was moved after this push",
        "promote --from <image>@<the pushed digest>",
      ],
      hasNot: ["--verify=false", "dockyard bug"],
    },
    {
      what: "a registry serving other bytes",
      verdicts: [judge({ ref: REF, digest: PUSHED }, { read: false, reason: "digest mismatch: x" }, COMMIT)],
      has: [
        "1 of 1 did not read back",
        `  mismatch: ${REF} (pushed ${PUSHED}):\n    digest mismatch: x`,
        "fix: the registry (or a proxy in front of it) serves other bytes than their digest names",
      ],
      hasNot: ["--verify=false", "concurrency group"],
    },
    {
      what: "a wrong revision and an unread ref",
      verdicts: [wrongRevision, unread],
      has: [
        "2 of 2 did not read back",
        `    linux/arm64 (${d("02")}): its config's org.opencontainers.image.revision is "${OTHER}"`,
        `  unread: ghcr.io/acme/app:x (pushed ${PUSHED}): connection refused`,
        "report it as a dockyard bug if it repeats",
        "localhost is that container",
        "pass --verify=false to skip the read-back",
      ],
      hasNot: ["concurrency group"],
    },
  ])("$what", ({ verdicts, has, hasNot }) => {
    const text = verifyReport("publish", verdicts);
    for (const s of has) expect(text).toContain(s);
    for (const s of hasNot) expect(text).not.toContain(s);
  });
});

describe("platformDigest: the Publication's entry", () => {
  it.each([
    { image: image("linux/arm/v7", d("02")), want: `linux/arm/v7=${d("02")}` },
    { image: image("", d("03")), want: `unknown platform=${d("03")}` },
  ])("$want", ({ image, want }) => {
    expect(platformDigest(image)).toBe(want);
  });
});
