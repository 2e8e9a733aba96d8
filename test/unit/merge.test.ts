// Unit: merge's pure plan — --from as a list of images pinned by digest, --annotations at index level only, the
// staging tag a native runner's publish --staging pushes (and its refusals), the OCI index assembled from children
// as read (exact digest, size, media type, platform from the config, annotations from the labels they share) and the
// refusals of what was read (a child not built from the commit among them), all before any write.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import type { Annotation } from "../../src/input/annotations.js";
import {
  assembleIndex,
  parsePinnedImages,
  stagingTag,
  type MergeChild,
  type MergeIntent,
} from "../../src/merge/plan.js";
import { imageLabels, imagePlatform, type ImagePlatform, type ManifestNode } from "../../src/promote/copy.js";
import { parsePinnedImage } from "../../src/promote/plan.js";
import { MEDIA_TYPES } from "../../src/registry/index.js";
import { mergeRequest, publishRequest } from "../../src/request.js";
import { planIndexAnnotations } from "../../src/tags/annotations.js";
import { isValidTag } from "../../src/tags/slug.js";
import { expectRefusal, listParse, refusalOf } from "./refusal.js";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const D1 = `sha256:${"a1".repeat(32)}`;
const D2 = `sha256:${"b2".repeat(32)}`;
const COMMIT = "3f4e5d6c7b8a99a8b7c6d5e4f3a2b1c0d9e8f7a6";
const OTHER = "0123456789abcdef0123456789abcdef01234567";

describe("parsePinnedImages: --from is one image per platform, each pinned by digest, each once", () => {
  it("keeps each image in order", () => {
    expect(parsePinnedImages([`ghcr.io/acme/app:abc1234-linux-amd64@${D1}`, `ghcr.io/acme/app@${D2}`])).toEqual([
      expect.objectContaining({ name: "ghcr.io/acme/app", digest: D1 }),
      expect.objectContaining({ name: "ghcr.io/acme/app", digest: D2 }),
    ]);
  });
  it.each([
    { rule: "none", from: [], error: /^--from "": give at least one image \(pass each platform's image by the digest/ },
    {
      rule: "a staging tag, not pinned",
      from: [`ghcr.io/acme/app@${D1}`, "ghcr.io/acme/app:abc1234-linux-arm64"],
      error:
        /^--from "ghcr\.io\/acme\/app:abc1234-linux-arm64": is not pinned by digest: a tag can move, so merge copies/,
    },
    {
      rule: "one image twice (a tag before the digest is ignored)",
      from: [`ghcr.io/acme/app@${D1}`, `ghcr.io/acme/app:x@${D1}`],
      error: /^--from "ghcr\.io\/acme\/app:x@sha256:(?:a1){32}": is given twice \(give each platform's image once\)$/,
    },
  ])("refuses $rule", ({ from, error }) => {
    const run = () => parsePinnedImages(from);
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(error);
  });
});

describe("stagingTag: the sha tag, then the platform, a valid tag that no tag rule gives", () => {
  it.each([
    ["abc1234", "linux/amd64", "abc1234-linux-amd64"],
    ["abc1234", "linux/arm64", "abc1234-linux-arm64"],
    ["abc1234", "linux/arm/v7", "abc1234-linux-arm-v7"],
    [COMMIT, "windows/amd64", `${COMMIT}-windows-amd64`],
  ])("%s + %s → %s", (sha, platform, tag) => {
    expect(stagingTag(sha, platform)).toBe(tag);
    expect(isValidTag(tag)).toBe(true);
  });
});

describe("publishRequest --staging: one platform, no final tags, checked before any engine call", () => {
  const ok = { images: ["ghcr.io/acme/app"], platforms: ["linux/arm64"], staging: true };
  it("keeps the one platform", () => {
    expect(publishRequest<string>(ok)).toMatchObject({ staging: true, platforms: ["linux/arm64"], userTags: [] });
    expect(publishRequest<string>({ images: ok.images })).toMatchObject({ staging: false });
  });
  it.each([
    {
      rule: "no --platforms (the engine's own is known only after an engine call)",
      args: { ...ok, platforms: [] },
      error:
        /^--staging: needs exactly one --platforms, the runner's own \(e\.g\. --platforms=linux\/arm64; given: none\)/,
    },
    {
      rule: "two platforms",
      args: { ...ok, platforms: ["linux/amd64", "linux/arm64"] },
      error: /given: linux\/amd64,linux\/arm64\), since its tag names the platform$/,
    },
    {
      rule: "final tags",
      args: { ...ok, tags: ["edge"] },
      error: /^--tags "edge": --staging pushes only the staging tag \(pass --tags to merge/,
    },
    {
      rule: "--latest=always",
      args: { ...ok, latest: "always" },
      error: /^--latest "always": --staging pushes only the staging tag \(pass --latest to merge/,
    },
  ])("refuses $rule", ({ args, error }) => {
    const run = () => publishRequest<string>(args);
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(error);
  });
});

describe("mergeRequest: every argument checked, --from first", () => {
  const ok = { from: [`ghcr.io/acme/app@${D1}`, `ghcr.io/acme/app@${D2}`], images: ["ghcr.io/acme/app"] };
  it.each([
    { rule: "no --from", args: { ...ok, from: [] }, error: /^--from "": give at least one image/ },
    { rule: "no target", args: { ...ok, images: [] }, error: /^--images "": give at least one image name/ },
    { rule: "a bad tag", args: { ...ok, tags: ["v 1"] }, error: /^--tags "v 1": holds whitespace/ },
    { rule: "a password alone", args: { ...ok, password: "pw" }, error: /^--password: also pass --username/ },
  ])("refuses $rule", ({ args, error }) => {
    const run = () => mergeRequest<string>(args);
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(error);
  });
  it("keeps the children, the images and the tag arguments", () => {
    expect(mergeRequest<string>({ ...ok, commit: COMMIT, tags: ["stable"] })).toMatchObject({
      from: [{ digest: D1 }, { digest: D2 }],
      images: [{ name: "ghcr.io/acme/app" }],
      commit: COMMIT,
      userTags: ["stable"],
      annotations: [],
    });
  });
});

describe("mergeRequest --annotations: publish's grammar, index level only (a child's manifest keeps its digest)", () => {
  const ok = { from: [`ghcr.io/acme/app@${D1}`], images: ["ghcr.io/acme/app"] };
  const parse = listParse((annotations) => mergeRequest<string>({ ...ok, annotations }));
  it("keeps index-level annotations", () => {
    expect(mergeRequest<string>({ ...ok, annotations: [`index:${OCI}.description=Acme web app`] })).toMatchObject({
      annotations: [{ level: "index", name: `${OCI}.description`, value: "Acme web app" }],
    });
  });
  it.each([
    {
      input: "com.example.team=core",
      why: /^has no level, so it is a manifest annotation: merge keeps each child's manifest as pushed/,
      fix: "index:com.example.team=core",
    },
    {
      input: `manifest:${OCI}.description=Acme`,
      why: /^is a manifest annotation: merge keeps each child's manifest as pushed, so that its digest holds, and annotates only the index it writes$/,
      fix: `index:${OCI}.description=Acme`,
    },
    // publish's own fix (manifest:) is refused here in turn, so the fix offered is merge's.
    { input: "manifest-descriptor:team=core", why: /on its descriptor in the index alike/, fix: "index:team=core" },
    { input: "Team=core", why: /has no level, so it is a manifest annotation/, fix: "index:team=core" },
    { input: "index:Team=core", why: /"Team" is not an annotation key/, fix: "index:team=core" },
    { input: `index:${OCI}.revision=abc`, why: /set by dockyard/, fix: undefined },
  ])("refuses $input before any request", (row) => {
    expectRefusal(
      refusalOf(() => mergeRequest<string>({ ...ok, annotations: [row.input] })),
      "--annotations",
      row,
      parse,
    );
  });
});

describe("imagePlatform: an image config's platform fields, as an index descriptor names them", () => {
  it.each([
    { config: { os: "linux", architecture: "amd64" }, platform: { os: "linux", architecture: "amd64" } },
    {
      config: { os: "linux", architecture: "arm", variant: "v7", config: {} },
      platform: { os: "linux", architecture: "arm", variant: "v7" },
    },
    {
      config: { os: "windows", architecture: "amd64", "os.version": "10.0.20348.2582", "os.features": ["win32k"] },
      platform: { os: "windows", architecture: "amd64", "os.version": "10.0.20348.2582", "os.features": ["win32k"] },
    },
    { config: { os: "linux", architecture: "", variant: "v8" }, platform: undefined },
    { config: { architecture: "amd64" }, platform: undefined },
    {
      config: { os: "linux", architecture: "amd64", variant: 8, "os.features": [1] },
      platform: { os: "linux", architecture: "amd64" },
    },
  ])("$config", ({ config, platform }) => {
    expect(imagePlatform(config)).toEqual(platform);
  });
});

const OCI = "org.opencontainers.image";
/** The labels dockyard's publish --staging sets for COMMIT. */
const LABELS = {
  [`${OCI}.revision`]: COMMIT,
  [`${OCI}.version`]: "1.2.3",
  [`${OCI}.source`]: "https://github.com/acme/app",
};
const INTENT: MergeIntent = { commit: COMMIT, annotations: [] };

/** A child as readSource returns it: an image manifest's node, its config's platform and labels. */
function child(
  digestOf: string,
  platform: ImagePlatform | undefined,
  over: Partial<ManifestNode> = {},
  // null: a config without labels (undefined would take the default).
  labels: Record<string, string> | null = LABELS,
): MergeChild {
  const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, for: digestOf }));
  const root: ManifestNode = {
    digest: sha256(bytes),
    mediaType: MEDIA_TYPES.ociManifest,
    bytes,
    children: [],
    blobs: [],
    ...over,
  };
  const name = platform ? [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/") : "";
  return {
    from: parsePinnedImage(`ghcr.io/acme/app@${root.digest}`),
    source: {
      root,
      platforms: name ? [name] : [],
      platformDigests: name ? [`${name}=${root.digest}`] : [],
      ...(platform ? { platform } : {}),
      ...(labels ? { labels } : {}),
    },
  };
}

describe("assembleIndex: one OCI index naming each child exactly, platforms from the configs", () => {
  const amd64 = child("amd64", { os: "linux", architecture: "amd64" });
  const arm64 = child("arm64", { os: "linux", architecture: "arm64" }, { mediaType: MEDIA_TYPES.dockerManifest });
  const armv7 = child("armv7", { os: "linux", architecture: "arm", variant: "v7" });

  it("names each child by its exact digest, size and media type, in --from's order; the digest is the bytes'", () => {
    const index = assembleIndex([amd64, arm64, armv7], INTENT);
    const json = JSON.parse(new TextDecoder().decode(index.bytes)) as Record<string, unknown>;
    expect(json).toEqual({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [amd64, arm64, armv7].map((c) => ({
        mediaType: c.source.root.mediaType,
        digest: c.source.root.digest,
        size: c.source.root.bytes.length,
        platform: c.source.platform,
      })),
      // The children's shared OCI labels, sorted by key.
      annotations: {
        [`${OCI}.revision`]: COMMIT,
        [`${OCI}.source`]: "https://github.com/acme/app",
        [`${OCI}.version`]: "1.2.3",
      },
    });
    expect(index).toMatchObject({
      digest: sha256(index.bytes),
      mediaType: MEDIA_TYPES.ociIndex,
      platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"],
    });
  });

  it("is the same bytes for the same children and annotations: a rerun gives the same digest", () => {
    const digest = (children: MergeChild[], annotations: readonly Annotation[] = []) =>
      assembleIndex(children, { commit: COMMIT, annotations }).digest;
    const a = { level: "index" as const, name: `${OCI}.description`, value: "Acme" };
    const b = { level: "index" as const, name: "com.example.team", value: "core" };
    expect(digest([amd64, arm64])).toBe(digest([amd64, arm64]));
    expect(digest([arm64, amd64])).not.toBe(digest([amd64, arm64]));
    expect(digest([amd64, arm64], [a])).not.toBe(digest([amd64, arm64]));
    // Sorted by key: the order the annotations are given in does not change the bytes.
    expect(digest([amd64, arm64], [a, b])).toBe(digest([amd64, arm64], [b, a]));
  });

  const indexChild = child("index", undefined, {
    mediaType: MEDIA_TYPES.ociIndex,
    children: [amd64.source.root],
  });
  const dockerList = child("list", undefined, { mediaType: MEDIA_TYPES.dockerList });
  const noPlatform = child("none", undefined);
  const arm64v8 = child("arm64v8", { os: "linux", architecture: "arm64", variant: "v8" });
  it.each([
    { rule: "an OCI index as a child", children: [amd64, indexChild], why: /is an index \(a multi-platform image\)/ },
    { rule: "a Docker manifest list as a child", children: [dockerList], why: /is an index/ },
    { rule: "a config without os/architecture", children: [amd64, noPlatform], why: /names no os and architecture/ },
    {
      rule: "two children of one platform",
      children: [amd64, arm64, child("amd64 again", { os: "linux", architecture: "amd64" })],
      why: /is linux\/amd64, as "ghcr\.io\/acme\/app@sha256:[0-9a-f]{64}" is: an index holds one image per platform \(drop one\)$/,
    },
    {
      rule: "linux/arm64 and linux/arm64/v8: one platform",
      children: [arm64, arm64v8],
      why: /is linux\/arm64\/v8, as .* is: an index holds one image per platform/,
    },
    {
      rule: "a child built from another commit",
      children: [
        amd64,
        child("other", { os: "linux", architecture: "arm64" }, {}, { ...LABELS, [`${OCI}.revision`]: OTHER }),
      ],
      why: new RegExp(
        `was built from "${OTHER}" \\(its config's ${OCI}\\.revision\\), not ${COMMIT}, the commit merge tags \\(publish it with publish --staging from ${COMMIT}, or pass --commit=${OTHER} if that is the commit to release\\)$`,
      ),
    },
    {
      rule: "a child whose revision is no commit id (no --commit to offer)",
      children: [child("main", { os: "linux", architecture: "amd64" }, {}, { [`${OCI}.revision`]: "main" })],
      why: /was built from "main" .*\(publish it with publish --staging from [0-9a-f]{40}\)$/,
    },
    {
      rule: "a child without a revision label",
      children: [
        amd64,
        child("unlabelled", { os: "linux", architecture: "arm64" }, {}, { [`${OCI}.version`]: "1.2.3" }),
      ],
      why: new RegExp(
        `its config has no ${OCI}\\.revision label, so nothing says it was built from ${COMMIT}, the commit merge tags \\(publish it with publish --staging from ${COMMIT}, which sets the label\\)$`,
      ),
    },
    {
      rule: "a child without labels",
      children: [child("bare", { os: "linux", architecture: "amd64" }, {}, null)],
      why: /its config has no org\.opencontainers\.image\.revision label/,
    },
  ])("refuses $rule, naming the child", ({ children, why }) => {
    const run = () => assembleIndex(children, INTENT);
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(/^--from "ghcr\.io\/acme\/app@sha256:[0-9a-f]{64}": /);
    expect(run).toThrow(why);
  });
});

describe("imageLabels: an image config's labels, string values only", () => {
  it.each([
    { config: { config: { Labels: { a: "1", b: 2 } } }, labels: { a: "1" } },
    { config: { config: { Labels: {} } }, labels: undefined },
    { config: { config: { Labels: null } }, labels: undefined },
    { config: { config: {} }, labels: undefined },
    { config: { os: "linux" }, labels: undefined },
  ])("$config", ({ config, labels }) => {
    expect(imageLabels(config)).toEqual(labels);
  });
});

describe("planIndexAnnotations: the OCI labels every child shares, then --annotations, sorted by key", () => {
  const rev = { [`${OCI}.revision`]: COMMIT };
  const index = (name: string, value: string): Annotation => ({ level: "index", name, value });
  it.each([
    {
      name: "every OCI label the children share, nothing else",
      labels: [
        { ...LABELS, "com.example.team": "core", [`${OCI}.created`]: "2026-01-01T00:00:00Z" },
        { ...LABELS, "com.example.team": "core", [`${OCI}.created`]: "2026-01-02T00:00:00Z" },
      ],
      given: [],
      want: [
        { name: `${OCI}.revision`, value: COMMIT },
        { name: `${OCI}.source`, value: "https://github.com/acme/app" },
        { name: `${OCI}.version`, value: "1.2.3" },
      ],
    },
    {
      name: "a label one child lacks is not shared",
      labels: [{ ...rev, [`${OCI}.title`]: "app" }, rev],
      given: [],
      want: [{ name: `${OCI}.revision`, value: COMMIT }],
    },
    { name: "a child without labels shares none", labels: [LABELS, undefined], given: [], want: [] },
    {
      name: "a given annotation overrides a default of the same key and adds its own",
      labels: [
        { ...rev, [`${OCI}.title`]: "app" },
        { ...rev, [`${OCI}.title`]: "app" },
      ],
      given: [index(`${OCI}.title`, "Acme app"), index(`${OCI}.description`, "Acme web app")],
      want: [
        { name: `${OCI}.description`, value: "Acme web app" },
        { name: `${OCI}.revision`, value: COMMIT },
        { name: `${OCI}.title`, value: "Acme app" },
      ],
    },
    {
      name: "one child: its own OCI labels",
      labels: [{ ...rev, "com.example.team": "core" }],
      given: [index("com.example.team", "web")],
      want: [
        { name: "com.example.team", value: "web" },
        { name: `${OCI}.revision`, value: COMMIT },
      ],
    },
  ])("$name", ({ labels, given, want }) => {
    expect(planIndexAnnotations(labels, given)).toEqual(want);
  });

  it("goes into the index merge assembles", () => {
    const amd64 = child("amd64", { os: "linux", architecture: "amd64" });
    const arm64 = child("arm64", { os: "linux", architecture: "arm64" });
    const given = [index(`${OCI}.version`, "1.2.3-acme")];
    const assembled = assembleIndex([amd64, arm64], { commit: COMMIT, annotations: given });
    const json = JSON.parse(new TextDecoder().decode(assembled.bytes)) as { annotations: unknown };
    expect(json.annotations).toEqual({ ...LABELS, [`${OCI}.version`]: "1.2.3-acme" });
    expect(assembled.annotations).toEqual(planIndexAnnotations([LABELS, LABELS], given));
  });
});
