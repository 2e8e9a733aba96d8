import { GitSourceError } from "./errors/index.js";

/** What dockyard reads from `source.asGit()`. */
export interface GitHead {
  commit: string;
  /** HEAD's ref as the engine reports it: `refs/heads/<branch>` on a branch, otherwise detached. */
  ref: string;
}

/** Refs for a checkout: the branch when HEAD is on one, else the git tags at the commit (semver first, newest first). */
export function headRefs(head: GitHead, tagsAtHead: string[]): string[] {
  if (head.ref.startsWith("refs/heads/")) return [head.ref];
  return [...tagsAtHead].map((t) => (t.startsWith("refs/tags/") ? t : `refs/tags/${t}`)).sort(compareTagRefs);
}

function compareTagRefs(a: string, b: string): number {
  const va = versionKey(a);
  const vb = versionKey(b);
  if (va && vb) return vb.localeCompare(va, "en", { numeric: true }) || a.localeCompare(b);
  if (va) return -1;
  if (vb) return 1;
  return a.localeCompare(b);
}

function versionKey(tagRef: string): string | undefined {
  const m = /^refs\/tags\/v?(\d+\.\d+\.\d+.*)$/.exec(tagRef);
  return m?.[1];
}

/** The short tag name a git listing gives, whichever form the engine uses. */
export function tagName(tag: string): string {
  return tag.startsWith("refs/tags/") ? tag.slice("refs/tags/".length) : tag;
}

export const MISSING_COMMIT_HELP =
  'pass --commit and --ref (in GitHub Actions: --commit "$GITHUB_SHA" --ref "$GITHUB_REF"; in GitLab CI: --commit "$CI_COMMIT_SHA" --ref "$CI_COMMIT_REF_NAME"), or pass a --source that includes its .git directory';

export function missingCommitError(cause: string): GitSourceError {
  return new GitSourceError(`no commit to tag the image with: ${cause}; ${MISSING_COMMIT_HELP}`);
}

/** Refuses to tag an image with a commit it was not built from, naming a few of the changed paths. */
export function dirtyCheckoutError(commit: string, changed: string[]): GitSourceError {
  const shown = changed.slice(0, 5).map((p) => `"${p}"`);
  const more = changed.length > shown.length ? ` and ${changed.length - shown.length} more` : "";
  return new GitSourceError(
    `source has uncommitted changes (${shown.join(", ")}${more}): an image tagged ${commit.slice(0, 7)} must be built from that commit; commit or stash them, or pass --allow-dirty`,
  );
}
