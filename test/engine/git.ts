// Rung 3 (engine double): GitRepository/GitRef/Changeset answers computed with the real git CLI on the host folder.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export interface GitRefInfo {
  commit: string;
  ref: string;
}

export interface ChangesetInfo {
  addedPaths: string[];
  modifiedPaths: string[];
  removedPaths: string[];
}

/** Runs git in `dir` only: the ceiling stops it from finding an enclosing repository, as an engine snapshot would. */
function git(dir: string, args: string[]): string {
  try {
    return execFileSync("git", ["-c", "safe.directory=*", "-C", dir, ...args], {
      encoding: "utf8",
      env: { ...process.env, GIT_CEILING_DIRECTORIES: dirname(dir), LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? "";
    throw new Error(`git ${args.join(" ")}: ${stderr.trim() || String(e)}`);
  }
}

/** Real Dagger fails on a folder without .git when it first runs git there; the message is git's own. */
export function assertGitRepository(dir: string): void {
  if (!existsSync(join(dir, ".git"))) {
    throw new Error("git: fatal: not a git repository (or any of the parent directories): .git");
  }
}

/**
 * HEAD as Dagger resolves it (util/gitutil remote.go: ls-remote --symref): on a branch, ref is
 * "refs/heads/<branch>"; detached, no symref exists and the ref name stays "HEAD".
 */
export function gitHead(dir: string): GitRefInfo {
  const commit = git(dir, ["rev-parse", "--verify", "HEAD^{commit}"]).trim();
  let ref = "HEAD";
  try {
    ref = git(dir, ["symbolic-ref", "-q", "HEAD"]).trim() || "HEAD";
  } catch {
    ref = "HEAD";
  }
  return { commit, ref };
}

/** A tag's commit, annotated tags peeled; unknown tags fail like Dagger's ls-remote lookup. */
export function gitTag(dir: string, name: string): GitRefInfo {
  const full = `refs/tags/${name.replace(/^refs\/tags\//, "")}`;
  try {
    return { commit: git(dir, ["rev-parse", "--verify", "-q", `${full}^{commit}`]).trim(), ref: full };
  } catch {
    throw new Error(`[ls-remote] repository does not contain ref "${name}"`);
  }
}

/** Glob as git's tail match: a pattern matches the full ref name or any suffix starting after a "/". */
function tailMatch(pattern: string, refName: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  const parts = refName.split("/");
  return parts.some((_, i) => re.test(parts.slice(i).join("/")));
}

function listRefs(dir: string, prefix: string, patterns: readonly string[] | undefined): string[] {
  const out = git(dir, ["for-each-ref", "--format=%(refname)", prefix]);
  const names = out.split("\n").filter((l) => l !== "");
  const matched = patterns && patterns.length > 0 ? names.filter((n) => patterns.some((p) => tailMatch(p, n))) : names;
  return matched.map((n) => n.slice(prefix.length + 1));
}

export function gitTags(dir: string, patterns?: readonly string[]): string[] {
  return listRefs(dir, "refs/tags", patterns);
}

export function gitBranches(dir: string, patterns?: readonly string[]): string[] {
  return listRefs(dir, "refs/heads", patterns);
}

/** Worktree and index against HEAD; untracked files that are not ignored count as added. */
export function gitUncommitted(dir: string): ChangesetInfo {
  const out = git(dir, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"]);
  const info: ChangesetInfo = { addedPaths: [], modifiedPaths: [], removedPaths: [] };
  for (const entry of out.split("\0").filter((e) => e !== "")) {
    const code = entry.slice(0, 2);
    const path = entry.slice(3);
    if (code === "??" || code.includes("A")) info.addedPaths.push(path);
    else if (code.includes("D")) info.removedPaths.push(path);
    else info.modifiedPaths.push(path);
  }
  for (const list of Object.values(info)) list.sort();
  return info;
}
