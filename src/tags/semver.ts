export interface Semver {
  /** Major, minor and patch as their decimal strings: SemVer sets no bound, and a Number loses digits past 2^53. */
  major: string;
  minor: string;
  patch: string;
  prerelease: string | undefined;
  build: string | undefined;
  /** The version without a leading `v`, as written. */
  text: string;
}

// Semantic Versioning 2.0.0: no leading zeros in numbers or numeric prerelease identifiers.
const NUM = "0|[1-9]\\d*";
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER = new RegExp(
  `^v?((${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?)$`,
);

/** Parses `v1.2.3`, `1.2.3-rc.1+build.5`; undefined when `tag` is not semver. */
export function parseSemver(tag: string): Semver | undefined {
  const m = SEMVER.exec(tag);
  if (!m) return undefined;
  const [, text, major, minor, patch, prerelease, build] = m;
  return { major: major ?? "0", minor: minor ?? "0", patch: patch ?? "0", prerelease, build, text: text ?? "" };
}

/** SemVer 2.0.0 precedence (item 11): < 0 when `a` is older than `b`, 0 when equal (build metadata is ignored). */
export function compareSemver(a: Semver, b: Semver): number {
  const core = compareNumber(a.major, b.major) || compareNumber(a.minor, b.minor) || compareNumber(a.patch, b.patch);
  if (core !== 0) return core;
  if (a.prerelease === undefined || b.prerelease === undefined) {
    // A release is newer than its prereleases.
    return (a.prerelease === undefined ? 1 : 0) - (b.prerelease === undefined ? 1 : 0);
  }
  const pa = a.prerelease.split(".");
  const pb = b.prerelease.split(".");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareIdentifier(pa[i] ?? "", pb[i] ?? "");
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function compareNumber(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Numeric identifiers compare as numbers and sort before alphanumeric ones, which compare in ASCII order.
function compareIdentifier(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return compareNumber(a, b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
