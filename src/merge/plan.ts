/**
 * merge's plan, pure: the per-platform images pinned by digest (`--from`, promote's grammar, each once), the
 * staging tag a native runner's publish pushes instead of the tag rules' tags, and the OCI index assembled from the
 * children as read (each child's exact digest, size and media type, its platform from its config, the index's
 * annotations from their shared OCI labels and --annotations). Every refusal of what was read happens here, before
 * any write.
 */
import { InvalidInputError } from "../errors/index.js";
import type { Annotation, LevelRestriction } from "../input/annotations.js";
import type { KeyValue } from "../input/keyvalue.js";
import { canonicalPlatform } from "../input/platform.js";
import { digestOf } from "../registry/digest.js";
import { MEDIA_TYPES } from "../registry/manifests.js";
import { planIndexAnnotations } from "../tags/annotations.js";
import { fitTagLength } from "../tags/slug.js";
import { REVISION_LABEL } from "../verify/check.js";
import { isIndexType, platformOf, type ImagePlatform, type SourceImage } from "../promote/copy.js";
import { parsePinnedImage, type PinnedImage } from "../promote/plan.js";

const FIX = "pass each platform's image by the digest its runner's publish --staging reported";

/** `--from`: at least one image, each pinned by digest and given once. */
export function parsePinnedImages(values: readonly string[], flag = "--from"): PinnedImage[] {
  if (values.length === 0) throw new InvalidInputError(`${flag} "": give at least one image (${FIX})`);
  const images = values.map((v) => parsePinnedImage(v, flag, "merge"));
  const at = images.findIndex((x, i) => images.findIndex((y) => y.name === x.name && y.digest === x.digest) !== i);
  if (at >= 0) throw new InvalidInputError(`${flag} "${values[at]}": is given twice (give each platform's image once)`);
  return images;
}

/** merge's `--annotations`: the index's only, since a child's manifest (and so its digest) is kept as pushed. */
export const MERGE_ANNOTATION_LEVEL: LevelRestriction = {
  level: "index",
  why: "merge keeps each child's manifest as pushed, so that its digest holds, and annotates only the index it writes",
};

/** A native runner's staging tag: the sha tag, then the platform with `/` as `-` (`abc1234-linux-arm-v7`). */
export function stagingTag(shaTag: string, platform: string): string {
  return fitTagLength(`${shaTag}-${platform.replace(/\//g, "-")}`, `${shaTag}-${platform}`);
}

export interface MergeChild {
  from: PinnedImage;
  source: SourceImage;
}

export interface AssembledIndex {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** Each child's `os/arch[/variant]`, in `--from`'s order. */
  platforms: string[];
  /** The index's own annotations, sorted by key. */
  annotations: KeyValue[];
}

/** What the index is assembled for: the commit every child must be built from, and --annotations as given. */
export interface MergeIntent {
  commit: string;
  annotations: readonly Annotation[];
}

const pinned = (from: PinnedImage) => `${from.name}@${from.digest}`;

/**
 * Refuses a child not built from `commit`: its config's revision label (dockyard's, from the commit it was built
 * from; verify checks the same label) must be the commit merge tags.
 */
function requireRevision({ from, source }: MergeChild, commit: string): void {
  const revision = source.labels?.[REVISION_LABEL];
  if (revision === commit) return;
  const staging = `publish it with publish --staging from ${commit}`;
  if (revision === undefined)
    throw new InvalidInputError(
      `--from "${pinned(from)}": its config has no ${REVISION_LABEL} label, so nothing says it was built from ${commit}, the commit merge tags (${staging}, which sets the label)`,
    );
  // Offered as --commit only when the label is a commit id that flag takes.
  const other = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(revision)
    ? `, or pass --commit=${revision} if that is the commit to release`
    : "";
  throw new InvalidInputError(
    `--from "${pinned(from)}": was built from ${JSON.stringify(revision)} (its config's ${REVISION_LABEL}), not ${commit}, the commit merge tags (${staging}${other})`,
  );
}

/**
 * One OCI image index naming every child by its exact digest, size and media type, with its config's platform,
 * and carrying the OCI labels every child shares as annotations, overridden by --annotations. Refused: an index as
 * a child, a child whose config names no platform, two children of one platform, a child not built from the commit.
 */
export function assembleIndex(children: readonly MergeChild[], intent: MergeIntent): AssembledIndex {
  const seen = new Map<string, PinnedImage>();
  const platforms: string[] = [];
  const manifests = children.map(({ from, source }) => {
    const root = source.root;
    if (isIndexType(root.mediaType) || root.children.length > 0)
      throw new InvalidInputError(
        `--from "${pinned(from)}": is an index (a multi-platform image), and merge takes one image per platform (${FIX})`,
      );
    const platform: ImagePlatform | undefined = source.platform;
    const name = platformOf(platform);
    if (platform === undefined || name === undefined)
      throw new InvalidInputError(
        `--from "${pinned(from)}": its config names no os and architecture, so merge cannot tell its platform (${FIX})`,
      );
    const key = canonicalPlatform(name) ?? name;
    const other = seen.get(key);
    if (other)
      throw new InvalidInputError(
        `--from "${pinned(from)}": is ${name}, as "${pinned(other)}" is: an index holds one image per platform (drop one)`,
      );
    seen.set(key, from);
    requireRevision({ from, source }, intent.commit);
    platforms.push(name);
    return { mediaType: root.mediaType, digest: root.digest, size: root.bytes.length, platform };
  });
  const annotations = planIndexAnnotations(
    children.map((c) => c.source.labels),
    intent.annotations,
  );
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests,
      ...(annotations.length > 0
        ? { annotations: Object.fromEntries(annotations.map(({ name, value }) => [name, value])) }
        : {}),
    }),
  );
  return { digest: digestOf(bytes), mediaType: MEDIA_TYPES.ociIndex, bytes, platforms, annotations };
}
