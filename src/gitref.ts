import { InvalidInputError } from "./errors/index.js";

export type GitRefInfo =
  { kind: "branch"; name: string } | { kind: "tag"; name: string } | { kind: "pull"; number: number };

// Full ref forms, one row each: GitHub branches, tags and pull requests, GitLab merge requests.
const REF_FORMS: { pattern: RegExp; parse: (m: RegExpExecArray) => GitRefInfo }[] = [
  { pattern: /^refs\/heads\/(.+)$/, parse: (m) => ({ kind: "branch", name: m[1] ?? "" }) },
  { pattern: /^refs\/tags\/(.+)$/, parse: (m) => ({ kind: "tag", name: m[1] ?? "" }) },
  { pattern: /^refs\/pull\/(\d+)\/(?:merge|head)$/, parse: (m) => ({ kind: "pull", number: Number(m[1]) }) },
  {
    pattern: /^refs\/merge-requests\/(\d+)\/(?:head|merge)$/,
    parse: (m) => ({ kind: "pull", number: Number(m[1]) }),
  },
];

/**
 * Parses a git ref as CI systems give it: `refs/heads/x`, `refs/tags/x`, `refs/pull/N/merge`,
 * `refs/pull/N/head`, `refs/merge-requests/N/head`, or a bare name, which is a branch.
 */
export function parseGitRef(ref: string): GitRefInfo {
  const trimmed = ref.trim();
  if (trimmed === "") {
    throw new InvalidInputError(`ref "${ref}": must not be empty (try "refs/heads/main" or "main")`);
  }
  for (const form of REF_FORMS) {
    const m = form.pattern.exec(trimmed);
    if (m) return form.parse(m);
  }
  if (trimmed.startsWith("refs/")) {
    throw new InvalidInputError(
      `ref "${ref}": not a branch, tag, pull or merge request ref (expected refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head)`,
    );
  }
  return { kind: "branch", name: trimmed };
}
