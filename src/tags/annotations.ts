/**
 * Which OCI annotations an image gets, pure: by default the `org.opencontainers.image.*` entries of its labels
 * (so the same metadata, user label overrides included), on each platform manifest and, for a multi-platform
 * image, on the index; `--annotations` add to or override them per level.
 */
import type { Annotation } from "../input/annotations.js";
import type { KeyValue } from "../input/keyvalue.js";

const OCI_PREFIX = "org.opencontainers.image.";

export interface PlannedAnnotations {
  /** Set with Container.withAnnotation: Dagger writes them on each platform manifest and its index descriptor. */
  manifest: KeyValue[];
  /** Written into the pushed index by dockyard after the push; empty for a single-platform image (no index). */
  index: KeyValue[];
  /** True when --annotations named the index level: then an index that cannot be rewritten fails the publish. */
  indexGiven: boolean;
}

/** Later entries win, each name kept where it first appeared. */
function merged(...lists: (readonly KeyValue[])[]): KeyValue[] {
  const byName = new Map<string, string>();
  for (const list of lists) for (const { name, value } of list) byName.set(name, value);
  return [...byName].map(([name, value]) => ({ name, value }));
}

/**
 * The annotations of an image of `platforms` platform images, from its `labels` and the `given` --annotations.
 * A single-platform image has no index: its root is the manifest, so index-level annotations go on the manifest
 * (winning over manifest-level ones of the same key), where a registry such as GHCR reads them.
 */
export function planAnnotations(
  labels: readonly KeyValue[],
  given: readonly Annotation[],
  platforms: number,
): PlannedAnnotations {
  const defaults = labels.filter((l) => l.name.startsWith(OCI_PREFIX));
  const at = (level: Annotation["level"]) =>
    given.filter((a) => a.level === level).map(({ name, value }) => ({ name, value }));
  const indexGiven = given.some((a) => a.level === "index");
  if (platforms <= 1) return { manifest: merged(defaults, at("manifest"), at("index")), index: [], indexGiven };
  return { manifest: merged(defaults, at("manifest")), index: merged(defaults, at("index")), indexGiven };
}
