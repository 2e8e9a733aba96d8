// Unit: how commit and refs are resolved from the arguments and the source's .git (src/git/source.ts), over a fake reader.
import { describe, expect, it } from "vitest";

import { GitSourceError } from "../../src/errors/index.js";
import {
  dirtyCheckFailedError,
  dirtyCheckoutError,
  resolveGit,
  type GitReader,
  type SourceGit,
} from "../../src/git/source.js";

const H = "a".repeat(40); // HEAD
const P = "b".repeat(40); // HEAD's parent
const M = "c".repeat(40); // a merge commit HEAD does not contain (GITHUB_SHA on pull_request)

interface Repo {
  head?: { commit: string; ref: string } | Error;
  tags?: Record<string, string>;
  ancestors?: string[];
}

/** A repository HEAD `head` with the given tags; `ancestors` are the commits merge-base finds under HEAD. */
function reader(repo: Repo, calls: string[] = []): SourceGit {
  const r: GitReader = {
    head: async () => {
      calls.push("head");
      if (repo.head instanceof Error) throw repo.head;
      return repo.head ?? { commit: H, ref: "refs/heads/main" };
    },
    tags: async () => {
      calls.push("tags");
      return Object.keys(repo.tags ?? {});
    },
    tagCommit: async (name) => {
      calls.push(`tag ${name}`);
      return repo.tags?.[name] ?? repo.tags?.[`refs/tags/${name}`] ?? "";
    },
    mergeBase: async (commit) => {
      calls.push(`merge-base ${commit.slice(0, 1)}`);
      if (![H, ...(repo.ancestors ?? [])].includes(commit)) throw new Error(`fatal: Not a valid commit name ${commit}`);
      return commit;
    },
  };
  return { kind: "git", reader: r };
}

describe("resolveGit", () => {
  it.each([
    {
      rule: "HEAD on a branch: the branch",
      source: reader({}),
      want: { commit: H, refs: ["refs/heads/main"], inRepository: true },
    },
    {
      rule: "detached HEAD: the git tags at HEAD, semver newest first",
      source: reader({ head: { commit: H, ref: "HEAD" }, tags: { "v1.0.0": H, "v1.1.0": H, nightly: H, "v0.9.0": P } }),
      want: { commit: H, refs: ["refs/tags/v1.1.0", "refs/tags/v1.0.0", "refs/tags/nightly"], inRepository: true },
    },
    {
      rule: "detached HEAD: a release before its prereleases (SemVer precedence)",
      source: reader({ head: { commit: H, ref: "HEAD" }, tags: { "v1.0.0-rc.1": H, "v1.0.0": H, "v1.0.0-rc.2": H } }),
      want: { refs: ["refs/tags/v1.0.0", "refs/tags/v1.0.0-rc.2", "refs/tags/v1.0.0-rc.1"] },
    },
    {
      rule: "detached HEAD: numbers compared whole, past 2^53",
      source: reader({
        head: { commit: H, ref: "HEAD" },
        tags: { "v9007199254740992.0.0": H, "v9007199254740993.0.0": H, "v10.0.0": H },
      }),
      want: { refs: ["refs/tags/v9007199254740993.0.0", "refs/tags/v9007199254740992.0.0", "refs/tags/v10.0.0"] },
    },
    {
      rule: "detached HEAD: a leading-zero tag is not a version, so it sorts with the others",
      source: reader({ head: { commit: H, ref: "HEAD" }, tags: { "v01.0.0": H, "v1.0.0": H } }),
      want: { refs: ["refs/tags/v1.0.0", "refs/tags/v01.0.0"] },
    },
    {
      rule: "HEAD on a branch git accepts and --ref would too: -dash",
      source: reader({ head: { commit: H, ref: "refs/heads/-dash" } }),
      want: { refs: ["refs/heads/-dash"] },
    },
    {
      rule: "detached HEAD, tags listed in full form",
      source: reader({ head: { commit: H, ref: "HEAD" }, tags: { "refs/tags/v2.0.0": H } }),
      want: { commit: H, refs: ["refs/tags/v2.0.0"], inRepository: true },
    },
    {
      rule: "given ref wins over .git",
      given: { ref: "refs/pull/7/merge" },
      source: reader({}),
      want: { commit: H, refs: ["refs/pull/7/merge"], inRepository: true },
    },
    {
      rule: "given commit = HEAD: refs from .git",
      given: { commit: H },
      source: reader({}),
      want: { commit: H, refs: ["refs/heads/main"], inRepository: true },
    },
    {
      rule: "given commit an ancestor of HEAD: built from it, no refs from .git",
      given: { commit: P },
      source: reader({ ancestors: [P] }),
      want: { commit: P, refs: [], inRepository: true },
    },
    {
      rule: "no .git: the arguments are trusted",
      given: { commit: M, ref: "main" },
      source: { kind: "no .git" } as SourceGit,
      want: { commit: M, refs: ["main"], inRepository: false },
    },
    {
      rule: "no .git, commit only: sha tag only",
      given: { commit: M },
      source: { kind: "no .git" } as SourceGit,
      want: { commit: M, refs: [], inRepository: false },
    },
    {
      rule: "no source, commit and ref: trusted (tags needs no engine)",
      given: { commit: M, ref: "refs/tags/v1.0.0" },
      source: { kind: "no source" } as SourceGit,
      want: { commit: M, refs: ["refs/tags/v1.0.0"], inRepository: false },
    },
  ])("$rule", async ({ given, source, want }) => {
    expect(await resolveGit(given ?? {}, source)).toMatchObject(want);
  });

  it.each([
    {
      rule: "a commit HEAD does not contain is refused, naming both",
      given: { commit: M },
      source: reader({}),
      match: new RegExp(
        `--commit "${M}" is not in the history of the source's HEAD ${H}.*GITHUB_SHA is the merge commit`,
      ),
    },
    {
      rule: "no source and no commit: pass --source=.",
      given: { ref: "main" },
      source: { kind: "no source" } as SourceGit,
      match: /no --source was given; pass --source=\./,
    },
    {
      rule: "no .git and no commit",
      given: {},
      source: { kind: "no .git" } as SourceGit,
      match: /the source has no \.git folder; pass --commit and --ref/,
    },
    {
      rule: "an unreadable .git fails closed, with the engine's reason",
      given: { commit: H, ref: "main" },
      source: reader({ head: new Error("git error: not a git repository") }),
      match: /\.git cannot be read \(git error: not a git repository\).*--allow-dirty with --commit and --ref/,
    },
    {
      rule: "a SHA-256 repository, whose ids Dagger v0.21 does not take for commits, is named as such",
      given: {},
      source: reader({ head: new Error(`invalid commit sha "${"e".repeat(64)}" for "refs/heads/main"`) }),
      match:
        /SHA-256 repository, which Dagger v0\.21 cannot read \(invalid commit sha .*--allow-dirty with --commit and --ref/,
    },
  ])("$rule", async ({ given, source, match }) => {
    const err = await resolveGit(given, source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitSourceError);
    expect((err as Error).message).toMatch(match);
  });

  // Names git accepts and dockyard's ref grammar does not: the error is about the source's .git, not a --ref.
  it.each([
    {
      rule: "a git tag at a detached HEAD with a zero-width space",
      source: reader({ head: { commit: H, ref: "HEAD" }, tags: { "v1.0.0\u200b": H } }),
      shown: String.raw`the git tag at HEAD "refs/tags/v1.0.0\u200b"`,
      why: /control character U\+200B \(zero-width space\)/,
      example: '--ref "refs/tags/v1.0.0"',
    },
    {
      rule: "HEAD's branch with a no-break space",
      source: reader({ head: { commit: H, ref: "refs/heads/a\u00a0b" } }),
      shown: String.raw`HEAD's branch "refs/heads/a\u00a0b"`,
      why: /whitespace \(U\+00A0 \(no-break space\)\)/,
      example: '--ref "refs/heads/a-b"',
    },
  ])("$rule: reported as the source's .git, with --ref the way past", async ({ source, shown, why, example }) => {
    const err = await resolveGit({}, source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitSourceError);
    const message = (err as Error).message;
    expect(message.startsWith(`the source's .git names ${shown}, which dockyard cannot tag from: `)).toBe(true);
    expect(message).toMatch(why);
    expect(message.endsWith(`; pass --ref to choose the ref (e.g. ${example})`)).toBe(true);
    expect(message).not.toMatch(/^--ref/);
  });

  it("a name dockyard refuses is no obstacle when --ref is given", async () => {
    const source = reader({ head: { commit: H, ref: "HEAD" }, tags: { "v1.0.0\u200b": H } });
    expect((await resolveGit({ ref: "refs/tags/v1.0.0" }, source)).refs).toEqual(["refs/tags/v1.0.0"]);
  });

  it("the GitLab hint maps each pipeline kind to a full ref, never the bare $CI_COMMIT_REF_NAME", async () => {
    const err = (await resolveGit({}, { kind: "no .git" }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('"refs/tags/$CI_COMMIT_TAG"');
    expect(err.message).not.toContain("CI_COMMIT_REF_NAME");
  });

  it("reads no tags when HEAD is on a branch, and checks ancestry only for another commit", async () => {
    const calls: string[] = [];
    await resolveGit({}, reader({}, calls));
    await resolveGit({ commit: H }, reader({}, calls));
    expect(calls).toEqual(["head", "head"]);
  });
});

describe("guard messages", () => {
  it("a dirty checkout names paths and the way past it", () => {
    const e = dirtyCheckoutError(H, ["a", "b", "c", "d", "e", "f"]);
    expect(e.message).toMatch(/uncommitted changes \("a", "b", "c", "d", "e" and 1 more\): an image tagged aaaaaaa/);
    expect(e.message).toMatch(/--allow-dirty/);
  });

  // A path is quoted as JSON: a line break in a file name would start a line GitHub's runner reads as a command.
  it.each([
    { path: "x\n::error title=x::pwned", shown: String.raw`"x\n::error title=x::pwned"` },
    { path: "a\r\n::warning::b", shown: String.raw`"a\r\n::warning::b"` },
    { path: "line\u2028sep", shown: String.raw`"line\u2028sep"` },
    { path: "rtl\u202efdp.exe", shown: String.raw`"rtl\u202efdp.exe"` },
    { path: 'quo"te', shown: String.raw`"quo\"te"` },
  ])("a dirty path $shown is quoted, on one line", ({ path, shown }) => {
    const message = dirtyCheckoutError(H, [path]).message;
    expect(message).toContain(`uncommitted changes (${shown}): `);
    expect(message).not.toMatch(/[\r\n\u2028\u2029\u202e]/);
  });

  it("a failed check fails closed with the cause", () => {
    expect(dirtyCheckFailedError("index file corrupt").message).toMatch(
      /could not check the source for uncommitted changes \(index file corrupt\).*--allow-dirty/,
    );
  });
});
