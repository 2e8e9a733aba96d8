// Unit: the tag arguments (--commit, --ref, --sha-length, --tags), one table row per grammar rule.
import { describe, expect, it } from "vitest";

import { parseCommit, parseShaLength } from "../../src/input/commit.js";
import { branchNameProblem, parseGitRef, parseRef, refNameProblem } from "../../src/input/gitref.js";
import { parseTag, parseTags } from "../../src/input/usertags.js";
import {
  GITHUB_MERGE_QUEUE_REF,
  GITHUB_REF_BRANCH,
  GITHUB_REF_NAME_PULL,
  GITHUB_REF_PULL,
  GITHUB_REF_TAG,
  GITLAB_MERGE_REQUEST_REF_PATH,
  GITLAB_NULL_SHA,
  LS_REMOTE_PEELED_TAG,
} from "../fixtures/cli-values.js";
import { COMMIT, COMMIT_SHA256 } from "../fixtures/commits.js";
import { T1402_CASES } from "../fixtures/git-check-ref-format.js";
import { InvalidInputError } from "../../src/errors/index.js";
import { expectRefusal, listParse, refusalOf, type Refusal } from "./refusal.js";

describe("parseCommit", () => {
  it.each([
    [COMMIT, COMMIT],
    [COMMIT_SHA256, COMMIT_SHA256],
    [COMMIT.toUpperCase(), COMMIT],
  ])("%s is %s", (input, want) => {
    expect(parseCommit(input)).toBe(want);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: `${COMMIT}\n`, why: /whitespace/, fix: COMMIT },
    { input: ` ${COMMIT}`, why: /whitespace/, fix: COMMIT },
    { input: "1a2b3c4", why: /abbreviated \(7 characters\)/ },
    { input: COMMIT.slice(0, 39), why: /abbreviated/ },
    { input: `${COMMIT}0`, why: /has 41 hex characters/ },
    { input: `${COMMIT_SHA256}0`, why: /has 65 hex characters/ },
    { input: "z".repeat(40), why: /not a commit id/ },
    { input: "main", why: /not a commit id/ },
    { input: "HEAD", why: /not a commit id/ },
    { input: "$GITHUB_SHA", why: /variable the shell did not expand/ },
    { input: "${CI_COMMIT_SHA}", why: /variable the shell did not expand/ },
    { input: GITLAB_NULL_SHA, why: /all-zero id/ },
    { input: "0".repeat(64), why: /all-zero id/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseCommit(row.input)),
      "--commit",
      row,
      (fix) => parseCommit(fix),
    );
  });

  it("tells how to get the full id of an abbreviation", () => {
    expect(refusalOf(() => parseCommit("1a2b3c4")).hint).toMatch(/git rev-parse 1a2b3c4/);
  });
});

describe("parseShaLength", () => {
  it.each([
    [4, 64],
    [7, 64],
    [40, 40],
    [64, 64],
  ])("%d fits a %d-character commit", (n, commitLength) => {
    expect(parseShaLength(n, commitLength)).toBe(n);
  });

  it.each([
    { n: 3, commitLength: 64, fix: "4" },
    { n: 0, commitLength: 64, fix: "4" },
    { n: -7, commitLength: 64, fix: "4" },
    { n: 65, commitLength: 64, fix: "64" },
    { n: 41, commitLength: 40, fix: "40" },
    { n: 7.5, commitLength: 64, fix: "8" },
    { n: Number.NaN, commitLength: 64, fix: "7" },
    { n: Number.POSITIVE_INFINITY, commitLength: 64, fix: "7" },
  ])("refuses $n for a $commitLength-character commit", ({ n, commitLength, fix }) => {
    expectRefusal(
      refusalOf(() => parseShaLength(n, commitLength)),
      "--sha-length",
      { input: String(n), why: new RegExp(`whole number from 4 to ${commitLength}`), fix },
      (f) => parseShaLength(Number(f), commitLength),
    );
  });
});

describe("parseGitRef", () => {
  it.each([
    { ref: GITHUB_REF_BRANCH, want: { kind: "branch", name: "main" } },
    { ref: "refs/heads/a/b", want: { kind: "branch", name: "a/b" } },
    { ref: "refs/heads/@", want: { kind: "branch", name: "@" } },
    { ref: GITHUB_MERGE_QUEUE_REF, want: { kind: "branch", name: GITHUB_MERGE_QUEUE_REF.slice(11) } },
    { ref: GITHUB_REF_TAG, want: { kind: "tag", name: "v1.2.3" } },
    { ref: "refs/tags/-rc", want: { kind: "tag", name: "-rc" } },
    { ref: GITHUB_REF_PULL, want: { kind: "pull", number: 42 } },
    { ref: "refs/pull/5/head", want: { kind: "pull", number: 5 } },
    { ref: GITLAB_MERGE_REQUEST_REF_PATH, want: { kind: "pull", number: 42 } },
    { ref: "refs/merge-requests/9/merge", want: { kind: "pull", number: 9 } },
    { ref: "develop", want: { kind: "branch", name: "develop" } },
    { ref: "feature/Big_Thing", want: { kind: "branch", name: "feature/Big_Thing" } },
    { ref: "héllo", want: { kind: "branch", name: "héllo" } },
    // A full ref is what git says it is: git check-ref-format accepts refs/heads/-dash and a push creates it.
    { ref: "refs/heads/-dash", want: { kind: "branch", name: "-dash" } },
    // The way to mean a branch named like a version.
    { ref: "refs/heads/v1.2.3", want: { kind: "branch", name: "v1.2.3" } },
    { ref: "v1.2", want: { kind: "branch", name: "v1.2" } },
  ])("$ref", ({ ref, want }) => {
    expect(parseGitRef(ref)).toEqual(want);
    expect(parseRef(ref)).toBe(ref);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: " ", why: /whitespace/ },
    { input: "refs/heads/main\n", why: /whitespace/, fix: "refs/heads/main" },
    { input: "$GITHUB_REF", why: /variable the shell did not expand/ },
    { input: "HEAD", why: /HEAD is not a branch/ },
    { input: "@", why: /HEAD is not a branch/ },
    { input: GITHUB_REF_NAME_PULL, why: /pull request's \$GITHUB_REF_NAME/, fix: GITHUB_REF_PULL },
    { input: "7/head", why: /pull request's/, fix: "refs/pull/7/head" },
    // git check-ref-format rules, one row each.
    { input: "feature/.hidden", why: /starts with "\."/, fix: "feature/hidden" },
    { input: "feature.lock", why: /ends with "\.lock"/, fix: "feature" },
    { input: "refs/heads/a..b", why: /"\.\." is not allowed/, fix: "refs/heads/a.b" },
    { input: "a~1", why: /"~" is not allowed/, fix: "a-1" },
    { input: "a^2", why: /"\^" is not allowed/, fix: "a-2" },
    { input: "a:b", why: /":" is not allowed/, fix: "a-b" },
    { input: "a?", why: /"\?" is not allowed/, fix: "a-" },
    { input: "a*", why: /"\*" is not allowed/, fix: "a-" },
    { input: "a[b", why: /"\[" is not allowed/, fix: "a-b" },
    { input: "a\\b", why: /"\\" is not allowed/, fix: "a-b" },
    { input: "a b", why: /whitespace/, fix: "a-b" },
    { input: "/main", why: /leading, trailing or double "\/"/, fix: "main" },
    { input: "main/", why: /leading, trailing or double "\/"/, fix: "main" },
    { input: "a//b", why: /leading, trailing or double "\/"/, fix: "a/b" },
    { input: "main.", why: /does not end with "\."/, fix: "main" },
    { input: "a@{1}", why: /"@\{" is not allowed/, fix: "a-1}" },
    { input: "-main", why: /does not start with "-"/, fix: "main" },
    // A bare version is a git tag's short name ($GITHUB_REF_NAME): as a branch it would lose its release tags.
    {
      input: "v1.2.3",
      why: /is a version.*"\$GITHUB_REF", not "\$GITHUB_REF_NAME".*refs\/heads\/v1\.2\.3/,
      fix: "refs/tags/v1.2.3",
    },
    { input: "1.2.3", why: /is a version, and a bare name is read as a branch/, fix: "refs/tags/1.2.3" },
    { input: "v2.0.0-rc.1+build.5", why: /is a version/, fix: "refs/tags/v2.0.0-rc.1+build.5" },
    { input: "refs/heads/HEAD", why: /"HEAD" is not a branch name/ },
    { input: "refs/heads/", why: /the name is empty/ },
    { input: "refs/tags/", why: /the name is empty/ },
    { input: LS_REMOTE_PEELED_TAG, why: /peeled tag/, fix: "refs/tags/v1.2.3" },
    { input: "refs/tags/v1 2", why: /whitespace/, fix: "refs/tags/v1-2" },
    // Pull and merge request numbers: positive, no leading zeros.
    { input: "refs/pull/007/merge", why: /leading zeros/, fix: "refs/pull/7/merge" },
    { input: "refs/merge-requests/0042/head", why: /leading zeros/, fix: "refs/merge-requests/42/head" },
    { input: "refs/pull/0/merge", why: /1 or more/ },
    { input: "refs/pull/x/merge", why: /"x" is not a pull or merge request number/ },
    { input: "refs/pull/-1/merge", why: /"-1" is not a pull/ },
    { input: "refs/pull/99999999999999999999/merge", why: /1 or more/ },
    { input: "refs/pull/7", why: /ends in \/merge or \/head/, fix: "refs/pull/7/merge" },
    { input: "refs/pull/7/files", why: /ends in \/merge or \/head/, fix: "refs/pull/7/merge" },
    { input: "refs/merge-requests/7/train", why: /ends in \/merge or \/head/, fix: "refs/merge-requests/7/head" },
    // Other namespaces.
    { input: "refs/remotes/origin/main", why: /remote-tracking ref/, fix: "refs/heads/main" },
    { input: "refs/remotes/origin", why: /remote-tracking ref/ },
    { input: "refs/notes/commits", why: /not a branch, tag, pull or merge request ref/ },
    { input: "refs/stash", why: /not a branch, tag/ },
    { input: "refs/changes/45/12345/2", why: /not a branch, tag/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseGitRef(row.input)),
      "--ref",
      row,
      (fix) => parseGitRef(fix),
    );
  });

  // git's own cases (t1402-check-ref-format.sh), as full refs and as a bare --ref name: dockyard agrees on each.
  const t1402 = T1402_CASES.flatMap((c) => [
    { line: c.line, ref: `refs/heads/${c.name}`, git: c.heads },
    { line: c.line, ref: `refs/tags/${c.name}`, git: c.tags },
    { line: c.line, ref: c.name, git: c.branch },
  ]);
  it.each(t1402)("t1402 line $line: $ref is valid: $git", ({ ref, git }) => {
    const accepted = (() => {
      try {
        parseGitRef(ref);
        return true;
      } catch (e) {
        if (e instanceof InvalidInputError) return false;
        throw e;
      }
    })();
    expect(accepted).toBe(git);
  });

  it("names the rule of git check-ref-format a name breaks", () => {
    expect(refNameProblem("v1.2.3")).toBeUndefined();
    expect(refNameProblem("a/b.lock/c")).toMatch(/\.lock/);
    expect(branchNameProblem("-x")).toMatch(/"-"/);
    expect(refNameProblem("-x")).toBeUndefined();
  });
});

describe("parseTag", () => {
  it.each(["latest", "1.2.3", "v1.2.3-rc.1", "_x", "A_b.c-d", "a".repeat(128)])("accepts %s", (tag) => {
    expect(parseTag(tag)).toBe(tag);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: "v1 ", why: /whitespace/, fix: "v1" },
    { input: "my tag", why: /holds whitespace/, fix: "my-tag" },
    { input: "feat/x", why: /not a valid image tag/, fix: "feat-x" },
    { input: "-x", why: /not a valid image tag/, fix: "x" },
    { input: ".x", why: /not a valid image tag/, fix: "x" },
    { input: "v1+build", why: /not a valid image tag/, fix: "v1-build" },
    { input: "a".repeat(129), why: /longer than 128/ },
    // docker/build-push-action's `tags` holds image refs: the tag is the part after ":".
    {
      input: "ghcr.io/acme/app:latest",
      why: /^--tags takes tags, not image refs; the image goes in --images$/,
      fix: "latest",
    },
    { input: "acme/app:1.2.3", why: /not image refs/, fix: "1.2.3" },
    { input: "localhost:5000/app:v1", why: /not image refs/, fix: "v1" },
    { input: "registry.example.com:443/a/b:edge", why: /not image refs/, fix: "edge" },
    { input: "ghcr.io:edge", why: /not image refs/, fix: "edge" },
    // Neither a path nor a registry host before ":": the slug, as for any other character.
    { input: "app:latest", why: /not a valid image tag/, fix: "app-latest" },
    { input: "ghcr.io/acme/app@sha256:abc", why: /not a valid image tag/, fix: "ghcr.io-acme-app-sha256-abc" },
  ];
  it.each(refusals)("refuses $input", (row) => {
    const err = refusalOf(() => parseTags(["ok", row.input]));
    if (row.input === "a".repeat(129)) {
      // The slug of a long tag is its first 119 characters, "-" and 8 hex of its sha256.
      expect(err.fix).toMatch(/^a{119}-[0-9a-f]{8}$/);
      row = { ...row, fix: err.fix };
    }
    expectRefusal(
      err,
      "--tags",
      row,
      listParse((v) => parseTags(v)),
    );
  });
});
