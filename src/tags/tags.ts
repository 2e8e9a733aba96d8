import { TagCollisionError } from "../errors/index.js";
import { quote } from "../input/argument.js";
import { parseGitRef, type GitRefInfo } from "../input/gitref.js";
import { KNOWN_ARCH, KNOWN_OS } from "../input/platform.js";
import { parseSemver, type Semver } from "./semver.js";
import { fitTagLength, MAX_TAG_LENGTH, slugifyTag } from "./slug.js";

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
  /** The ref as given or as read from .git. */
  given: string;
  ref: GitRefInfo;
  semver: Semver | undefined;
}

export function refFacts(ref: string): RefFacts {
  const info = parseGitRef(ref);
  return { given: ref, ref: info, semver: info.kind === "tag" ? parseSemver(info.name) : undefined };
}

/** What a non-semver git tag's slug follows, so it never lands on a branch's tag (`refs/tags/main` vs `main`). */
export const GIT_TAG_PREFIX = "tag-";

/** The rule a tag comes from: each tag shape has exactly one. */
export type TagRule = "sha" | "semver" | "latest" | "pull request" | "staging" | "signature" | "git tag" | "branch";

interface Shape {
  rule: Exclude<TagRule, "branch">;
  shape: RegExp;
  /** Why the shape is the rule's, and how that rule's tag is meant to be asked for. */
  why: string;
}

/** Tag shapes a rule owns; a branch's slug gets every other tag. First match wins (`2024` is the sha rule's). */
export const OWNED_SHAPES: readonly Shape[] = [
  {
    rule: "sha",
    shape: /^[0-9a-f]{4,64}$/,
    why: "all-lowercase-hex tags of 4 to 64 characters are commit ids, pinned as immutable; a commit goes in --commit as its full id",
  },
  {
    rule: "semver",
    shape: /^\d+(?:\.\d+)?$|^\d+\.\d+\.\d+(?:-.*)?$/,
    why: "N, N.N and N.N.N[-...] come only from a release tag, refs/tags/vN.N.N",
  },
  { rule: "latest", shape: /^latest$/, why: "--latest decides it" },
  {
    rule: "pull request",
    shape: /^pr-\d+$/,
    why: "pr-N comes only from refs/pull/N/merge or refs/merge-requests/N/head",
  },
  {
    rule: "staging",
    shape: new RegExp(`^[0-9a-f]{4,64}-(?:${KNOWN_OS.join("|")})-(?:${KNOWN_ARCH.join("|")})(?:-v\\d+)?$`),
    why: "<sha tag>-<os>-<arch>[-<variant>] is the staging tag a native runner's publish --staging pushes for merge",
  },
  {
    rule: "signature",
    shape: /^sha(?:256|512)-/,
    why: "cosign keeps signatures, attestations and SBOMs at sha256-<digest>.sig, .att and .sbom, and the OCI referrers fallback at sha256-<digest>",
  },
  { rule: "git tag", shape: /^tag-/, why: `a git tag that is not semver gives ${GIT_TAG_PREFIX}<name>` },
];

/** The rule that owns `tag`'s shape; "branch" when no other rule does. */
export function tagOwner(tag: string): TagRule {
  return OWNED_SHAPES.find((s) => s.shape.test(tag))?.rule ?? "branch";
}

/** Refuses a ref whose tag falls in a shape another rule owns, saying whose and how to publish it on purpose. */
function collision(ref: string, tag: string, owner: TagRule): TagCollisionError {
  const why = OWNED_SHAPES.find((s) => s.rule === owner)?.why ?? "";
  return new TagCollisionError(
    ref,
    tag,
    owner,
    `ref ${quote(ref)} would give the image tag ${quote(tag)}, which belongs to the ${owner} rule (${why}): rename the branch, or pass --tags=${tag} to publish that tag on purpose, or, if it came from --ref, pass the full ref you meant`,
  );
}

/** The rule whose tags a ref gives. */
function ruleOf(facts: RefFacts): TagRule {
  switch (facts.ref.kind) {
    case "branch":
      return "branch";
    case "pull":
      return "pull request";
    case "tag":
      return facts.semver ? "semver" : "git tag";
  }
}

/** The tags a ref gives, in order: branch slug; semver version, X.Y, X; tag-<slug> of another git tag; pr-N. */
export function refTags(facts: RefFacts): string[] {
  const ref = facts.ref;
  switch (ref.kind) {
    case "branch":
      return optional(slugifyTag(ref.name));
    case "pull":
      return [`pr-${ref.number}`];
    case "tag":
      return facts.semver ? semverTags(facts.semver) : optional(slugifyTag(ref.name, GIT_TAG_PREFIX));
  }
}

function semverTags(v: Semver): string[] {
  const version = fitTagLength(v.text.replace(/\+/g, "-"), v.text);
  if (v.prerelease !== undefined) return [version];
  // X.Y and X only whole: cut to 128 characters they would no longer float with the release line.
  const floating = [`${v.major}.${v.minor}`, ...(v.major !== "0" ? [v.major] : [])];
  // A major of 4 to 64 digits is sha-shaped (v2024.1.0 would give "2024"): the sha rule owns it.
  return [version, ...floating.filter((t) => t.length <= MAX_TAG_LENGTH && tagOwner(t) === "semver")];
}

/**
 * `facts`' tags, refused when a branch's falls in a shape another rule owns and the user did not ask for it in
 * --tags. The other rules give tags in their own shapes only.
 */
function ownedRefTags(facts: RefFacts, userTags: readonly string[]): string[] {
  const tags = refTags(facts);
  if (ruleOf(facts) !== "branch") return tags;
  for (const tag of tags) {
    const owner = tagOwner(tag);
    if (owner !== "branch" && !userTags.includes(tag)) throw collision(facts.given, tag, owner);
  }
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
    ...facts.flatMap((f) => ownedRefTags(f, input.userTags)),
    ...(wantsLatest(input.latest, facts) ? ["latest"] : []),
    ...input.userTags,
  ];
  return [...new Set(tags)];
}
