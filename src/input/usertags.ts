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
  if (!isValidTag(value)) {
    const why =
      value.length > MAX_TAG_LENGTH
        ? `is longer than ${MAX_TAG_LENGTH} characters`
        : 'is not a valid image tag: letters, digits, "_", "." and "-", not starting with "." or "-"';
    refuse(g, value, why, slugifyTag(value), 'e.g. "stable"');
  }
  return value;
}

/** Every user tag, in order; repeats are kept (the tag list drops them, first kept). */
export function parseTags(values: readonly string[], flag = "--tags"): string[] {
  return values.map((v) => parseTag(v, flag));
}
