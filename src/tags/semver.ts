export interface Semver {
  major: number;
  minor: number;
  patch: number;
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
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease,
    build,
    text: text ?? "",
  };
}
