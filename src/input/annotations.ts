/** `--annotations` as `[level:]key=value`, the levels named as docker/metadata-action and buildx name them. */
import { closest, refuseDuplicates, refuse, splitList, type Grammar } from "./argument.js";
import { checkLabel, type KeyValue } from "./keyvalue.js";

/** Where an annotation goes: each platform manifest (and its descriptor in the index), or the index itself. */
export type AnnotationLevel = "manifest" | "index";

export interface Annotation extends KeyValue {
  level: AnnotationLevel;
}

const LEVELS: readonly AnnotationLevel[] = ["manifest", "index"];

// Levels other tools take that dockyard cannot set apart: the level to use instead, and why.
const DESCRIPTOR_LEVELS: Record<string, { use: AnnotationLevel; why: string }> = {
  "manifest-descriptor": {
    use: "manifest",
    why: "Dagger writes a manifest annotation on the manifest and on its descriptor in the index alike, so the descriptor's cannot be set apart",
  },
  "index-descriptor": {
    use: "index",
    why: "a registry stores no descriptor of an index (it exists only in an OCI layout's index.json)",
  },
};

const EXAMPLE = 'e.g. "index:org.opencontainers.image.description=Acme web app"';

/** A function that takes annotations at one level only (merge: the index), and why it takes no other. */
export interface LevelRestriction {
  level: AnnotationLevel;
  why: string;
}

function parseAnnotation(entry: string, flag: string, only?: LevelRestriction): Annotation {
  const g: Grammar = { flag, check: (s) => parseAnnotation(s, flag, only) };
  const eq = entry.indexOf("=");
  const head = eq < 0 ? entry : entry.slice(0, eq);
  // A key holds no ":", so a ":" before the first "=" ends the level.
  const colon = head.indexOf(":");
  const given = colon < 0 ? "manifest" : head.slice(0, colon);
  const rest = colon < 0 ? entry : entry.slice(colon + 1);
  const level = LEVELS.find((l) => l === given);
  if (!level) {
    const lower = given.trim().toLowerCase();
    const descriptor = DESCRIPTOR_LEVELS[lower];
    if (descriptor) refuse(g, entry, `level "${given}": ${descriptor.why}`, `${descriptor.use}:${rest}`, EXAMPLE);
    const near = LEVELS.find((l) => l === lower) ?? closest(lower, LEVELS);
    refuse(
      g,
      entry,
      `"${given}" is not an annotation level: manifest (the default) or index`,
      near === undefined ? undefined : `${near}:${rest}`,
      EXAMPLE,
    );
  }
  if (only && level !== only.level) {
    const named = colon < 0 ? `has no level, so it is a ${level} annotation` : `is a ${level} annotation`;
    refuse(g, entry, `${named}: ${only.why}`, `${only.level}:${rest}`, EXAMPLE);
  }
  const at = rest.indexOf("=");
  if (at <= 0) refuse(g, entry, at === 0 ? 'has no key before "="' : "must be [level:]key=value", undefined, EXAMPLE);
  const kv = { name: rest.slice(0, at), value: rest.slice(at + 1) };
  checkLabel(g, entry, kv, colon < 0 ? "" : `${level}:`, "annotation");
  return { level, ...kv };
}

/**
 * `--annotations` as `[level:]key=value`: level `manifest` (the default: each platform manifest and its
 * descriptor in the index) or `index` (the multi-platform index itself); keys and values by the label grammar
 * (`parseLabels`); the same key at one level twice is refused. With `only`, any other level is refused, the fix
 * moving the entry to that level.
 */
export function parseAnnotations(
  values: readonly string[],
  flag = "--annotations",
  only?: LevelRestriction,
): Annotation[] {
  const entries = values.map((v) => parseAnnotation(v, flag, only));
  const g: Grammar = { flag, check: (s) => parseAnnotations(splitList(s), flag, only) };
  refuseDuplicates(
    g,
    values,
    (_, i) => `${entries[i]?.level}:${entries[i]?.name}`,
    (_first, _second, key) => `annotation "${key}" is given twice`,
    "last",
  );
  return entries;
}
