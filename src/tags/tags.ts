import { parseGitRef, type GitRefInfo } from "../input/gitref.js";
import { parseSemver, type Semver } from "./semver.js";
import { fitTagLength, slugifyTag } from "./slug.js";

/** When the `latest` tag is added: for a non-prerelease semver tag, always, or never. */
export type LatestMode = "auto" | "always" | "never";

export { DEFAULT_SHA_LENGTH, MIN_SHA_LENGTH } from "../input/commit.js";

/** Validated values: the request parsers have checked each one against its grammar. */
export interface TagInput {
  /** Full commit id, lowercase. */
  commit: string;
  /** Refs the tags come from, first one first (several at a detached HEAD with several git tags). */
  refs: readonly string[];
  shaLength: number;
  latest: LatestMode;
  /** User tags, used as given. */
  userTags: readonly string[];
}

/** What a ref says about the image, before it becomes tags. */
export interface RefFacts {
  ref: GitRefInfo;
  semver: Semver | undefined;
}

export function refFacts(ref: string): RefFacts {
  const info = parseGitRef(ref);
  return { ref: info, semver: info.kind === "tag" ? parseSemver(info.name) : undefined };
}

/** The tags a ref gives, in order: branch slug; semver version, X.Y, X; other tag slug; pr-N. */
export function refTags(facts: RefFacts): string[] {
  const ref = facts.ref;
  switch (ref.kind) {
    case "branch":
      return optional(slugifyTag(ref.name));
    case "pull":
      return [`pr-${ref.number}`];
    case "tag":
      return facts.semver ? semverTags(facts.semver) : optional(slugifyTag(ref.name));
  }
}

function semverTags(v: Semver): string[] {
  const version = fitTagLength(v.text.replace(/\+/g, "-"), v.text);
  if (v.prerelease !== undefined) return [version];
  const tags = [version, `${v.major}.${v.minor}`];
  if (v.major !== 0) tags.push(`${v.major}`);
  return tags;
}

function optional(tag: string | undefined): string[] {
  return tag === undefined ? [] : [tag];
}

function wantsLatest(mode: LatestMode, facts: RefFacts[]): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  return facts.some((f) => f.semver !== undefined && f.semver.prerelease === undefined);
}

/** All tags for a commit and its refs: sha tag, ref tags, `latest`, user tags; first of each duplicate kept. */
export function computeTags(input: TagInput): string[] {
  const facts = input.refs.map(refFacts);
  const tags = [
    input.commit.slice(0, input.shaLength),
    ...facts.flatMap(refTags),
    ...(wantsLatest(input.latest, facts) ? ["latest"] : []),
    ...input.userTags,
  ];
  return [...new Set(tags)];
}
