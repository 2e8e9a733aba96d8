/**
 * Which OCI annotations an image gets, pure: by default the `org.opencontainers.image.*` entries of its labels
 * (so the same metadata, user label overrides included), on each platform manifest and, for a multi-platform
 * image, on the index; `--annotations` add to or override them per level. For merge's index, the OCI labels its
 * children share.
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

/**
 * The annotations of an index merge assembles: the `org.opencontainers.image.*` labels every child's config
 * carries with the same value (what dockyard's labels imply for the whole image), then the `given` ones (index
 * level), a given key winning; sorted by key, so the same children and annotations always give the same bytes.
 */
export function planIndexAnnotations(
  childLabels: readonly (Readonly<Record<string, string>> | undefined)[],
  given: readonly Annotation[],
): KeyValue[] {
  const [first, ...others] = childLabels;
  const shared = Object.entries(first ?? {}).filter(
    ([name, value]) => name.startsWith(OCI_PREFIX) && others.every((labels) => labels?.[name] === value),
  );
  const defaults = shared.map(([name, value]) => ({ name, value }));
  const index = given.filter((a) => a.level === "index").map(({ name, value }) => ({ name, value }));
  return merged(defaults, index).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
