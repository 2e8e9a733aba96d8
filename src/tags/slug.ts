import { createHash } from "node:crypto";

/** The longest tag an OCI registry accepts. */
export const MAX_TAG_LENGTH = 128;

/** Docker's tag grammar: a word character first, then up to 127 of `[A-Za-z0-9_.-]`. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `true` when `tag` is a valid image tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/**
 * Fits `tag` into 128 characters: its first 119, `-`, then 8 hex of sha256(original),
 * so two long names that share a prefix still get different tags.
 */
export function fitTagLength(tag: string, original: string): string {
  if (tag.length <= MAX_TAG_LENGTH) return tag;
  const hash = createHash("sha256").update(original).digest("hex").slice(0, 8);
  return `${tag.slice(0, MAX_TAG_LENGTH - 9)}-${hash}`;
}

/**
 * Turns a branch or git tag name into an image tag: lowercase, each run of other characters
 * becomes one `-`, no leading `.`/`-`, no trailing `-`, then `prefix` before it. Returns undefined when nothing is left.
 */
export function slugifyTag(name: string, prefix = ""): string | undefined {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[.-]+/, "")
    .replace(/-+$/, "");
  if (slug === "") return undefined;
  return fitTagLength(`${prefix}${slug}`, name);
}
