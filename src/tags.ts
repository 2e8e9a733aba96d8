import { InvalidInputError } from "./errors/index.js";
import { parseGitRef, type GitRefInfo } from "./gitref.js";
import { parseSemver, type Semver } from "./semver.js";
import { isValidTag, slugifyTag, fitTagLength } from "./slug.js";

export const LATEST_MODES = ["auto", "true", "false"] as const;
export type LatestMode = (typeof LATEST_MODES)[number];

export const MIN_SHA_LENGTH = 4;

export interface TagInput {
  commit: string;
  /** Undefined when no ref is known: only the sha tag (and user tags) are made. */
  ref?: string | undefined;
  /** Several refs at once (a detached HEAD with several git tags); their tags follow `ref`'s. */
  moreRefs?: string[];
  shaLength?: number;
  latest?: string;
  extraTags?: string[];
}

/** What a ref says about the image, before it becomes tags. */
export interface RefFacts {
  ref: GitRefInfo | undefined;
  semver: Semver | undefined;
}

/** Checks a commit is 40 (SHA-1) or 64 (SHA-256) hex characters and returns it lowercase. */
export function normalizeCommit(commit: string): string {
  const c = commit.trim();
  if (!/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(c)) {
    throw new InvalidInputError(
      `commit "${commit}": must be a full 40 or 64 character hex commit id (try "git rev-parse HEAD" or $GITHUB_SHA)`,
    );
  }
  return c.toLowerCase();
}

/** The first `shaLength` characters of the commit; shaLength must be a whole number from 4 to the commit's length. */
export function shortSha(commit: string, shaLength = 7): string {
  const c = normalizeCommit(commit);
  if (!Number.isInteger(shaLength) || shaLength < MIN_SHA_LENGTH || shaLength > c.length) {
    throw new InvalidInputError(
      `shaLength ${shaLength}: must be a whole number from ${MIN_SHA_LENGTH} to ${c.length} (try 7)`,
    );
  }
  return c.slice(0, shaLength);
}

export function parseLatestMode(latest: string): LatestMode {
  const found = LATEST_MODES.find((m) => m === latest);
  if (!found) {
    throw new InvalidInputError(`latest "${latest}": must be one of ${LATEST_MODES.join(", ")} (try "auto")`);
  }
  return found;
}

/** Checks user-given tags are already valid; they are used as given, never rewritten. */
export function validateUserTags(tags: string[], argName = "tags"): string[] {
  for (const tag of tags) {
    if (!isValidTag(tag)) {
      const fix = slugifyTag(tag);
      const hint = fix ? ` (try "${fix}")` : "";
      throw new InvalidInputError(
        `${argName} "${tag}": not a valid image tag: up to 128 of [A-Za-z0-9_.-], not starting with "." or "-"${hint}`,
      );
    }
  }
  return tags;
}

export function refFacts(ref: string | undefined): RefFacts {
  if (ref === undefined || ref === "") return { ref: undefined, semver: undefined };
  const info = parseGitRef(ref);
  return { ref: info, semver: info.kind === "tag" ? parseSemver(info.name) : undefined };
}

/** The tags a ref gives, in order: branch slug; semver version, X.Y, X; other tag slug; pr-N. */
export function refTags(facts: RefFacts): string[] {
  const ref = facts.ref;
  if (!ref) return [];
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

function isRelease(facts: RefFacts): boolean {
  return facts.semver !== undefined && facts.semver.prerelease === undefined;
}

function wantsLatest(mode: LatestMode, facts: RefFacts[]): boolean {
  if (mode === "true") return true;
  if (mode === "false") return false;
  return facts.some(isRelease);
}

export function allRefFacts(input: Pick<TagInput, "ref" | "moreRefs">): RefFacts[] {
  return [input.ref, ...(input.moreRefs ?? [])].map(refFacts).filter((f) => f.ref !== undefined);
}

export interface TagOptions {
  shaLength: number;
  latest: string;
  extraTags: string[];
}

/** Checks tag options before the commit is known (shaLength against the longest commit form). */
export function validateTagOptions(opts: TagOptions, argName = "extraTags"): void {
  shortSha("0".repeat(64), opts.shaLength);
  parseLatestMode(opts.latest);
  validateUserTags(opts.extraTags, argName);
}

/** All tags for a commit and ref: sha tag, ref tags, `latest`, user tags; first of each duplicate kept. */
export function computeTags(input: TagInput): string[] {
  const sha = shortSha(input.commit, input.shaLength ?? 7);
  const mode = parseLatestMode(input.latest ?? "auto");
  const user = validateUserTags(input.extraTags ?? [], "extraTags");
  const facts = allRefFacts(input);
  const tags = [sha, ...facts.flatMap(refTags), ...(wantsLatest(mode, facts) ? ["latest"] : []), ...user];
  return [...new Set(tags)];
}
