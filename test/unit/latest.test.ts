// Unit: --latest=auto against a registry's tags, pure (src/tags/latest.ts): the release a ref gives, the highest
// release among a repository's tags, and whether latest moves; plus the Markdown line that says why it did not.
import { describe, expect, it } from "vitest";

import { renderMarkdown } from "../../src/push/publication.js";
import {
  autoLatestRelease,
  describeVerdict,
  highestRelease,
  latestVerdict,
  type RepositoryTags,
} from "../../src/tags/latest.js";
import type { LatestMode } from "../../src/tags/tags.js";
import { parseSemver } from "../../src/tags/semver.js";
import { COMMIT } from "../fixtures/commits.js";

const APP = "ghcr.io/acme/app";
const MIRROR = "docker.io/acme/app";

describe("autoLatestRelease: the release for which auto would add latest", () => {
  it.each<{ why: string; mode: LatestMode; refs: string[]; want: string | undefined }>([
    { why: "a release tag", mode: "auto", refs: ["refs/tags/v1.5.0"], want: "1.5.0" },
    { why: "without v", mode: "auto", refs: ["refs/tags/1.5.0"], want: "1.5.0" },
    { why: "a prerelease gives none", mode: "auto", refs: ["refs/tags/v2.0.0-rc.1"], want: undefined },
    { why: "a branch gives none", mode: "auto", refs: ["refs/heads/main"], want: undefined },
    { why: "a pull request gives none", mode: "auto", refs: ["refs/pull/7/merge"], want: undefined },
    { why: "a non-semver tag gives none", mode: "auto", refs: ["refs/tags/nightly"], want: undefined },
    { why: "no ref", mode: "auto", refs: [], want: undefined },
    {
      why: "several tags at one commit: the highest release",
      mode: "auto",
      refs: ["refs/tags/v1.5.0", "refs/tags/v1.10.0", "refs/tags/v2.0.0-rc.1"],
      want: "1.10.0",
    },
    { why: "always reads no registry", mode: "always", refs: ["refs/tags/v1.5.0"], want: undefined },
    { why: "never reads no registry", mode: "never", refs: ["refs/tags/v1.5.0"], want: undefined },
  ])("$why", ({ mode, refs, want }) => {
    expect(autoLatestRelease(mode, refs)?.text).toBe(want);
  });
});

describe("highestRelease: only full X.Y.Z releases count", () => {
  it.each<{ why: string; tags: string[]; want: string | undefined }>([
    { why: "empty repository", tags: [], want: undefined },
    { why: "releases, by precedence not text", tags: ["1.9.0", "1.10.0", "1.2.3"], want: "1.10.0" },
    { why: "v-prefixed full versions count", tags: ["1.9.0", "v2.0.0"], want: "v2.0.0" },
    { why: "floating tags are ignored", tags: ["1.4.0", "1", "1.9", "9", "9.9"], want: "1.4.0" },
    { why: "latest, sha and branch tags are ignored", tags: ["latest", "3f4e5d6", "main", "pr-7"], want: undefined },
    { why: "prereleases are ignored", tags: ["1.4.0", "3.0.0-rc.1", "v3.0.0-beta"], want: "1.4.0" },
    { why: "a publish's build-metadata tag is a prerelease", tags: ["1.4.0", "2.0.0-build.5"], want: "1.4.0" },
    { why: "leading zeros are not semver", tags: ["1.4.0", "01.0.0"], want: "1.4.0" },
    { why: "staging and signature tags are ignored", tags: ["3f4e5d6-linux-amd64", "sha256-ab.sig"], want: undefined },
    {
      why: "digits beyond 2^53 compare exactly",
      tags: ["9007199254740993.0.0", "9007199254740992.0.0"],
      want: "9007199254740993.0.0",
    },
  ])("$why", ({ tags, want }) => {
    expect(highestRelease(tags)?.tag).toBe(want);
  });
});

describe("latestVerdict: latest moves when the release is at least every repository's highest", () => {
  const repo = (tags: string[], image = APP): RepositoryTags => ({ image, tags });
  it.each<{ why: string; release: string; repositories: RepositoryTags[]; want: string }>([
    {
      why: "older than the repository's highest",
      release: "1.5.0",
      repositories: [repo(["2.0.0", "latest"])],
      want: `latest not moved: 1.5.0 < 2.0.0 in ${APP}`,
    },
    { why: "newer", release: "2.1.0", repositories: [repo(["2.0.0", "latest"])], want: "" },
    { why: "equal (a re-run of the same release)", release: "2.0.0", repositories: [repo(["2.0.0"])], want: "" },
    { why: "equal but for build metadata", release: "2.0.0+b.7", repositories: [repo(["2.0.0"])], want: "" },
    { why: "empty repository (or one not there yet)", release: "0.1.0", repositories: [repo([])], want: "" },
    {
      why: "only floating and prerelease tags",
      release: "1.0.0",
      repositories: [repo(["9", "9.9", "9.9.9-rc.1", "latest"])],
      want: "",
    },
    {
      why: "a v-prefixed higher release",
      release: "1.5.0",
      repositories: [repo(["v2.0.0"])],
      want: `latest not moved: 1.5.0 < v2.0.0 in ${APP}`,
    },
    { why: "a release above a prerelease of it", release: "2.0.0", repositories: [repo(["2.0.0-rc.2"])], want: "" },
    {
      why: "every repository must agree: one newer holds latest back in all",
      release: "1.5.0",
      repositories: [repo(["1.4.0"]), repo(["1.6.0"], MIRROR)],
      want: `latest not moved: 1.5.0 < 1.6.0 in ${MIRROR}`,
    },
    {
      why: "each repository holding a newer release is named",
      release: "1.5.0",
      repositories: [repo(["2.0.0"]), repo(["1.6.0"], MIRROR)],
      want: `latest not moved: 1.5.0 < 2.0.0 in ${APP}; 1.5.0 < 1.6.0 in ${MIRROR}`,
    },
    { why: "no repository", release: "1.0.0", repositories: [], want: "" },
  ])("$why", ({ release, repositories, want }) => {
    const verdict = latestVerdict(parseSemver(release)!, repositories);
    expect(verdict.move).toBe(want === "");
    expect(describeVerdict(verdict)).toBe(want);
  });
});

describe("the Markdown summary says why latest stayed", () => {
  const data = {
    refs: [`${APP}:1.5.0`],
    digest: "",
    tags: ["1.5.0"],
    images: [APP],
    platforms: [],
    platformDigests: [],
    built: false,
    pushed: false,
    verified: false,
    commit: COMMIT,
    dirty: false,
  };
  it.each([
    {
      latestNote: `latest not moved: 1.5.0 < 2.0.0 in ${APP}`,
      want: [`| latest | not moved: 1.5.0 < 2.0.0 in ${APP} |`],
    },
    { latestNote: "", want: [] },
    { latestNote: undefined, want: [] },
  ])("note $latestNote", ({ latestNote, want }) => {
    const lines = renderMarkdown({ ...data, ...(latestNote === undefined ? {} : { latestNote }) }).split("\n");
    expect(lines.filter((l) => l.startsWith("| latest"))).toEqual(want);
  });
});
