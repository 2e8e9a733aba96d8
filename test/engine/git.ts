// Rung 3 (engine double): GitRepository/GitRef/Changeset answers computed with the real git CLI, run as Dagger runs it.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, type Stats } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { normaliseTimestamps, scratchDir } from "./directory.js";

export interface GitRefInfo {
  commit: string;
  ref: string;
}

export interface ChangesetInfo {
  addedPaths: string[];
  modifiedPaths: string[];
  removedPaths: string[];
  /** No file was added, removed or changed (directories alone do not count). */
  empty: boolean;
}

/** Where git may run: the folder, and the snapshot root it may not look above. */
export interface GitPlace {
  dir: string;
  root: string;
}

/** util/gitutil/error.go:17-55: the few stderr texts Dagger turns into named errors. */
function translateError(status: number | null, stderr: string): string {
  const s = stderr.toLowerCase();
  if (
    s.includes("authentication failed") ||
    s.includes("authentication required") ||
    s.includes("fatal: could not read username") ||
    s.includes("fatal: could not read password")
  )
    return "git authentication failed";
  if (s.includes("not a git repository")) return "not a git repository";
  if (s.includes("does not support shallow")) return "shallow clone not supported";
  if (s.includes("unadvertised object") || s.includes("not our ref") || s.includes("couldn't find remote ref"))
    return "sha fetch unsupported by remote";
  return `exit status ${status ?? 1}`;
}

/** A failed git command, with Dagger's text (`git error: ...`) and git's own stderr for humans. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "GitError";
  }
}

interface GitOpts {
  cwd: string;
  /** GIT_CEILING_DIRECTORIES: the snapshot boundary an engine mount would give. */
  ceiling?: string;
  workTree?: string;
  gitDir?: string;
  indexFile?: string;
}

/**
 * util/gitutil/cli.go:204-317: `-c protocol.file.allow=user`, HOME=/dev/null, GIT_CONFIG_NOSYSTEM=1, LC_ALL=C and
 * nothing else from the environment (no XDG_CONFIG_HOME), so the user's global config and excludes do not apply.
 * safe.directory=* stands in for the engine owning its snapshots (the double reads folders the tests made).
 */
function git(opts: GitOpts, args: string[]): string {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: "ssh -F /dev/null -o StrictHostKeyChecking=no",
    GIT_ASKPASS: "echo",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: "/dev/null",
    LC_ALL: "C",
  };
  if (opts.ceiling) env.GIT_CEILING_DIRECTORIES = opts.ceiling;
  if (opts.indexFile) env.GIT_INDEX_FILE = opts.indexFile;
  const full = ["-c", "safe.directory=*", "-c", "protocol.file.allow=user"];
  if (opts.workTree) full.push("--work-tree", opts.workTree);
  if (opts.gitDir) full.push("--git-dir", opts.gitDir);
  full.push(...args);
  const r = spawnSync("git", full, { cwd: opts.cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new GitError(`git error: ${translateError(r.status, r.stderr)}`, r.stderr);
  return r.stdout;
}

const inRepo = (p: GitPlace): GitOpts => ({ cwd: p.dir, ceiling: dirname(p.root) });

/**
 * asGit runs `rev-parse --absolute-git-dir` inside the snapshot (util/gitutil/cli_helpers.go:32-49). A `.git` file
 * (worktree, submodule) points at a gitdir outside the snapshot, which the engine cannot see: not a git repository.
 */
export function assertGitRepository(p: GitPlace): void {
  const dotGit = join(p.dir, ".git");
  let st: Stats | undefined;
  try {
    st = lstatSync(dotGit);
  } catch {
    st = undefined;
  }
  if (st?.isFile()) {
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, "utf8"));
    const target = m?.[1];
    const resolved = target === undefined || isAbsolute(target) ? undefined : resolve(p.dir, target);
    const rel = resolved === undefined ? ".." : relative(p.root, resolved);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new GitError("git error: not a git repository", "");
  }
  git(inRepo(p), ["rev-parse", "--absolute-git-dir"]);
}

/**
 * HEAD as Dagger resolves it (util/gitutil/ls_remote.go:170-233): on a branch, ref is "refs/heads/<branch>";
 * detached, no symref exists and the ref name stays "HEAD".
 */
export function gitHead(p: GitPlace): GitRefInfo {
  const commit = git(inRepo(p), ["rev-parse", "--verify", "HEAD^{commit}"]).trim();
  let ref = "HEAD";
  try {
    ref = git(inRepo(p), ["symbolic-ref", "-q", "HEAD"]).trim() || "HEAD";
  } catch {
    ref = "HEAD";
  }
  return { commit: lookedUp(commit, ref), ref };
}

/** Remote.Lookup (util/gitutil/ls_remote.go:213-215, commit.go:3-4): only a 40-hex (SHA-1) id is a commit. */
function lookedUp(commit: string, name: string): string {
  if (!isCommitSHA(commit)) throw new Error(`invalid commit sha ${JSON.stringify(commit)} for ${JSON.stringify(name)}`);
  return commit;
}

/** tag() asks for refs/tags/<name> (core/schema/git.go:1039-1052); annotated tags peel to their commit. */
export function gitTag(p: GitPlace, name: string): GitRefInfo {
  const full = `refs/tags/${name.replace(/^refs\/tags\//, "")}`;
  let commit: string;
  try {
    commit = git(inRepo(p), ["rev-parse", "--verify", "-q", `${full}^{commit}`]).trim();
  } catch {
    throw new Error(`repository does not contain ref ${JSON.stringify(full)}`);
  }
  return { commit: lookedUp(commit, full), ref: full };
}

/** util/gitutil/commit.go IsCommitSHA: exactly 40 lowercase hex digits. */
export const isCommitSHA = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

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

function listRefs(p: GitPlace, prefix: string, patterns: readonly string[] | undefined): string[] {
  const out = git(inRepo(p), ["for-each-ref", "--format=%(refname)", prefix]);
  const names = out.split("\n").filter((l) => l !== "");
  const matched = patterns && patterns.length > 0 ? names.filter((n) => patterns.some((x) => tailMatch(x, n))) : names;
  return matched.map((n) => n.slice(prefix.length + 1));
}

export function gitTags(p: GitPlace, patterns?: readonly string[]): string[] {
  return listRefs(p, "refs/tags", patterns);
}

// --- uncommitted(): core/git_local.go:82-202 (the cleaned copy) and core/changeset_delta.go:159-353 (the diff) ---

const gitMode = (st: Stats): number => (st.isSymbolicLink() ? 0o120000 : st.mode & 0o111 ? 0o100755 : 0o100644);

function lstatMaybe(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function differs(before: string, after: string, b: Stats, a: Stats): boolean {
  if (gitMode(b) !== gitMode(a)) return true;
  if (b.isSymbolicLink()) return readlinkSync(before) !== readlinkSync(after);
  if (!b.isFile() || !a.isFile()) return true;
  if (b.size !== a.size) return true;
  return !readFileSync(before).equals(readFileSync(after));
}

/** collapseChildPaths (core/changeset_git.go:278-301): "d/" hides everything under it. */
function collapseChildPaths(paths: string[]): string[] {
  const out: string[] = [];
  let parent = "";
  for (const p of [...paths].sort()) {
    if (parent !== "" && p.startsWith(parent)) continue;
    out.push(p);
    parent = p.endsWith("/") ? p : "";
  }
  return out;
}

/** Changes from `before` to `after`, by content: added folders appear as "d/", removed folders collapse to "d/". */
export function diffTrees(before: string, after: string): ChangesetInfo {
  const addedFiles: string[] = [];
  const addedDirs: string[] = [];
  const removedFiles: string[] = [];
  const removedDirs: string[] = [];
  const modified: string[] = [];
  const addTree = (rel: string): void => {
    for (const name of readdirSync(join(after, rel))) {
      const sub = `${rel}/${name}`;
      if (lstatSync(join(after, sub)).isDirectory()) {
        addedDirs.push(`${sub}/`);
        addTree(sub);
      } else addedFiles.push(sub);
    }
  };
  const removeTree = (rel: string): void => {
    removedDirs.push(`${rel}/`);
    for (const name of readdirSync(join(before, rel))) {
      const sub = `${rel}/${name}`;
      if (lstatSync(join(before, sub)).isDirectory()) removeTree(sub);
      else removedFiles.push(sub);
    }
  };
  const walk = (rel: string): void => {
    const names = new Set([...readdirSync(join(before, rel)), ...readdirSync(join(after, rel))]);
    for (const name of [...names].sort()) {
      const sub = rel === "" ? name : `${rel}/${name}`;
      const b = lstatMaybe(join(before, sub));
      const a = lstatMaybe(join(after, sub));
      if (!b && a) {
        if (a.isDirectory()) {
          addedDirs.push(`${sub}/`);
          addTree(sub);
        } else addedFiles.push(sub);
      } else if (b && !a) {
        if (b.isDirectory()) removeTree(sub);
        else removedFiles.push(sub);
      } else if (b && a) {
        if (b.isDirectory() && a.isDirectory()) walk(sub);
        else if (b.isDirectory()) {
          removeTree(sub);
          addedFiles.push(sub);
        } else if (a.isDirectory()) {
          removedFiles.push(sub);
          addedDirs.push(`${sub}/`);
          addTree(sub);
        } else if (differs(join(before, sub), join(after, sub), b, a)) modified.push(sub);
      }
    }
  };
  walk("");
  return {
    addedPaths: [...addedFiles, ...addedDirs].sort(),
    modifiedPaths: modified.sort(),
    removedPaths: collapseChildPaths([...removedFiles, ...removedDirs]),
    empty: addedFiles.length === 0 && removedFiles.length === 0 && modified.length === 0,
  };
}

/**
 * uncommitted(): a copy of the snapshot is "cleaned" with a temporary index (`restore --staged .`, `restore .`,
 * `clean -fd`), then the folder is diffed against it. Ignored files stay in both, so they never count.
 */
export function gitUncommitted(p: GitPlace): ChangesetInfo {
  const work = scratchDir("cleaned");
  try {
    const copy = join(work, "tree");
    const cp = spawnSync("cp", ["-a", p.dir, copy], { encoding: "utf8" });
    if (cp.status !== 0) throw new Error(`engine double: copying ${p.dir} failed: ${cp.stderr}`);
    const place: GitOpts = { cwd: copy, ceiling: work };
    if (git(place, ["rev-parse", "--is-inside-work-tree"]).trim() !== "true") {
      return { addedPaths: [], modifiedPaths: [], removedPaths: [], empty: true };
    }
    const gitDir = git(place, ["rev-parse", "--absolute-git-dir"]).trim();
    const index = join(work, "index");
    copyFileSync(join(gitDir, "index"), index);
    const cleaning: GitOpts = { ...place, indexFile: index };
    git(cleaning, ["restore", "--staged", "."]);
    git(cleaning, ["restore", "."]);
    git(cleaning, ["clean", "-fd"]);
    return diffTrees(copy, p.dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// --- GitRef.tree(): core/git_local.go:243-298 (LocalGitRef.Tree) and core/git.go:411-530 (doGitCheckout) ---

/** A checkout of `ref` into a fresh folder, done with the same git commands Dagger runs; returns the folder. */
export function gitCheckout(p: GitPlace, ref: GitRefInfo, depth: number, discardGitDir: boolean): string {
  const co = scratchDir("checkout");
  try {
    const gitUrl = `file://${git(inRepo(p), ["rev-parse", "--absolute-git-dir"]).trim()}`;
    const g: GitOpts = { cwd: co, workTree: co, gitDir: join(co, ".git") };
    git(g, ["-c", "init.defaultBranch=main", "init"]);
    const tmpref = `refs/dagger.tmp/${randomBytes(12).toString("hex")}`;
    git(g, ["fetch", "-u", ...(depth > 0 ? [`--depth=${depth}`] : []), gitUrl, `${ref.commit}:${tmpref}`]);
    const name = ref.ref;
    const remote = (e: unknown): never => {
      throw new GitError(`failed to checkout remote ${gitUrl}: ${(e as Error).message}`, (e as GitError).stderr ?? "");
    };
    if (name === "") {
      try {
        git(g, ["checkout", ref.commit]);
      } catch (e) {
        remote(e);
      }
    } else {
      try {
        git(g, ["update-ref", name, ref.commit]);
        git(g, ["checkout", name.replace(/^refs\/heads\//, "")]);
      } catch (e) {
        remote(e);
      }
      git(g, ["reset", "--hard", ref.commit]);
    }
    git(g, ["update-ref", "-d", tmpref]);
    git(g, ["reflog", "expire", "--all", "--expire=now"]);
    rmSync(join(co, ".git", "FETCH_HEAD"), { force: true });
    git(g, ["submodule", "update", "--init", "--recursive", "--depth=1"]);
    if (discardGitDir) rmSync(join(co, ".git"), { recursive: true, force: true });
    else git(g, ["read-tree", "HEAD"]);
    normaliseTimestamps(co);
    return co;
  } catch (e) {
    rmSync(co, { recursive: true, force: true });
    // LocalGitRef.Tree wraps with the ref's name, which is "" for a ref made by commit().
    throw new GitError(`failed to checkout ${ref.ref}: ${(e as Error).message}`, (e as GitError).stderr ?? "");
  }
}

/** core/git.go:532-561: `git merge-base` in the repository, for two refs of the same repository. */
export function gitMergeBase(p: GitPlace, a: string, b: string): string {
  try {
    return git(inRepo(p), ["merge-base", a, b]).trim();
  } catch (e) {
    throw new GitError(`git merge-base failed: ${(e as Error).message}`, (e as GitError).stderr ?? "");
  }
}
