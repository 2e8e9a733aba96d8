/** `--tags`: user tags, used as given, so each must already be a valid image tag. */
import { checkText, refuse, type Grammar } from "./argument.js";
import { isValidTag, MAX_TAG_LENGTH, slugifyTag } from "../tags/slug.js";

/**
 * One image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (distribution/reference). Never rewritten: an invalid tag is
 * refused, and the fix is its slug (the same rule that turns branch names into tags).
 */
export function parseTag(value: string, flag = "--tags"): string {
  const g: Grammar = { flag, check: (s) => parseTag(s, flag) };
  if (value === "") refuse(g, value, "must not be empty", undefined, 'give a tag, e.g. "stable"');
  checkText(g, value, { spaceFix: (v) => slugifyTag(v) ?? v });
  const imageTag = imageRefTag(value);
  if (imageTag !== undefined) {
    refuse(g, value, `${flag} takes tags, not image refs; the image goes in --images`, imageTag, 'e.g. "latest"');
  }
  if (!isValidTag(value)) {
    const why =
      value.length > MAX_TAG_LENGTH
        ? `is longer than ${MAX_TAG_LENGTH} characters`
        : 'is not a valid image tag: letters, digits, "_", "." and "-", not starting with "." or "-"';
    refuse(g, value, why, slugifyTag(value), 'e.g. "stable"');
  }
  return value;
}

/**
 * The tag of an image reference with one (`ghcr.io/acme/app:latest`, `localhost:5000/app:1.0`, `acme/app:v1`), as
 * docker/build-push-action's `tags` holds them: a path with a `/` or a registry host before `:<tag>`. Else undefined.
 */
function imageRefTag(value: string): string | undefined {
  const colon = value.lastIndexOf(":");
  if (colon < 0) return undefined;
  const name = value.slice(0, colon);
  const tag = value.slice(colon + 1);
  if (!isValidTag(tag) || name.includes("@")) return undefined;
  const host = /^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d+)?$/i;
  return name.includes("/") || host.test(name) ? tag : undefined;
}

/** Every user tag, in order; repeats are kept (the tag list drops them, first kept). */
export function parseTags(values: readonly string[], flag = "--tags"): string[] {
  return values.map((v) => parseTag(v, flag));
}
