// Unit: the pure tag rules (src/tags/tags.ts), one table row per rule line of the README's table.
import { describe, expect, it } from "vitest";

import { computeTags, type LatestMode } from "../../src/tags/tags.js";
import { slugifyTag } from "../../src/tags/slug.js";
import { parseGitRef } from "../../src/input/gitref.js";
import { parseSemver } from "../../src/tags/semver.js";
import { COMMIT, COMMIT_SHA256 } from "../fixtures/commits.js";

interface Row {
  rule: string;
  ref?: string;
  commit?: string;
  shaLength?: number;
  latest?: LatestMode;
  tags?: string[];
  moreRefs?: string[];
  want: string[];
}

const sha7 = COMMIT.slice(0, 7);

const rows: Row[] = [
  // Sha tag
  { rule: "sha tag: first 7 characters by default", want: [sha7] },
  { rule: "sha tag: shaLength 4", shaLength: 4, want: [COMMIT.slice(0, 4)] },
  { rule: "sha tag: shaLength = commit length", shaLength: 40, want: [COMMIT] },
  { rule: "sha tag: 64-character commit", commit: COMMIT_SHA256, shaLength: 64, want: [COMMIT_SHA256] },
  // Ref forms and branches
  { rule: "branch: refs/heads/x", ref: "refs/heads/main", want: [sha7, "main"] },
  { rule: "branch: bare name means a branch", ref: "main", want: [sha7, "main"] },
  { rule: "branch: slug of a nested branch", ref: "refs/heads/feature/Login-Page", want: [sha7, "feature-login-page"] },
  { rule: "branch: bare nested name", ref: "feature/x", want: [sha7, "feature-x"] },
  { rule: "branch: slug empty gives no tag", ref: "refs/heads/+++", want: [sha7] },
  // Git tags
  {
    rule: "semver tag: version, X.Y, X, latest (auto)",
    ref: "refs/tags/v1.2.3",
    want: [sha7, "1.2.3", "1.2", "1", "latest"],
  },
  { rule: "semver tag without v", ref: "refs/tags/2.0.1", want: [sha7, "2.0.1", "2.0", "2", "latest"] },
  { rule: "semver tag: major 0 gives no X", ref: "refs/tags/v0.4.1", want: [sha7, "0.4.1", "0.4", "latest"] },
  { rule: "semver prerelease: only the version, no latest", ref: "refs/tags/v1.2.3-rc.1", want: [sha7, "1.2.3-rc.1"] },
  {
    rule: "semver build metadata: + becomes -, still a release",
    ref: "refs/tags/v1.2.3+build.5",
    want: [sha7, "1.2.3-build.5", "1.2", "1", "latest"],
  },
  {
    rule: "semver prerelease with build: + becomes -",
    ref: "refs/tags/v1.0.0-beta+exp.sha.5114f85",
    want: [sha7, "1.0.0-beta-exp.sha.5114f85"],
  },
  { rule: "not semver (leading zero): slug", ref: "refs/tags/v01.2.3", want: [sha7, "v01.2.3"] },
  { rule: "not semver (two parts): slug", ref: "refs/tags/v1.2", want: [sha7, "v1.2"] },
  { rule: "not semver tag: slug", ref: "refs/tags/Release/2024_Q1+x", want: [sha7, "release-2024_q1-x"] },
  // Pull and merge requests
  { rule: "pull request merge ref", ref: "refs/pull/42/merge", want: [sha7, "pr-42"] },
  { rule: "pull request head ref", ref: "refs/pull/7/head", want: [sha7, "pr-7"] },
  { rule: "GitLab merge request ref", ref: "refs/merge-requests/13/head", want: [sha7, "pr-13"] },
  // latest
  { rule: "latest auto: not for a branch", ref: "main", latest: "auto", want: [sha7, "main"] },
  { rule: "latest always: always", ref: "main", latest: "always", want: [sha7, "main", "latest"] },
  { rule: "latest always with no ref", latest: "always", want: [sha7, "latest"] },
  {
    rule: "latest never: never, even for a release tag",
    ref: "refs/tags/v1.2.3",
    latest: "never",
    want: [sha7, "1.2.3", "1.2", "1"],
  },
  {
    rule: "latest always: prerelease too",
    ref: "refs/tags/v2.0.0-alpha",
    latest: "always",
    want: [sha7, "2.0.0-alpha", "latest"],
  },
  // User tags and order
  {
    rule: "order: sha, ref tags, latest, user tags",
    ref: "refs/tags/v3.1.0",
    tags: ["stable", "Edge_1"],
    want: [sha7, "3.1.0", "3.1", "3", "latest", "stable", "Edge_1"],
  },
  { rule: "user tags used as given (uppercase kept)", tags: ["Nightly"], want: [sha7, "Nightly"] },
  {
    rule: "duplicates removed, first kept",
    ref: "main",
    tags: ["main", sha7, "x", "x"],
    want: [sha7, "main", "x"],
  },
  {
    rule: "duplicate from latest and user",
    ref: "refs/tags/v1.0.0",
    tags: ["latest"],
    want: [sha7, "1.0.0", "1.0", "1", "latest"],
  },
  {
    rule: "detached HEAD with several tags: tags of each, one latest",
    ref: "refs/tags/v1.1.0",
    moreRefs: ["refs/tags/stable-build"],
    want: [sha7, "1.1.0", "1.1", "1", "stable-build", "latest"],
  },
];

describe("computeTags", () => {
  it.each(rows)("$rule", (row) => {
    const tags = computeTags({
      commit: row.commit ?? COMMIT,
      refs: [...(row.ref !== undefined ? [row.ref] : []), ...(row.moreRefs ?? [])],
      shaLength: row.shaLength ?? 7,
      latest: row.latest ?? "auto",
      userTags: row.tags ?? [],
    });
    expect(tags).toEqual(row.want);
  });
});

describe("slugifyTag", () => {
  const long = "a".repeat(200);
  const longSlug = slugifyTag(long) ?? "";
  it.each([
    { rule: "lowercase", input: "Main", want: "main" },
    { rule: "run of other characters becomes one -", input: "feat//x  y", want: "feat-x-y" },
    { rule: "allowed characters kept", input: "a_b.c-d", want: "a_b.c-d" },
    { rule: "leading . and - dropped", input: ".-.x", want: "x" },
    { rule: "leading other characters dropped", input: "/x", want: "x" },
    { rule: "trailing - dropped", input: "x--//", want: "x" },
    { rule: "trailing . kept", input: "x.", want: "x." },
    { rule: "non-ASCII becomes -", input: "café-ü", want: "caf" },
    { rule: "empty gives no tag", input: "", want: undefined },
    { rule: "only separators gives no tag", input: "/-/", want: undefined },
    { rule: "128 characters kept whole", input: "b".repeat(128), want: "b".repeat(128) },
  ])("$rule", ({ input, want }) => {
    expect(slugifyTag(input)).toBe(want);
  });

  it("longer than 128: first 119, -, 8 hex of sha256(input)", () => {
    // sha256("a" * 200) starts with these 8 hex digits (computed with `printf 'a%.0s' {1..200} | sha256sum`).
    expect(longSlug).toBe(`${"a".repeat(119)}-c2a908d9`);
    expect(longSlug).toHaveLength(128);
  });

  it("two long names sharing 119 characters get different tags", () => {
    expect(slugifyTag(`${long}x`)).not.toBe(slugifyTag(`${long}y`));
  });

  it("a long branch gives a 128-character tag", () => {
    const refs = [`refs/heads/${"B".repeat(300)}`];
    expect(computeTags({ commit: COMMIT, refs, shaLength: 7, latest: "auto", userTags: [] })[1]).toHaveLength(128);
  });
});

describe("parseGitRef", () => {
  it.each([
    { ref: "refs/heads/main", want: { kind: "branch", name: "main" } },
    { ref: "refs/heads/a/b", want: { kind: "branch", name: "a/b" } },
    { ref: "refs/tags/v1", want: { kind: "tag", name: "v1" } },
    { ref: "refs/pull/5/merge", want: { kind: "pull", number: 5 } },
    { ref: "refs/pull/5/head", want: { kind: "pull", number: 5 } },
    { ref: "refs/merge-requests/9/head", want: { kind: "pull", number: 9 } },
    { ref: "develop", want: { kind: "branch", name: "develop" } },
  ])("$ref", ({ ref, want }) => {
    expect(parseGitRef(ref)).toEqual(want);
  });
});

describe("parseSemver", () => {
  it.each([
    { tag: "v1.2.3", want: "1.2.3", pre: undefined },
    { tag: "1.2.3-rc.1", want: "1.2.3-rc.1", pre: "rc.1" },
    { tag: "1.2.3-0.3.7", want: "1.2.3-0.3.7", pre: "0.3.7" },
    { tag: "10.20.30+meta", want: "10.20.30+meta", pre: undefined },
  ])("$tag", ({ tag, want, pre }) => {
    expect(parseSemver(tag)?.text).toBe(want);
    expect(parseSemver(tag)?.prerelease).toBe(pre);
  });

  it.each(["v1.2", "1.2.3.4", "01.2.3", "1.2.3-01", "vv1.2.3", "1.2.3-", "V1.2.3"])("%s is not semver", (tag) => {
    expect(parseSemver(tag)).toBeUndefined();
  });
});
