// The repositories the recipe runs check out, and the checkouts each CI makes of them. Commits are made with fixed
// names and dates, so one event always gives the same commit ids (the shim server replays a call only for an
// identical command line, folder and secrets). Rows name commits by placeholders ("a1a1…"); `realize` swaps in the
// real ids, full and short, wherever a row holds them.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { tempDir } from "./shell.js";

const IDENTITY = {
  GIT_AUTHOR_NAME: "ci",
  GIT_AUTHOR_EMAIL: "ci@example.test",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_NAME: "ci",
  GIT_COMMITTER_EMAIL: "ci@example.test",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/** git with no user or system configuration, as a CI runner's fresh machine has. */
export function git(dir: string, ...args: string[]): string {
  const run = spawnSync("git", ["-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: dir, GIT_CONFIG_NOSYSTEM: "1", ...IDENTITY },
  });
  if (run.status !== 0) throw new Error(`git ${args.join(" ")} in ${dir}: ${run.stderr}`);
  return run.stdout.trim();
}

/** What an event's repository holds: a commit on `branch`, maybe a tag on it, maybe a pull request's refs. */
export interface OriginSpec {
  /** Placeholder of the commit the event is about (the branch's or tag's commit, or the pull request's head). */
  commit: string;
  branch?: string;
  tag?: string;
  /** A pull/merge request into main: its head commit's placeholder and the refs the forge keeps for it. */
  request?: { head: string; refs: "github" | "gitlab"; number: number };
}

export interface Origin {
  dir: string;
  /** Placeholder to real commit id. */
  commits: Map<string, string>;
}

function commitFile(dir: string, name: string, text: string, message: string): string {
  writeFileSync(join(dir, name), text);
  git(dir, "add", name);
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/**
 * The forge's repository for one event. GitHub: refs/pull/N/head is the head commit and refs/pull/N/merge the
 * commit merging it into main, which the event's GITHUB_SHA names. GitLab: refs/merge-requests/N/head is the head,
 * and refs/pipelines/1 the pipeline's commit (the runner fetches it).
 */
export function makeOrigin(spec: OriginSpec): Origin {
  const dir = tempDir("origin");
  const commits = new Map<string, string>();
  git(dir, "init", "-q");
  // The runner's checkout fetches commits by id, as actions/checkout does.
  git(dir, "config", "uploadpack.allowAnySHA1InWant", "true");
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY app.txt /\n");
  git(dir, "add", "Dockerfile");
  const base = commitFile(dir, "app.txt", `base ${spec.commit}\n`, `base for ${spec.commit}`);
  const request = spec.request;
  if (!request) {
    commits.set(spec.commit, base);
    if (spec.branch !== undefined && spec.branch !== "main") git(dir, "branch", spec.branch, base);
    if (spec.tag !== undefined) git(dir, "tag", spec.tag, base);
    git(dir, "update-ref", "refs/pipelines/1", base);
    return { dir, commits };
  }
  git(dir, "checkout", "-q", "-b", "request-head");
  const head = commitFile(dir, "change.txt", `change ${request.head}\n`, `change ${request.head}`);
  commits.set(request.head, head);
  git(dir, "checkout", "-q", "main");
  if (request.refs === "github") {
    git(dir, "update-ref", `refs/pull/${request.number}/head`, head);
    git(dir, "merge", "-q", "--no-ff", "-m", `Merge ${head} into ${base}`, head);
    const merge = git(dir, "rev-parse", "HEAD");
    git(dir, "update-ref", `refs/pull/${request.number}/merge`, merge);
    git(dir, "reset", "-q", "--hard", base);
    commits.set(spec.commit, merge);
  } else {
    git(dir, "update-ref", `refs/merge-requests/${request.number}/head`, head);
    git(dir, "update-ref", "refs/pipelines/1", head);
    commits.set(spec.commit, head);
  }
  if (spec.branch !== undefined && spec.branch !== "main") git(dir, "branch", "-f", spec.branch, head);
  return { dir, commits };
}

/**
 * actions/checkout v4 with its defaults (fetch-depth 1, no tags; src/ref-helper.ts getCheckoutInfo, git-source-
 * provider.ts): a branch is checked out as a local branch, a tag and a pull request's merge commit detached.
 */
export function githubCheckout(dir: string, origin: string, ref: string, sha: string): void {
  git(dir, "init", "-q");
  git(dir, "remote", "add", "origin", `file://${origin}`);
  git(dir, "config", "--local", "gc.auto", "0");
  const branch = /^refs\/heads\/(.+)$/.exec(ref)?.[1];
  const pull = /^refs\/pull\/(.+)$/.exec(ref)?.[1];
  const fetch = (refspec: string) =>
    git(
      dir,
      "-c",
      "protocol.version=2",
      "fetch",
      "--no-tags",
      "--prune",
      "--no-recurse-submodules",
      "--depth=1",
      "origin",
      refspec,
    );
  if (branch !== undefined) {
    fetch(`+${sha}:refs/remotes/origin/${branch}`);
    git(dir, "checkout", "-q", "--force", "-B", branch, `refs/remotes/origin/${branch}`);
  } else if (pull !== undefined) {
    fetch(`+${sha}:refs/remotes/pull/${pull}`);
    git(dir, "checkout", "-q", "--force", `refs/remotes/pull/${pull}`);
  } else if (ref.startsWith("refs/tags/")) {
    fetch(`+${sha}:${ref}`);
    git(dir, "checkout", "-q", "--force", ref);
  } else {
    throw new Error(`actions/checkout of ${ref}: not modelled`);
  }
}

/**
 * The GitLab runner's fetch strategy with its defaults (GIT_DEPTH 20, refspecs +refs/pipelines/<id> and the ref's
 * own): `git fetch`, then `git checkout -f -q <sha>` (always detached) and `git clean -ffdx`.
 */
export function gitlabCheckout(dir: string, origin: string, sha: string, ref: string): void {
  git(dir, "init", "-q");
  git(dir, "remote", "add", "origin", `file://${origin}`);
  git(
    dir,
    "fetch",
    "-q",
    "--prune",
    "--depth",
    "20",
    "origin",
    "+refs/pipelines/1:refs/pipelines/1",
    `+${ref}:${ref.replace(/^refs\/heads\//, "refs/remotes/origin/")}`,
  );
  git(dir, "checkout", "-f", "-q", sha);
  git(dir, "clean", "-ffdx");
}

/** A developer's clone, as the README's blocks are pasted into: on branch main, HEAD at its one commit. */
export function laptopClone(dir: string): void {
  const origin = makeOrigin({ commit: "laptop" });
  git(dir, "clone", "-q", `file://${origin.dir}`, ".");
}

/** A copy of `x` with every placeholder commit replaced by its real id, full and short (the 7-character sha tag). */
export function realize<T>(x: T, commits: Map<string, string>): T {
  const swap = (s: string): string => {
    for (const [placeholder, real] of commits) {
      if (s === placeholder) return real;
      if (s === placeholder.slice(0, 7)) return real.slice(0, 7);
    }
    return s;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return swap(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, e]) => [k, walk(e)]));
    }
    return v;
  };
  return walk(x) as T;
}
