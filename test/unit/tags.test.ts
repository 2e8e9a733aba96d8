// Unit: the pure tag rules (src/tags/tags.ts), one table row per rule line of the README's table.
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import { quote } from "../../src/input/argument.js";
import { parseGitRef } from "../../src/input/gitref.js";
import { parseTag } from "../../src/input/usertags.js";
import { TagCollisionError } from "../../src/errors/index.js";
import { computeTags, tagOwner, type LatestMode, type TagRule } from "../../src/tags/tags.js";
import { isValidTag, slugifyTag } from "../../src/tags/slug.js";
import { compareSemver, parseSemver, type Semver } from "../../src/tags/semver.js";
import { COMMIT, COMMIT_SHA256 } from "../fixtures/commits.js";
import {
  NODE_SEMVER_INVALID,
  NODE_SEMVER_VALID,
  SEMVER_ORG_INVALID,
  SEMVER_ORG_VALID,
} from "../fixtures/semver-org.js";

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
  { rule: "not semver (leading zero): tag- and slug", ref: "refs/tags/v01.2.3", want: [sha7, "tag-v01.2.3"] },
  { rule: "not semver (two parts): tag- and slug", ref: "refs/tags/v1.2", want: [sha7, "tag-v1.2"] },
  { rule: "not semver tag: tag- and slug", ref: "refs/tags/Release/2024_Q1+x", want: [sha7, "tag-release-2024_q1-x"] },
  { rule: "not semver tag: slug empty gives no tag", ref: "refs/tags/+++", want: [sha7] },
  // A non-semver git tag's tag-<slug> lands on no other rule's tag.
  { rule: "git tag main: not the branch's main", ref: "refs/tags/main", want: [sha7, "tag-main"] },
  { rule: "git tag latest: not latest", ref: "refs/tags/latest", latest: "never", want: [sha7, "tag-latest"] },
  { rule: "git tag 1.2: not the release's 1.2", ref: "refs/tags/1.2", want: [sha7, "tag-1.2"] },
  { rule: "git tag pr-7: not pull request 7's", ref: "refs/tags/pr-7", want: [sha7, "tag-pr-7"] },
  { rule: "git tag of hex: not a sha tag", ref: "refs/tags/b2c3d4e", want: [sha7, "tag-b2c3d4e"] },
  {
    rule: "git tag sha256-<hex>.sig: not cosign's signature",
    ref: `refs/tags/sha256-${COMMIT_SHA256}.sig`,
    want: [sha7, `tag-sha256-${COMMIT_SHA256}.sig`],
  },
  // Version numbers are kept as written: a Number would round them.
  {
    rule: "semver past 2^53: digits kept (no X: 16 digits are sha-shaped)",
    ref: "refs/tags/v9007199254740993.1.0",
    want: [sha7, "9007199254740993.1.0", "9007199254740993.1", "latest"],
  },
  {
    rule: "semver.org's longest valid version: digits kept (no X: sha-shaped)",
    ref: "refs/tags/v99999999999999999999999.999999999999999999.99999999999999999",
    want: [
      sha7,
      "99999999999999999999999.999999999999999999.99999999999999999",
      "99999999999999999999999.999999999999999999",
      "latest",
    ],
  },
  {
    rule: "semver with a 4-digit major: no X, the sha rule owns 2024",
    ref: "refs/tags/v2024.1.0",
    want: [sha7, "2024.1.0", "2024.1", "latest"],
  },
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
    want: [sha7, "1.1.0", "1.1", "1", "tag-stable-build", "latest"],
  },
  // A branch's tag in another rule's shape is the user's to ask for: --tags claims it.
  {
    rule: "branch latest with --tags=latest: the user's choice",
    ref: "refs/heads/latest",
    latest: "never",
    tags: ["latest"],
    want: [sha7, "latest"],
  },
  { rule: "branch 1.2 with --tags=1.2: the user's choice", ref: "refs/heads/1.2", tags: ["1.2"], want: [sha7, "1.2"] },
  {
    rule: "user tags in other rules' shapes: used as given",
    tags: ["1.2", "pr-7", "b2c3d4e"],
    want: [sha7, "1.2", "pr-7", "b2c3d4e"],
  },
  { rule: "a branch that only looks close: its slug", ref: "refs/heads/latest-fix", want: [sha7, "latest-fix"] },
  { rule: "a 3-character hex branch: its slug (sha tags have 4 or more)", ref: "refs/heads/add", want: [sha7, "add"] },
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

describe("computeTags: a branch whose tag another rule owns is refused", () => {
  const HEAD_PARENT_SHA7 = "b2c3d4e"; // what users pin: HEAD~1's sha tag
  const digest = COMMIT_SHA256;
  it.each<{ ref: string; tag: string; owner: TagRule; latest?: LatestMode }>([
    { ref: `refs/heads/${HEAD_PARENT_SHA7}`, tag: HEAD_PARENT_SHA7, owner: "sha" },
    { ref: HEAD_PARENT_SHA7, tag: HEAD_PARENT_SHA7, owner: "sha" },
    { ref: "refs/heads/ABCDEF1", tag: "abcdef1", owner: "sha" },
    { ref: "refs/heads/2024", tag: "2024", owner: "sha" },
    { ref: `refs/heads/${COMMIT_SHA256}`, tag: COMMIT_SHA256, owner: "sha" },
    { ref: "refs/heads/latest", tag: "latest", owner: "latest", latest: "never" },
    { ref: "refs/heads/Latest", tag: "latest", owner: "latest" },
    { ref: "latest", tag: "latest", owner: "latest" },
    { ref: "refs/heads/1", tag: "1", owner: "semver" },
    { ref: "refs/heads/1.2", tag: "1.2", owner: "semver" },
    { ref: "refs/heads/1.2.3", tag: "1.2.3", owner: "semver" },
    { ref: "refs/heads/1.2.3-rc.1", tag: "1.2.3-rc.1", owner: "semver" },
    { ref: "1.2", tag: "1.2", owner: "semver" },
    { ref: "refs/heads/pr-7", tag: "pr-7", owner: "pull request" },
    { ref: "refs/heads/PR/7", tag: "pr-7", owner: "pull request" },
    { ref: `refs/heads/sha256-${digest}`, tag: `sha256-${digest}`, owner: "signature" },
    { ref: `refs/heads/sha256-${digest}.sig`, tag: `sha256-${digest}.sig`, owner: "signature" },
    { ref: `refs/heads/sha256-${digest}.att`, tag: `sha256-${digest}.att`, owner: "signature" },
    { ref: `refs/heads/sha256-${digest}.sbom`, tag: `sha256-${digest}.sbom`, owner: "signature" },
    { ref: "refs/heads/sha512-x", tag: "sha512-x", owner: "signature" },
    { ref: "refs/heads/tag-main", tag: "tag-main", owner: "git tag" },
    { ref: "refs/heads/1a2b3c4-linux-amd64", tag: "1a2b3c4-linux-amd64", owner: "staging" },
    { ref: "refs/heads/1a2b3c4-Linux-ARM-v7", tag: "1a2b3c4-linux-arm-v7", owner: "staging" },
    { ref: "refs/heads/cafe-windows-arm64", tag: "cafe-windows-arm64", owner: "staging" },
  ])("$ref gives $tag, which the $owner rule owns", ({ ref, tag, owner, latest }) => {
    let err: unknown;
    try {
      computeTags({ commit: COMMIT, refs: [ref], shaLength: 7, latest: latest ?? "auto", userTags: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TagCollisionError);
    expect(err).toBeInstanceOf(InvalidInputError);
    const e = err as TagCollisionError;
    expect(e.code).toBe("DOCKYARD_INVALID_INPUT");
    expect({ ref: e.ref, tag: e.tag, owner: e.owner }).toEqual({ ref, tag, owner });
    expect(e.message).toContain(
      `ref ${quote(ref)} would give the image tag ${quote(tag)}, which belongs to the ${owner} rule`,
    );
    expect(e.message).toContain(`rename the branch, or pass --tags=${tag} to publish that tag on purpose`);
    expect(e.message).toContain("if it came from --ref, pass the full ref you meant");
    // The fix it offers passes the parser it is offered for.
    expect(parseTag(tag)).toBe(tag);
  });

  it.each([
    { tag: "1a2b", owner: "sha" },
    { tag: "0", owner: "semver" },
    { tag: "10.20", owner: "semver" },
    { tag: "1.2.3-x", owner: "semver" },
    { tag: "1.2.3.4", owner: "branch" },
    { tag: "v1.2.3", owner: "branch" },
    { tag: "abc", owner: "branch" },
    { tag: "pr-x", owner: "branch" },
    { tag: "sha256", owner: "branch" },
    { tag: "main", owner: "branch" },
    { tag: "cafe-add-menu", owner: "branch" },
    { tag: "cafe-linux-fix", owner: "branch" },
    { tag: "abc1234-linux-amd64-extra", owner: "branch" },
    { tag: "abc-linux-amd64", owner: "branch" },
  ])("$tag belongs to the $owner rule", ({ tag, owner }) => {
    expect(tagOwner(tag)).toBe(owner);
  });

  it("long versions and names give valid tags; X.Y and X are never cut", () => {
    const refs = [`refs/tags/${"1".repeat(255)}.0.0`, `refs/tags/${"x".repeat(300)}`];
    const tags = computeTags({ commit: COMMIT, refs, shaLength: 7, latest: "auto", userTags: [] });
    expect(tags.every(isValidTag)).toBe(true);
    expect(tags).toEqual([
      sha7,
      expect.stringMatching(/^1{119}-[0-9a-f]{8}$/),
      expect.stringMatching(/^tag-x{115}-[0-9a-f]{8}$/),
      "latest",
    ]);
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

/** major.minor.patch as parsed, against the version as written: a Number would print 1e+23. */
function core(v: Semver | undefined): string | undefined {
  return v && `${v.major}.${v.minor}.${v.patch}`;
}
const writtenCore = (text: string) => text.replace(/^v/, "").split(/[-+]/)[0];

describe("parseSemver agrees with SemVer 2.0.0's own lists (test/fixtures/semver-org.ts)", () => {
  it.each(SEMVER_ORG_VALID)("semver.org: %s is valid", (version) => {
    expect(core(parseSemver(version))).toBe(writtenCore(version));
  });

  it.each(SEMVER_ORG_INVALID)("semver.org: %s is invalid", (version) => {
    expect(parseSemver(version)).toBeUndefined();
  });

  it.each(NODE_SEMVER_VALID)("node-semver: %s is %s.%s.%s, prerelease %j, build %j", (version, ...want) => {
    const v = parseSemver(version);
    expect([v?.major, v?.minor, v?.patch, v?.prerelease ?? "", v?.build ?? ""]).toEqual(want);
  });

  it.each(NODE_SEMVER_INVALID)("node-semver: $value ($reason) is SemVer 2.0.0: $semver2", ({ value, semver2 }) => {
    expect(core(parseSemver(value))).toBe(semver2 ? writtenCore(value) : undefined);
  });
});

describe("compareSemver: SemVer 2.0.0 precedence", () => {
  // semver.org item 11's own order, then numbers past 2^53 and past 2^64.
  const ordered = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
    "9007199254740992.0.0",
    "9007199254740993.0.0",
    "99999999999999999999999.0.0",
  ];
  it.each(ordered.slice(1).map((newer, i) => [ordered[i] ?? "", newer]))("%s < %s", (older, newer) => {
    const a = parseSemver(older);
    const b = parseSemver(newer);
    if (!a || !b) throw new Error("not semver");
    expect(compareSemver(a, b)).toBeLessThan(0);
    expect(compareSemver(b, a)).toBeGreaterThan(0);
  });

  it("build metadata does not count", () => {
    const [a, b] = [parseSemver("1.0.0+a"), parseSemver("1.0.0+b")];
    if (!a || !b) throw new Error("not semver");
    expect(compareSemver(a, b)).toBe(0);
  });
});
