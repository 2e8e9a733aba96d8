/**
 * verify's judgement, pure: what a pushed manifest names (an index's platform images, or one image's config), the
 * revision label of a config, and for every pushed ref whether what its registry holds is what was pushed (the tag
 * names the pushed digest; each platform's config carries the commit as its revision), then one honest report.
 */
import { isIndexType, platformOf } from "../promote/copy.js";

export const REVISION_LABEL = "org.opencontainers.image.revision";

/** What a manifest names: an index's children (attestations flagged), or an image's config. */
export type ManifestShape =
  | { kind: "index"; children: { digest: string; platform?: string; attestation: boolean }[] }
  | { kind: "image"; config: string }
  | { kind: "other"; why: string };

interface DescriptorJson {
  digest?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

/** A manifest's bytes as a JSON object; undefined when they are not one. */
export function manifestJson(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The shape of a manifest's bytes (`mediaType`: its own field or the registry's Content-Type). */
export function manifestShape(bytes: Uint8Array, mediaType: string): ManifestShape {
  return shapeOfJson(manifestJson(bytes), mediaType);
}

/** manifestShape of bytes already parsed by manifestJson, for a caller that reads the JSON too. */
export function shapeOfJson(json: Record<string, unknown> | undefined, mediaType: string): ManifestShape {
  if (!json) return { kind: "other", why: "is not a JSON object" };
  if (isIndexType(mediaType) || Array.isArray(json.manifests)) {
    const list = Array.isArray(json.manifests) ? (json.manifests as DescriptorJson[]) : [];
    const children = list.flatMap((d) => {
      if (typeof d?.digest !== "string") return [];
      const platform = platformOf(d.platform);
      const attestation = d.platform?.os === "unknown" && d.platform.architecture === "unknown";
      return [{ digest: d.digest, ...(platform !== undefined ? { platform } : {}), attestation }];
    });
    return { kind: "index", children };
  }
  const config = json.config as DescriptorJson | undefined;
  if (typeof config?.digest === "string") return { kind: "image", config: config.digest };
  return { kind: "other", why: "names neither platform images nor a config" };
}

/** An image config's `org.opencontainers.image.revision` label; undefined when it has none. */
export function revisionOf(config: Record<string, unknown>): string | undefined {
  const inner = config.config as { Labels?: unknown } | undefined;
  const labels = inner?.Labels;
  if (typeof labels !== "object" || labels === null) return undefined;
  const value = (labels as Record<string, unknown>)[REVISION_LABEL];
  return typeof value === "string" ? value : undefined;
}

/** One platform image of a pushed manifest, as read back by digest. */
export interface PlatformImage {
  /** `os/arch[/variant]` from the index or the config; "" when neither names one. */
  platform: string;
  /** The platform image's manifest digest (the pushed digest itself for a single-platform image). */
  digest: string;
  /** Its config's revision label; undefined when the config has none. */
  revision: string | undefined;
}

/** What verify read for one pushed ref: what the tag names and the pushed digest's platform images. */
export type Readback =
  { read: true; tagDigest: string | undefined; images: PlatformImage[] } | { read: false; reason: string };

export interface PushedRef {
  /** `host/repo:tag`. */
  ref: string;
  /** The digest the push returned for it. */
  digest: string;
}

export type ProblemKind = "tag" | "content" | "revision";

export type Verdict =
  | { ref: string; digest: string; state: "verified" }
  | { ref: string; digest: string; state: "mismatch"; problems: { kind: ProblemKind; text: string }[] }
  | { ref: string; digest: string; state: "unread"; reason: string };

/** `os/arch=sha256:…`, the Publication's platformDigests entry. */
export const platformDigest = (image: Pick<PlatformImage, "platform" | "digest">) =>
  `${image.platform || "unknown platform"}=${image.digest}`;

/** Whether what the registry holds for `pushed` is what was pushed, each difference said plainly. */
export function judge(pushed: PushedRef, readback: Readback, commit: string): Verdict {
  const { ref, digest } = pushed;
  if (!readback.read)
    // A body that does not hash to its digest was read: the registry serves other content, which is a mismatch.
    return /digest mismatch/.test(readback.reason)
      ? { ref, digest, state: "mismatch", problems: [{ kind: "content", text: readback.reason }] }
      : { ref, digest, state: "unread", reason: readback.reason };
  const problems: { kind: ProblemKind; text: string }[] = [];
  if (readback.tagDigest === undefined)
    problems.push({ kind: "tag", text: `the registry has no such tag now (the push put it at ${digest})` });
  else if (readback.tagDigest !== digest)
    problems.push({
      kind: "tag",
      text: `the tag names ${readback.tagDigest} in the registry, but the push put it at ${digest}`,
    });
  if (readback.images.length === 0)
    problems.push({ kind: "revision", text: `${digest} names no platform image, so no revision could be checked` });
  for (const image of readback.images) {
    if (image.revision === commit) continue;
    const where = `${image.platform || "an image without a platform"} (${image.digest})`;
    problems.push({
      kind: "revision",
      text:
        image.revision === undefined
          ? `${where}: its config has no ${REVISION_LABEL} label, expected ${commit}`
          : `${where}: its config's ${REVISION_LABEL} is "${image.revision}", expected ${commit}`,
    });
  }
  return problems.length === 0 ? { ref, digest, state: "verified" } : { ref, digest, state: "mismatch", problems };
}

const FIX: Record<ProblemKind | "unread", (what: string, flag: string) => string> = {
  tag: (what) =>
    `a tag that names another digest was moved after this push (another ${what} of the same image, or a registry or proxy that rewrites manifests): run publishes of one image in one concurrency group and run again; promote --from <image>@<the pushed digest> puts the pushed image back under its tags without a rebuild`,
  content: () =>
    `the registry (or a proxy in front of it) serves other bytes than their digest names: do not use these refs; check the registry, then run again`,
  revision: () =>
    `an image whose config lacks the commit is not the image this run labelled: do not use the pushed digest; run again, and report it as a dockyard bug if it repeats`,
  unread: (_, flag) =>
    `verify reads from the module's container, where localhost is that container and the engine's registry mirrors and insecure hosts do not apply: fix the cause given, or pass ${flag} to skip the read-back (the pushes themselves were confirmed by the engine)`,
};

/**
 * The report when any verdict is not "verified": how many refs failed, each ref's verdict (the pushed digest, what
 * the registry holds or why it could not be read), then one fix per kind of failure. `what` names the function.
 */
export function verifyReport(what: string, verdicts: readonly Verdict[], flag = "--verify=false"): string {
  const failed = verdicts.filter((v) => v.state !== "verified");
  const lines = verdicts.flatMap((v) => {
    if (v.state === "verified") return [`  verified: ${v.ref}@${v.digest}`];
    if (v.state === "unread") return [`  unread: ${v.ref} (pushed ${v.digest}): ${v.reason}`];
    return [`  mismatch: ${v.ref} (pushed ${v.digest}):`, ...v.problems.map((p) => `    ${p.text}`)];
  });
  const kinds = new Set(
    failed.flatMap((v) => (v.state === "mismatch" ? v.problems.map((p) => p.kind) : ["unread" as const])),
  );
  const fixes = (["tag", "content", "revision", "unread"] as const)
    .filter((k) => kinds.has(k))
    .map((k) => FIX[k](what, flag));
  return [
    `${what} pushed every ref, but ${failed.length} of ${verdicts.length} did not read back as pushed, so nothing is verified`,
    ...lines,
    ...fixes.map((f) => `fix: ${f}`),
  ].join("\n");
}
