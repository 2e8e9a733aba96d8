/**
 * `--ref`: a git ref as CI systems give it, checked by `git check-ref-format` rules. Full forms: `refs/heads/<b>`,
 * `refs/tags/<t>`, `refs/pull/<n>/merge|head` (GitHub), `refs/merge-requests/<n>/head|merge` (GitLab); a bare name
 * is a branch and must be a valid branch name.
 */
import { checkText, describeChar, findControl, refuse, type Grammar } from "./argument.js";
import { parseSemver } from "../tags/semver.js";

export type GitRefInfo =
  { kind: "branch"; name: string } | { kind: "tag"; name: string } | { kind: "pull"; number: number };

const REF_HINT =
  'e.g. "refs/heads/main", "refs/tags/v1.2.3", "refs/pull/7/merge" or a branch name; in GitHub Actions "$GITHUB_REF"';

/**
 * Why `name` breaks `git check-ref-format`'s rules (git-check-ref-format(1), rules 1 and 3-8, 10; rule 9, "@" alone, concerns bare names), or undefined.
 * `name` is what follows `refs/heads/` or `refs/tags/`, so rule 2 (one `/` at least) holds for the full ref.
 */
export function refNameProblem(name: string): string | undefined {
  if (name === "") return "the name is empty";
  const control = findControl(name);
  if (control !== undefined) return `the control character ${describeChar(control)} is not allowed in a git ref`;
  const bad = /[\s~^:?*[\\]/.exec(name)?.[0];
  if (bad !== undefined) return `"${bad}" is not allowed in a git ref`;
  if (name.includes("..")) return '".." is not allowed in a git ref';
  if (name.includes("@{")) return '"@{" is not allowed in a git ref';
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) {
    return 'a git ref has no leading, trailing or double "/"';
  }
  for (const component of name.split("/")) {
    if (component.startsWith(".")) return `component "${component}" starts with "."`;
    if (component.endsWith(".lock")) return `component "${component}" ends with ".lock"`;
  }
  if (name.endsWith(".")) return 'a git ref does not end with "."';
  return undefined;
}

/**
 * Why `name`, given bare, is not a branch name (`git check-ref-format --branch`), or undefined. In a full ref
 * `refs/heads/-x` a leading "-" is fine: `git check-ref-format refs/heads/-x` accepts it and a push creates it.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name.startsWith("-")) return 'a branch name does not start with "-"';
  return headsNameProblem(name);
}

/** Why `name` cannot follow `refs/heads/`, or undefined. */
function headsNameProblem(name: string): string | undefined {
  if (name === "HEAD") return '"HEAD" is not a branch name';
  return refNameProblem(name);
}

/** `name` rewritten to satisfy the ref rules, as a candidate fix. */
function fitRefName(name: string): string {
  return name
    .replace(/\^\{\}$/, "")
    .replace(/@\{/g, "-")
    .replace(/[\s~^:?*[\\]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/\/{2,}/g, "/")
    .split("/")
    .map((c) => c.replace(/^\.+/, "").replace(/(?:\.lock)+$/, ""))
    .filter((c) => c !== "")
    .join("/")
    .replace(/\.+$/, "");
}

/** A pull or merge request number: a positive whole number without leading zeros. */
function pullNumber(g: Grammar, value: string, text: string, rebuild: (n: string) => string): number {
  if (!/^\d+$/.test(text)) {
    refuse(g, value, `"${text}" is not a pull or merge request number`, undefined, REF_HINT);
  }
  const n = Number(text);
  if (n === 0 || !Number.isSafeInteger(n)) {
    refuse(g, value, `"${text}" is not a pull or merge request number (1 or more)`, undefined, REF_HINT);
  }
  if (text !== String(n)) refuse(g, value, `pull request number "${text}" has leading zeros`, rebuild(String(n)), "");
  return n;
}

/**
 * Parses a ref: `refs/heads/x`, `refs/tags/x`, `refs/pull/N/merge`, `refs/pull/N/head`,
 * `refs/merge-requests/N/head` or `/merge`, or a bare branch name. Refused with a fix: `refs/remotes/<r>/<b>`
 * (the branch is `refs/heads/<b>`), a peeled tag `refs/tags/v1^{}`, GitHub's `$GITHUB_REF_NAME` of a pull
 * request (`7/merge`: the ref is `refs/pull/7/merge`), a bare version (`v1.2.3`: the tag is `refs/tags/v1.2.3`),
 * `HEAD`, other namespaces, an unexpanded `$VARIABLE`.
 */
export function parseGitRef(value: string, flag = "--ref"): GitRefInfo {
  const g: Grammar = { flag, check: (s) => parseGitRef(s, flag) };
  if (value === "")
    refuse(g, value, "must not be empty", undefined, `${REF_HINT}; or leave --ref out to read it from .git`);
  checkText(g, value, { spaceFix: (v) => v.replace(/\s+/g, "-") });
  if (/^\$\{?[A-Za-z_]/.test(value)) {
    refuse(g, value, "is a variable the shell did not expand", undefined, `use double quotes; ${REF_HINT}`);
  }
  if (!value.startsWith("refs/")) return parseBareBranch(g, value);
  const parts = value.split("/");
  const [, space, number, kind] = parts;
  switch (space) {
    case "heads": {
      const name = parts.slice(2).join("/");
      const problem = headsNameProblem(name);
      if (problem) refuse(g, value, problem, `refs/heads/${fitRefName(name)}`, REF_HINT);
      return { kind: "branch", name };
    }
    case "tags": {
      const name = parts.slice(2).join("/");
      if (name.endsWith("^{}")) {
        refuse(
          g,
          value,
          'is a peeled tag (git ls-remote lists the commit a tag points to as "<tag>^{}")',
          value.slice(0, -3),
          "",
        );
      }
      const problem = refNameProblem(name);
      if (problem) refuse(g, value, problem, `refs/tags/${fitRefName(name)}`, REF_HINT);
      return { kind: "tag", name };
    }
    case "pull":
    case "merge-requests": {
      const what = space === "pull" ? "a pull request ref" : "a merge request ref";
      const rebuild = (n: string) => `refs/${space}/${n}/${kind ?? (space === "pull" ? "merge" : "head")}`;
      const n = pullNumber(g, value, number ?? "", rebuild);
      if (parts.length !== 4 || (kind !== "merge" && kind !== "head")) {
        const fix = `refs/${space}/${n}/${space === "pull" ? "merge" : "head"}`;
        refuse(g, value, `${what} ends in /merge or /head`, fix, REF_HINT);
      }
      return { kind: "pull", number: n };
    }
    case "remotes": {
      const branch = parts.slice(3).join("/");
      refuse(
        g,
        value,
        "is a remote-tracking ref, not a branch",
        branch === "" ? undefined : `refs/heads/${branch}`,
        "pass the branch as refs/heads/<branch>",
      );
    }
  }
  return refuse(
    g,
    value,
    "not a branch, tag, pull or merge request ref",
    undefined,
    "expected refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head",
  );
}

function parseBareBranch(g: Grammar, value: string): GitRefInfo {
  // GitHub's $GITHUB_REF_NAME for a pull request is "<n>/merge": the ref is refs/pull/<n>/merge.
  const pr = /^(\d+)\/(merge|head)$/.exec(value);
  if (pr) {
    refuse(
      g,
      value,
      "is a pull request's $GITHUB_REF_NAME, not a branch",
      `refs/pull/${pr[1]}/${pr[2]}`,
      "pass $GITHUB_REF",
    );
  }
  if (value === "HEAD" || value === "@") {
    refuse(g, value, "HEAD is not a branch: name the branch or tag", undefined, REF_HINT);
  }
  const problem = branchNameProblem(value);
  if (problem) refuse(g, value, problem, fitRefName(value).replace(/^-+/, ""), REF_HINT);
  // A bare version is a git tag's short name ($GITHUB_REF_NAME, $CI_COMMIT_REF_NAME): as a branch it would lose
  // its release tags silently.
  if (parseSemver(value) !== undefined) {
    refuse(
      g,
      value,
      `is a version, and a bare name is read as a branch (no release tags): a git tag is refs/tags/${value} (in GitHub Actions pass "$GITHUB_REF", not "$GITHUB_REF_NAME"); a branch of that name is refs/heads/${value}`,
      `refs/tags/${value}`,
      REF_HINT,
    );
  }
  return { kind: "branch", name: value };
}

/** Checks `value` is a ref (see `parseGitRef`) and returns it as given. */
export function parseRef(value: string, flag = "--ref"): string {
  parseGitRef(value, flag);
  return value;
}
