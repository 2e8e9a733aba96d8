import { mapWithLimit } from "../push/concurrency.js";
import { DEFAULT_SHA_LENGTH } from "../input/commit.js";
import { GitSourceError } from "../errors/index.js";
import { ArgumentError, quote } from "../input/argument.js";
import { parseGitRef } from "../input/gitref.js";
import { compareSemver, parseSemver } from "../tags/semver.js";

/** What dockyard reads from `source.asGit()`. */
export interface GitHead {
  commit: string;
  /** HEAD's ref as the engine reports it: `refs/heads/<branch>` on a branch, `HEAD` when detached. */
  ref: string;
}

/** The source's repository, as the module reads it through the engine; each method may throw. */
export interface GitReader {
  head(): Promise<GitHead>;
  /** Tag names, short (`v1.2.3`) or full (`refs/tags/v1.2.3`). */
  tags(): Promise<string[]>;
  tagCommit(name: string): Promise<string>;
  /** The merge base of HEAD and `commit`; throws when the repository does not hold `commit`. */
  mergeBase(commit: string): Promise<string>;
}

/** Where the source stands: none given, a folder without .git, or a folder with one. */
export type SourceGit = { kind: "no source" } | { kind: "no .git" } | { kind: "git"; reader: GitReader };

export interface ResolvedGit {
  commit: string;
  /** Refs the tags come from: the one given, else the branch or the git tags at HEAD. */
  refs: string[];
  /** The commit is in the source's history (HEAD or an ancestor of it), so its tree can be built. */
  inRepository: boolean;
  /** HEAD's commit when the source has a readable .git. */
  headCommit?: string;
}

const TAG_LOOKUPS_IN_FLIGHT = 16;

const COMMIT_HELP =
  'pass --commit and --ref (GitHub Actions: --commit "$GITHUB_SHA" --ref "$GITHUB_REF"; GitLab CI: --commit "$CI_COMMIT_SHA" with --ref "refs/tags/$CI_COMMIT_TAG", "refs/merge-requests/$CI_MERGE_REQUEST_IID/head" or "refs/heads/$CI_COMMIT_BRANCH", as examples/gitlab-ci.yml maps them)';

/**
 * Commit and refs for the image. A given commit must be HEAD or an ancestor of it, so the tree that is built is
 * the commit's own; refs come from `.git` only when the commit is HEAD. A folder without `.git` trusts the
 * arguments. `commit` must already be normalised (lowercase, full length).
 */
export async function resolveGit(
  given: { commit?: string | undefined; ref?: string | undefined },
  source: SourceGit,
): Promise<ResolvedGit> {
  const { commit, ref } = given;
  if (source.kind === "no source") {
    if (commit !== undefined && ref !== undefined) return { commit, refs: [ref], inRepository: false };
    throw new GitSourceError(
      `no commit to tag the image with: no --source was given; pass --source=. (its .git gives commit and ref), or ${COMMIT_HELP}`,
    );
  }
  if (source.kind === "no .git") {
    if (commit !== undefined) return { commit, refs: ref !== undefined ? [ref] : [], inRepository: false };
    throw new GitSourceError(`no commit to tag the image with: the source has no .git folder; ${COMMIT_HELP}`);
  }
  const reader = source.reader;
  const head = await reader.head().catch((e: unknown) => {
    // Remote.Lookup takes only 40-hex ids (util/gitutil/ls_remote.go:213-215 at v0.21.8).
    if (/invalid commit sha "[0-9a-f]{64}"/.test(message(e))) {
      throw new GitSourceError(
        `the source's .git is a SHA-256 repository, which Dagger v0.21 cannot read (${message(e)}); pass --allow-dirty with --commit and --ref to build the folder as it is (the image is then marked dirty), or publish from a SHA-1 clone`,
      );
    }
    throw new GitSourceError(
      `the source's .git cannot be read (${message(e)}): a git worktree or submodule keeps a .git file the engine cannot follow; pass a clone whose .git is a folder, or --allow-dirty with --commit and --ref to build the folder as it is`,
    );
  });
  const headCommit = head.commit.toLowerCase();
  const resolved = commit ?? headCommit;
  if (resolved !== headCommit) await checkAncestor(reader, resolved, headCommit);
  const base = { commit: resolved, inRepository: true, headCommit };
  if (ref !== undefined) return { ...base, refs: [ref] };
  if (resolved !== headCommit) return { ...base, refs: [] };
  if (head.ref.startsWith("refs/heads/")) return { ...base, refs: [checkGitRef(head.ref, "HEAD's branch")] };
  const tags = await reader.tags();
  const commits = await mapWithLimit(tags, TAG_LOOKUPS_IN_FLIGHT, (t) => reader.tagCommit(tagName(t)));
  const atHead = tags.filter((_, i) => (commits[i] ?? "").toLowerCase() === resolved);
  return { ...base, refs: tagRefsAtHead(atHead).map((r) => checkGitRef(r, "the git tag at HEAD")) };
}

/**
 * A ref read from the source's .git, checked by the grammar `--ref` has: git accepts names dockyard refuses (a
 * zero-width or no-break space), and the error must say where the ref came from, since no --ref was passed.
 */
function checkGitRef(ref: string, what: string): string {
  try {
    parseGitRef(ref);
    return ref;
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    const example = e.fix !== undefined ? ` (e.g. --ref ${quote(e.fix)})` : "";
    throw new GitSourceError(
      `the source's .git names ${what} ${quote(ref)}, which dockyard cannot tag from: ${e.why}; pass --ref to choose the ref${example}`,
    );
  }
}

async function checkAncestor(reader: GitReader, commit: string, headCommit: string): Promise<void> {
  const base = await reader.mergeBase(commit).then(
    (b) => b.toLowerCase(),
    () => undefined,
  );
  if (base === commit) return;
  throw new GitSourceError(
    `--commit "${commit}" is not in the history of the source's HEAD ${headCommit}: the image would be tagged with one commit and built from another. Pass --commit "${headCommit}" (the checked-out commit), or check out ${commit.slice(0, 12)} first. In GitHub Actions on pull_request, $GITHUB_SHA is the merge commit that actions/checkout checks out by default: keep that checkout, or pass the head sha you checked out ($(git rev-parse HEAD)). A shallow clone holds only HEAD: fetch deeper to build an older commit`,
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Git tags at a detached HEAD, as refs: semver tags first, newest first by SemVer precedence (a release before its
 * prereleases; numbers compared whole, however long), then the others by name.
 */
export function tagRefsAtHead(tagsAtHead: string[]): string[] {
  return tagsAtHead.map((t) => `refs/tags/${tagName(t)}`).sort(compareTagRefs);
}

function compareTagRefs(a: string, b: string): number {
  const va = parseSemver(tagName(a));
  const vb = parseSemver(tagName(b));
  if (va && vb) return compareSemver(vb, va) || a.localeCompare(b);
  if (va) return -1;
  if (vb) return 1;
  return a.localeCompare(b);
}

/** The short tag name a git listing gives, whichever form the engine uses. */
export function tagName(tag: string): string {
  return tag.startsWith("refs/tags/") ? tag.slice("refs/tags/".length) : tag;
}

/** Refuses to tag an image with a commit it was not built from, naming a few of the changed paths. */
export function dirtyCheckoutError(commit: string, changed: string[]): GitSourceError {
  return new GitSourceError(
    `source has uncommitted changes (${describePaths(changed)}): an image tagged ${commit.slice(0, DEFAULT_SHA_LENGTH)} is built from that commit's tree, without them; commit or stash them, or pass --allow-dirty to build the working folder as it is`,
  );
}

/**
 * The first five paths, JSON-quoted, then "and N more": a path holding a line break would otherwise start a line
 * the CI runner reads as a command.
 */
export function describePaths(paths: readonly string[]): string {
  const shown = paths.slice(0, 5).map(quote);
  const more = paths.length > shown.length ? ` and ${paths.length - shown.length} more` : "";
  return `${shown.join(", ")}${more}`;
}

/** The dirty check could not run: fail closed, with the engine's error and the explicit way past it. */
export function dirtyCheckFailedError(cause: string): GitSourceError {
  return new GitSourceError(
    `could not check the source for uncommitted changes (${cause}); dockyard does not publish what it cannot check: fix the checkout, or pass --allow-dirty to build the working folder as it is`,
  );
}
