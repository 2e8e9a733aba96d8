/** `--commit`: a full git object id, SHA-1 (40 hex) or SHA-256 (64 hex). */
import { checkText, parseWholeNumber, refuse, type Grammar } from "./argument.js";

const CI_HINT = 'in GitHub Actions "$GITHUB_SHA", in GitLab CI "$CI_COMMIT_SHA", locally "$(git rev-parse HEAD)"';

/**
 * A full commit id, returned lowercase (hex is case-insensitive; git prints lowercase). Refused: an abbreviation
 * (the fix says how to get the full id), a ref name, git's all-zero "no commit" id, an unexpanded `$VARIABLE`.
 */
export function parseCommit(value: string, flag = "--commit"): string {
  const g: Grammar = { flag, check: (s) => parseCommit(s, flag) };
  if (value === "") refuse(g, value, "must not be empty", undefined, `pass the full commit id: ${CI_HINT}`);
  checkText(g, value);
  if (/^\$\{?[A-Za-z_]/.test(value)) {
    refuse(g, value, "is a variable the shell did not expand", undefined, `use double quotes, e.g. ${CI_HINT}`);
  }
  const hex = /^[0-9a-fA-F]+$/.test(value);
  if (hex && (value.length === 40 || value.length === 64)) {
    if (/^0+$/.test(value)) {
      refuse(
        g,
        value,
        'is git\'s all-zero id, which means "no commit" (e.g. $CI_COMMIT_BEFORE_SHA on a new branch)',
        undefined,
        `pass the commit being built: ${CI_HINT}`,
      );
    }
    return value.toLowerCase();
  }
  if (hex && value.length < 40) {
    refuse(
      g,
      value,
      `is abbreviated (${value.length} characters): a full commit id is 40 (SHA-1) or 64 (SHA-256) hex characters`,
      undefined,
      `run "git rev-parse ${value}" and pass its output, or ${CI_HINT}`,
    );
  }
  if (hex) {
    refuse(
      g,
      value,
      `has ${value.length} hex characters: a commit id has 40 (SHA-1) or 64 (SHA-256)`,
      undefined,
      CI_HINT,
    );
  }
  // A branch, tag or HEAD given where the commit id goes.
  const revision = /^[A-Za-z0-9][A-Za-z0-9._/@{}~^-]*$/.test(value);
  refuse(
    g,
    value,
    "is not a commit id (40 or 64 hex characters)",
    undefined,
    revision ? `run "git rev-parse ${value}" and pass its output; a branch or tag goes in --ref` : CI_HINT,
  );
}

export const MIN_SHA_LENGTH = 4;

/** The sha tag's length when --sha-length is not given, as `git rev-parse --short` gives it. */
export const DEFAULT_SHA_LENGTH = 7;

/**
 * `--sha-length`: how many characters of the commit the sha tag keeps, a whole number from 4 to the commit's
 * length (`commitLength`: 40 or 64; 64 while the commit is not known yet). The fix is the nearest valid length.
 */
export function parseShaLength(value: number, commitLength = 64, flag = "--sha-length"): number {
  const unit = commitLength === 64 ? "(the longest commit id)" : "(the commit's length)";
  return parseWholeNumber(
    value,
    { flag },
    { min: MIN_SHA_LENGTH, max: commitLength, fallback: DEFAULT_SHA_LENGTH, unit },
  );
}
