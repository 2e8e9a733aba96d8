/**
 * `--latest=auto` against what a registry already holds, pure: the release a ref gives, the highest release tag
 * of a repository's tags, and whether `latest` moves (only when the release is at least every repository's).
 */
import { compareSemver, parseSemver, type Semver } from "./semver.js";
import { refFacts, type LatestMode } from "./tags.js";

/** The release (non-prerelease semver tag) for which `auto` adds `latest`: the highest of the refs'; else undefined. */
export function autoLatestRelease(mode: LatestMode, refs: readonly string[]): Semver | undefined {
  if (mode !== "auto") return undefined;
  const releases = refs.flatMap((r) => {
    const v = refFacts(r).semver;
    return v && v.prerelease === undefined ? [v] : [];
  });
  return releases.reduce<Semver | undefined>((a, b) => (a && compareSemver(a, b) >= 0 ? a : b), undefined);
}

/** A release tag and its version. */
export interface ReleaseTag {
  tag: string;
  version: Semver;
}

/**
 * The highest release among `tags`: full X.Y.Z versions, `v`-prefixed or not. Floating (`1`, `1.2`), `latest`,
 * sha and branch tags and prereleases (`1.2.3-rc.1`) say nothing about which release is newest.
 */
export function highestRelease(tags: readonly string[]): ReleaseTag | undefined {
  let best: ReleaseTag | undefined;
  for (const tag of tags) {
    const version = parseSemver(tag);
    if (!version || version.prerelease !== undefined) continue;
    if (!best || compareSemver(version, best.version) > 0) best = { tag, version };
  }
  return best;
}

/** One target repository's tags, as tags/list gave them ([] for a repository that does not exist yet). */
export interface RepositoryTags {
  /** `host/repository`, as the result names images. */
  image: string;
  tags: readonly string[];
}

/** A repository whose highest release is above the one published. */
export interface NewerRelease {
  image: string;
  highest: string;
}

export type LatestVerdict = { move: true } | { move: false; release: string; newer: NewerRelease[] };

/** `latest` moves only when `release` is at least the highest release in every repository (equal moves it). */
export function latestVerdict(release: Semver, repositories: readonly RepositoryTags[]): LatestVerdict {
  const newer = repositories.flatMap(({ image, tags }) => {
    const highest = highestRelease(tags);
    return highest && compareSemver(release, highest.version) < 0 ? [{ image, highest: highest.tag }] : [];
  });
  return newer.length === 0 ? { move: true } : { move: false, release: release.text, newer };
}

/** Why `latest` stayed where it is, e.g. `latest not moved: 1.5.0 < 2.0.0 in ghcr.io/acme/app`; "" when it moved. */
export function describeVerdict(verdict: LatestVerdict): string {
  if (verdict.move) return "";
  const where = verdict.newer.map((n) => `${verdict.release} < ${n.highest} in ${n.image}`).join("; ");
  return `latest not moved: ${where}`;
}
