// The recipes played per event with a fake `dagger`: what each event must build, push and tag, and the check that
// compares what the recipe's shell actually passed to `dagger call` against it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { parseImageName } from "../../../src/input/image.js";
import {
  renderDotenv,
  renderGithubOutput,
  renderJson,
  renderMarkdown,
  type PublicationData,
} from "../../../src/push/publication.js";
import { computeTags } from "../../../src/tags/tags.js";
import { runWorkflow, type GithubEvent, type JobRun } from "./github.js";
import { loadPipeline, pipelinesFor, rulesFindings, runPipeline, type GitlabEvent } from "./gitlab.js";
import { daggerCalls, fakeBin, fakeDagger, tempDir } from "./shell.js";

// ---------------------------------------------------------------------------------------------------------------
// What one dagger call asked for

export interface Segment {
  /** The function, or "" for the module's constructor arguments before the first function. */
  fn: string;
  flags: Map<string, string[]>;
}

export interface DaggerCall {
  argv: string[];
  env: Record<string, string>;
  /** Function names after `call`, in order; the last is the leaf. */
  functions: string[];
  /** Each function with its own `--flag=value` arguments. */
  segments: Segment[];
  /** The flags of every function together (publish's, for a plain `publish … leaf` chain). */
  flags: Map<string, string[]>;
  leaf: string | undefined;
}

/** The module's bool arguments (their types: test/registration): a bare flag is true and can take no value. */
const BOOL_FLAGS = new Set(["--dry-run", "--push", "--allow-dirty"]);

/**
 * Splits `dagger [globals] call -m M [--source=.] fn --a=b … fn2 … leaf`: every value must use `--flag=value`, and
 * only a bool flag may stand alone.
 */
export function parseCall(argv: string[], env: Record<string, string>): DaggerCall {
  const start = argv.indexOf("call");
  if (start < 0) throw new Error(`dagger ${argv.join(" ")}: not a dagger call`);
  const segments: Segment[] = [{ fn: "", flags: new Map() }];
  const flags = new Map<string, string[]>();
  const add = (key: string, value: string) => {
    const seg = segments.at(-1);
    seg?.flags.set(key, [...(seg.flags.get(key) ?? []), value]);
    flags.set(key, [...(flags.get(key) ?? []), value]);
  };
  for (let i = start + 1; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-m") {
      add("-m", argv[++i] ?? "");
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq < 0 && BOOL_FLAGS.has(arg)) add(arg, "true");
      else if (eq < 0)
        throw new Error(`dagger argument ${arg}: write --flag=value so a value can never be taken as a flag`);
      else add(arg.slice(0, eq), arg.slice(eq + 1));
    } else {
      segments.push({ fn: arg, flags: new Map() });
    }
  }
  const functions = segments.slice(1).map((s) => s.fn);
  return { argv, env, functions, segments, flags, leaf: functions.at(-1) };
}

function flag(call: DaggerCall, name: string): string | undefined {
  const values = call.flags.get(name);
  if (values && values.length > 1) throw new Error(`${name} given ${values.length} times`);
  return values?.[0];
}

// ---------------------------------------------------------------------------------------------------------------
// The fake dagger's outputs: the module's own renderings of the publication each event should produce

const DIGEST = `sha256:${"d1".repeat(32)}`;

function publication(images: string[], tags: string[], commit: string, pushed: boolean): PublicationData {
  const refs = images.flatMap((i) => tags.map((t) => (pushed ? `${i}:${t}@${DIGEST}` : `${i}:${t}`)));
  return {
    refs,
    digest: pushed ? DIGEST : "",
    tags,
    images,
    platforms: ["linux/amd64", "linux/arm64"],
    built: true,
    pushed,
    commit,
    dirty: false,
  };
}

/** The canned renderings the fake dagger prints, pushed and not pushed, for one publication. */
export function writeOutputs(dir: string, images: string[], tags: string[], commit: string): void {
  for (const pushed of [true, false]) {
    const p = publication(images, tags, commit, pushed);
    const variant = pushed ? "pushed" : "not-pushed";
    writeFileSync(join(dir, `github-output.${variant}.txt`), renderGithubOutput(p));
    writeFileSync(join(dir, `dotenv.${variant}.txt`), renderDotenv(p));
    writeFileSync(join(dir, `markdown.${variant}.txt`), renderMarkdown(p));
    writeFileSync(join(dir, `json.${variant}.txt`), renderJson(p));
  }
}

interface Fake {
  bin: string;
  log: string;
  env: Record<string, string>;
}

/** A fake dagger (plus any other fake tools) printing this event's renderings. */
function makeFake(images: string[], tags: string[], commit: string, extra: Record<string, string> = {}): Fake {
  const root = tempDir("fake");
  const log = join(root, "log");
  const outputs = join(root, "outputs");
  mkdirSync(log);
  mkdirSync(outputs);
  writeOutputs(outputs, images, tags, commit);
  const bin = fakeBin({ ...fakeDagger(), ...extra });
  return { bin, log, env: { FAKE_DAGGER_LOG: log, FAKE_DAGGER_OUTPUTS: outputs } };
}

function recordedCalls(log: string): DaggerCall[] {
  return daggerCalls(log).map((c) => parseCall(c.argv, c.env));
}

// ---------------------------------------------------------------------------------------------------------------
// Expectations shared by both CIs

export interface Expected {
  /** Images as dockyard must receive them (lowercase). */
  images: string[];
  commit: string;
  ref: string;
  push: boolean;
  /** Tags computeTags must give for the recorded --commit/--ref. */
  tags: string[];
  /** The variable `--password=env:NAME` must name, and the value it must hold there. */
  password?: { value: string };
}

/** One row of the events table: what ran and what the call meant. */
export interface Outcome {
  event: string;
  built: string;
  pushed: string;
  tags: string;
}

function tagsOf(commit: string, ref: string): string[] {
  return computeTags({ commit, refs: [ref], shaLength: 7, latest: "auto", userTags: [] });
}

function tagsOrError(commit: string, ref: string): string {
  try {
    return tagsOf(commit, ref).join(", ");
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

/** Both recipes build these on every event, so a pull request's build covers what a publish would push. */
const RECIPE_PLATFORMS = "linux/amd64,linux/arm64";

/** Compares one recorded publish call with what the event must produce; one finding per difference. */
export function compareCall(label: string, call: DaggerCall, want: Expected): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`${label}: ${s}`);
  if (!call.functions.includes("publish")) say(`dagger call does not publish (${call.functions.join(" ")})`);
  const images = (flag(call, "--images") ?? "").split(",").filter((s) => s !== "");
  for (const image of images) {
    try {
      parseImageName(image);
    } catch (e) {
      say(`dockyard refuses ${image}: ${(e as Error).message}`);
    }
  }
  if (images.join(",") !== want.images.join(",")) say(`--images ${images.join(",")}, want ${want.images.join(",")}`);
  const commit = flag(call, "--commit");
  if (commit !== want.commit) say(`--commit ${commit ?? "(none)"}, want ${want.commit}`);
  const ref = flag(call, "--ref");
  if (ref !== want.ref) say(`--ref ${ref ?? "(none)"}, want ${want.ref}`);
  const platforms = flag(call, "--platforms");
  if (platforms !== RECIPE_PLATFORMS) say(`--platforms ${platforms ?? "(none)"}, want ${RECIPE_PLATFORMS}`);
  const push = flag(call, "--push");
  if (want.push && push !== undefined && push !== "true") say(`--push=${push} on an event that must publish`);
  if (!want.push && push !== "false") say(`pushes (no --push=false) on an event that must not publish`);
  const password = flag(call, "--password");
  if (want.password) {
    const name = /^env:(.+)$/.exec(password ?? "")?.[1];
    if (!name) say(`--password ${password ?? "(none)"}, want env:<variable>`);
    else if (call.env[name] !== want.password.value) say(`--password env:${name} holds the wrong value`);
    if (!flag(call, "--username")) say("no --username");
  } else if (password !== undefined || flag(call, "--username") !== undefined) {
    say(`credentials passed (${password ?? ""}) on an event that pushes nothing`);
  }
  if (commit && ref) {
    try {
      const tags = tagsOf(commit, ref);
      if (tags.join(",") !== want.tags.join(",")) say(`tags ${tags.join(",")}, want ${want.tags.join(",")}`);
    } catch (e) {
      say(`dockyard refuses --commit/--ref: ${(e as Error).message}`);
    }
  }
  return out;
}

function describe(event: string, call: DaggerCall | undefined): Outcome {
  if (!call) return { event, built: "nothing", pushed: "nothing", tags: "" };
  const images = flag(call, "--images") ?? "";
  const push = flag(call, "--push") !== "false";
  const commit = flag(call, "--commit") ?? "";
  const ref = flag(call, "--ref") ?? "";
  return {
    event,
    built: `${images} (${flag(call, "--platforms") ?? "engine platform"}) from ${commit.slice(0, 7)}, --ref ${ref}`,
    pushed: push ? `yes, as ${flag(call, "--username") ?? "?"} with ${flag(call, "--password") ?? "?"}` : "no",
    tags: commit && ref ? tagsOrError(commit, ref) : "",
  };
}

// ---------------------------------------------------------------------------------------------------------------
// GitHub: examples/github-actions.yml

const REPO = "Acme/Hello-App";
const GHCR = "ghcr.io/acme/hello-app";
const TOKEN = "ghs_fake_token_for_tests";
const sha = (c: string) => c.repeat(40).slice(0, 40);

/** A fork's branch name may hold shell syntax: expressions pasted into a script would run it. */
export const HOSTILE_HEAD_REF = "fix$(touch${IFS}INJECTED)";

export interface GithubRow {
  event: GithubEvent;
  /** Jobs that must run; none when the workflow must not trigger. */
  jobs: string[];
  want?: Expected;
}

export const GITHUB_ROWS: GithubRow[] = [
  {
    event: {
      label: "push to main",
      eventName: "push",
      ref: "refs/heads/main",
      sha: sha("a1"),
      actor: "Octo-Cat",
      repository: REPO,
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: ["publish"],
    want: {
      images: [GHCR],
      commit: sha("a1"),
      ref: "refs/heads/main",
      push: true,
      tags: ["a1a1a1a", "main"],
      password: { value: TOKEN },
    },
  },
  {
    event: {
      label: "push of tag v1.2.3",
      eventName: "push",
      ref: "refs/tags/v1.2.3",
      sha: sha("b2"),
      actor: "Octo-Cat",
      repository: REPO,
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: ["publish"],
    want: {
      images: [GHCR],
      commit: sha("b2"),
      ref: "refs/tags/v1.2.3",
      push: true,
      tags: ["b2b2b2b", "1.2.3", "1.2", "1", "latest"],
      password: { value: TOKEN },
    },
  },
  {
    // GITHUB_SHA is the merge commit of refs/pull/7/merge, which checkout checks out by default.
    event: {
      label: "pull_request from the same repository",
      eventName: "pull_request",
      ref: "refs/pull/7/merge",
      sha: sha("c3"),
      actor: "Octo-Cat",
      repository: REPO,
      headRef: "feature/login",
      baseRef: "main",
      pullRequest: { number: 7, headSha: sha("c4"), fork: false },
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: ["build"],
    want: { images: [GHCR], commit: sha("c3"), ref: "refs/pull/7/merge", push: false, tags: ["c3c3c3c", "pr-7"] },
  },
  {
    event: {
      label: "pull_request from a fork",
      eventName: "pull_request",
      ref: "refs/pull/8/merge",
      sha: sha("d5"),
      actor: "outside-dev",
      repository: REPO,
      headRef: HOSTILE_HEAD_REF,
      baseRef: "main",
      pullRequest: { number: 8, headSha: sha("d6"), fork: true },
      // A fork's GITHUB_TOKEN is read-only; no other secret is passed.
      secrets: { GITHUB_TOKEN: "ghs_read_only" },
    },
    jobs: ["build"],
    want: { images: [GHCR], commit: sha("d5"), ref: "refs/pull/8/merge", push: false, tags: ["d5d5d5d", "pr-8"] },
  },
  {
    event: {
      label: "Dependabot pull_request",
      eventName: "pull_request",
      ref: "refs/pull/9/merge",
      sha: sha("e7"),
      actor: "dependabot[bot]",
      repository: REPO,
      headRef: "dependabot/npm_and_yarn/lodash-4.17.21",
      baseRef: "main",
      pullRequest: { number: 9, headSha: sha("e8"), fork: false },
      // Dependabot runs get a read-only token and only Dependabot secrets.
      secrets: { GITHUB_TOKEN: "ghs_read_only" },
    },
    jobs: ["build"],
    want: { images: [GHCR], commit: sha("e7"), ref: "refs/pull/9/merge", push: false, tags: ["e7e7e7e", "pr-9"] },
  },
  {
    event: {
      label: "push to another branch",
      eventName: "push",
      ref: "refs/heads/feature/login",
      sha: sha("f9"),
      actor: "Octo-Cat",
      repository: REPO,
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: [],
  },
  {
    event: {
      label: "pull_request_target",
      eventName: "pull_request_target",
      ref: "refs/heads/main",
      sha: sha("0a"),
      actor: "outside-dev",
      repository: REPO,
      headRef: HOSTILE_HEAD_REF,
      baseRef: "main",
      pullRequest: { number: 10, headSha: sha("0b"), fork: true },
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: [],
  },
];

// examples/github-actions-dockerhub.yml: the same events, the user name a repository variable, the token a secret.

const HUB_USER = "acmebot";
const HUB_TOKEN = "dckr_pat_fake_token_for_tests";

/** The GHCR rows as Docker Hub sees them: forks and Dependabot get no variables, so the owner names the image. */
export const DOCKERHUB_ROWS: GithubRow[] = GITHUB_ROWS.map((row) => {
  const trusted = row.event.secrets.GITHUB_TOKEN === TOKEN;
  const user = trusted ? HUB_USER : (row.event.repository.split("/")[0] ?? "").toLowerCase();
  const event: GithubEvent = {
    ...row.event,
    // DOCKERHUB_USERNAME is a secret too, as the seed tutorials set it: the recipe must not use it.
    secrets: trusted
      ? { ...row.event.secrets, DOCKERHUB_USERNAME: HUB_USER, DOCKERHUB_TOKEN: HUB_TOKEN }
      : row.event.secrets,
    vars: trusted ? { DOCKERHUB_USERNAME: HUB_USER } : {},
  };
  if (!row.want) return { ...row, event };
  const want: Expected = {
    ...row.want,
    images: [`docker.io/${user}/hello-app`],
    ...(row.want.password ? { password: { value: HUB_TOKEN } } : {}),
  };
  return { ...row, event, want };
});

export interface GithubPlay {
  findings: string[];
  outcomes: Outcome[];
  runs: Map<string, JobRun[]>;
}

export function playGithub(text: string, rows: GithubRow[] = GITHUB_ROWS): GithubPlay {
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  const runs = new Map<string, JobRun[]>();
  for (const row of rows) {
    const label = row.event.label;
    const images = row.want?.images ?? [GHCR];
    const fake = makeFake(images, row.want?.tags ?? [], row.want?.commit ?? row.event.sha);
    const jobRuns = runWorkflow(text, row.event, { bin: fake.bin, fakeEnv: fake.env });
    runs.set(label, jobRuns);
    const ran = jobRuns.map((j) => j.id);
    if (ran.join(",") !== row.jobs.join(",")) findings.push(`${label}: jobs [${ran.join(", ")}], want [${row.jobs}]`);
    for (const job of jobRuns) {
      for (const step of job.steps) {
        if (!step.skipped && step.status !== 0) {
          findings.push(`${label}: ${job.id}/${step.name} exited ${step.status}: ${step.stderr.trim()}`);
        }
      }
      if (existsSync(join(job.workdir, "INJECTED"))) {
        findings.push(`${label}: ${job.id}: the head ref ran as shell code (an expression was pasted into a script)`);
      }
    }
    const calls = recordedCalls(fake.log);
    if (row.want) {
      if (calls.length !== 1) findings.push(`${label}: ${calls.length} dagger calls, want 1 publish`);
      const call = calls[0];
      if (call) findings.push(...compareCall(label, call, row.want));
      // The publishing job hands the digest on (job outputs) and writes a step summary.
      for (const job of jobRuns) {
        if (row.want.push) {
          if (!job.outputs.digest?.startsWith("sha256:")) findings.push(`${label}: ${job.id}: no digest output`);
          if (!(job.outputs.ref ?? "").includes("@sha256:")) findings.push(`${label}: ${job.id}: no ref output`);
          if (!(job.outputs.refs ?? "").includes("@sha256:")) findings.push(`${label}: ${job.id}: no refs output`);
        }
        if (!job.summary.includes(`${images[0] ?? ""}:`)) findings.push(`${label}: ${job.id}: no step summary`);
      }
    } else if (calls.length > 0) {
      findings.push(`${label}: ${calls.length} dagger calls, want none`);
    }
    outcomes.push(describe(label, calls[0]));
  }
  return { findings, outcomes, runs };
}

// ---------------------------------------------------------------------------------------------------------------
// GitLab: examples/gitlab-ci.yml
// Predefined variables per pipeline kind: GitLab docs "Predefined CI/CD variables reference" (CI_COMMIT_BRANCH is
// absent in merge request and tag pipelines; CI_MERGE_REQUEST_* only in merge request pipelines;
// CI_OPEN_MERGE_REQUESTS in branch and merge request pipelines of a branch with an open merge request).

const GL_IMAGE = "registry.gitlab.com/acme/hello-app";
const GL_FORK_IMAGE = "registry.gitlab.com/contributor/hello-app";
const JOB_TOKEN = "glcbt-fake-job-token";

function glVars(extra: Record<string, string>): Record<string, string> {
  return {
    CI: "true",
    GITLAB_CI: "true",
    CI_DEFAULT_BRANCH: "main",
    CI_PROJECT_PATH: "Acme/Hello-App",
    CI_PROJECT_URL: "https://gitlab.com/Acme/Hello-App",
    CI_REGISTRY: "registry.gitlab.com",
    CI_REGISTRY_IMAGE: GL_IMAGE,
    CI_REGISTRY_USER: "gitlab-ci-token",
    CI_REGISTRY_PASSWORD: JOB_TOKEN,
    ...extra,
  };
}

const branchPush = (branch: string, commit: string, extra: Record<string, string> = {}) =>
  glVars({
    CI_PIPELINE_SOURCE: "push",
    CI_COMMIT_BRANCH: branch,
    CI_COMMIT_REF_NAME: branch,
    CI_COMMIT_SHA: commit,
    ...extra,
  });

const mrPipeline = (branch: string, commit: string, iid: string) =>
  glVars({
    CI_PIPELINE_SOURCE: "merge_request_event",
    CI_COMMIT_REF_NAME: branch,
    CI_COMMIT_SHA: commit,
    CI_MERGE_REQUEST_IID: iid,
    CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: branch,
    CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
    CI_OPEN_MERGE_REQUESTS: `Acme/Hello-App!${iid}`,
  });

export interface GitlabRow {
  event: GitlabEvent;
  /** Jobs of the one pipeline the event must create (none: no pipeline). */
  jobs: string[];
  want?: Expected;
}

export const GITLAB_ROWS: GitlabRow[] = [
  {
    event: {
      label: "branch pipeline (push to main)",
      candidates: [{ source: "push", vars: branchPush("main", sha("a1")) }],
    },
    jobs: ["publish-image", "deploy"],
    want: {
      images: [GL_IMAGE],
      commit: sha("a1"),
      ref: "refs/heads/main",
      push: true,
      tags: ["a1a1a1a", "main"],
      password: { value: JOB_TOKEN },
    },
  },
  {
    event: {
      label: "tag pipeline (v1.2.3)",
      candidates: [
        {
          source: "push",
          vars: glVars({
            CI_PIPELINE_SOURCE: "push",
            CI_COMMIT_TAG: "v1.2.3",
            CI_COMMIT_REF_NAME: "v1.2.3",
            CI_COMMIT_SHA: sha("b2"),
          }),
        },
      ],
    },
    jobs: ["publish-image", "deploy"],
    want: {
      images: [GL_IMAGE],
      commit: sha("b2"),
      ref: "refs/tags/v1.2.3",
      push: true,
      tags: ["b2b2b2b", "1.2.3", "1.2", "1", "latest"],
      password: { value: JOB_TOKEN },
    },
  },
  {
    event: {
      label: "merge request pipeline (!7)",
      candidates: [{ source: "merge_request_event", vars: mrPipeline("feature/login", sha("c3"), "7") }],
    },
    jobs: ["publish-image"],
    want: {
      images: [GL_IMAGE],
      commit: sha("c3"),
      ref: "refs/merge-requests/7/head",
      push: false,
      tags: ["c3c3c3c", "pr-7"],
    },
  },
  {
    // A fork's merge request pipeline runs in the fork's project by default: its registry, its job token, and a
    // branch name the fork's author chose.
    event: {
      label: "merge request pipeline from a fork (!8)",
      candidates: [
        {
          source: "merge_request_event",
          vars: {
            ...mrPipeline(HOSTILE_HEAD_REF, sha("d4"), "8"),
            CI_PROJECT_PATH: "Contributor/Hello-App",
            CI_PROJECT_URL: "https://gitlab.com/Contributor/Hello-App",
            CI_REGISTRY_IMAGE: GL_FORK_IMAGE,
            CI_MERGE_REQUEST_PROJECT_PATH: "Acme/Hello-App",
            CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: "Contributor/Hello-App",
          },
        },
      ],
    },
    jobs: ["publish-image"],
    want: {
      images: [GL_FORK_IMAGE],
      commit: sha("d4"),
      ref: "refs/merge-requests/8/head",
      push: false,
      tags: ["d4d4d4d", "pr-8"],
    },
  },
  {
    // GitLab considers a branch pipeline and a merge request pipeline for this push; workflow:rules keep one.
    event: {
      label: "push to a branch with an open merge request",
      candidates: [
        {
          source: "push",
          vars: branchPush("feature/login", sha("c5"), { CI_OPEN_MERGE_REQUESTS: "Acme/Hello-App!7" }),
        },
        { source: "merge_request_event", vars: mrPipeline("feature/login", sha("c5"), "7") },
      ],
    },
    jobs: ["publish-image"],
    want: {
      images: [GL_IMAGE],
      commit: sha("c5"),
      ref: "refs/merge-requests/7/head",
      push: false,
      tags: ["c5c5c5c", "pr-7"],
    },
  },
  {
    event: {
      label: "push to a branch without a merge request",
      candidates: [{ source: "push", vars: branchPush("feature/login", sha("f9")) }],
    },
    jobs: ["publish-image"],
    want: {
      images: [GL_IMAGE],
      commit: sha("f9"),
      ref: "refs/heads/feature/login",
      push: false,
      tags: ["f9f9f9f", "feature-login"],
    },
  },
];

export function gitlabRulesFindings(text: string): string[] {
  return rulesFindings(
    text,
    GITLAB_ROWS.map((r) => r.event),
  );
}

const FAKE_APK = "#!/bin/sh\nexit 0\n";
// The install script is the Dagger CLI's; here it installs nothing (the fake dagger is already first on PATH).
const FAKE_CURL = "#!/bin/sh\necho 'exit 0'\n";

export function playGitlab(text: string, rows: GitlabRow[] = GITLAB_ROWS): { findings: string[]; outcomes: Outcome[] } {
  const p = loadPipeline(text);
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  for (const row of rows) {
    const label = row.event.label;
    const created = pipelinesFor(p, row.event);
    if (created.length > 1) findings.push(`${label}: ${created.length} pipelines, want at most 1`);
    const pipeline = created[0];
    const jobs = pipeline?.jobs.map((j) => j.name) ?? [];
    if (jobs.join(",") !== row.jobs.join(",")) findings.push(`${label}: jobs [${jobs.join(", ")}], want [${row.jobs}]`);
    const want = row.want;
    const fake = makeFake(want?.images ?? [GL_IMAGE], want?.tags ?? [], want?.commit ?? "", {
      apk: FAKE_APK,
      curl: FAKE_CURL,
    });
    const results = pipeline ? runPipeline(p, pipeline, { bin: fake.bin, fakeEnv: fake.env }) : [];
    for (const r of results) {
      if (r.status !== 0) findings.push(`${label}: ${r.job} exited ${r.status}: ${r.stderr.trim()}`);
      if (existsSync(join(r.workdir, "INJECTED"))) findings.push(`${label}: ${r.job}: a branch name ran as shell code`);
    }
    const calls = recordedCalls(fake.log);
    if (want) {
      if (calls.length !== 1) findings.push(`${label}: ${calls.length} dagger calls, want 1 publish`);
      const call = calls[0];
      if (call) findings.push(...compareCall(label, call, want));
      const publisher = results.find((r) => r.dotenv !== undefined);
      if (!publisher) findings.push(`${label}: no job left a dotenv report`);
      else if (want.push && !publisher.dotenv?.IMAGE_DIGEST?.startsWith("sha256:")) {
        findings.push(`${label}: the dotenv report has no IMAGE_DIGEST`);
      }
      const deploy = results.find((r) => r.job === "deploy");
      if (want.push && !deploy?.stdout.includes(`${GL_IMAGE}@sha256:`)) {
        findings.push(`${label}: the deploy job did not get the digest (${deploy?.stdout.trim() ?? "no deploy job"})`);
      }
    } else if (calls.length > 0) {
      findings.push(`${label}: ${calls.length} dagger calls, want none`);
    }
    outcomes.push(describe(label, calls[0]));
  }
  return { findings, outcomes };
}

// ---------------------------------------------------------------------------------------------------------------
// .github/workflows/real-engine.yml: `.ci/run` under sudo must keep setup-node's Node

const SETUP_NODE_VERSION = "v20.99.0-setup-node";
const IMAGE_NODE_VERSION = "v18.99.0-runner-image";

/**
 * sudo as Ubuntu's sudoers configures it on GitHub's runners (unverified there; the workflow checks it live):
 * env_reset keeps almost no variable, and secure_path replaces PATH, where the image's own Node comes first.
 */
const FAKE_SUDO = `#!/bin/sh
exec env -i PATH="$FAKE_SECURE_PATH" HOME=/root "$@"
`;

const REAL_ENGINE_EVENTS: GithubEvent[] = [
  {
    label: "push to main",
    eventName: "push",
    ref: "refs/heads/main",
    sha: sha("a1"),
    actor: "Octo-Cat",
    repository: REPO,
    secrets: { GITHUB_TOKEN: TOKEN },
  },
  {
    label: "pull_request from a fork",
    eventName: "pull_request",
    ref: "refs/pull/8/merge",
    sha: sha("d5"),
    actor: "outside-dev",
    repository: REPO,
    headRef: HOSTILE_HEAD_REF,
    baseRef: "main",
    pullRequest: { number: 8, headSha: sha("d6"), fork: true },
    secrets: { GITHUB_TOKEN: "ghs_read_only" },
  },
];

export function realEngineFindings(text: string): string[] {
  const findings: string[] = [];
  const node = (version: string) => fakeBin({ node: `#!/bin/sh\necho ${version}\n` });
  const setupNode = node(SETUP_NODE_VERSION);
  const imageNode = node(IMAGE_NODE_VERSION);
  for (const event of REAL_ENGINE_EVENTS) {
    const fake = makeFake([], [], event.sha, { sudo: FAKE_SUDO, docker: FAKE_DOCKER, dagger: COUNTING_DAGGER });
    const runs = runWorkflow(text, event, {
      // setup-node puts its Node first on PATH for the later steps.
      bin: `${setupNode}:${fake.bin}`,
      fakeEnv: { ...fake.env, FAKE_SECURE_PATH: `${imageNode}:/usr/sbin:/usr/bin:/sbin:/bin` },
      checkout: (dir) => {
        mkdirSync(join(dir, ".ci"));
        // Stands in for .ci/run: reports the Node it was given.
        writeFileSync(join(dir, ".ci/run"), "node --version > .ci/seen\n");
      },
    });
    const label = event.label;
    const ran = runs.map((r) => r.id).join(",");
    if (ran !== "unit,dagger") findings.push(`${label}: jobs [${ran}], want [unit,dagger]`);
    for (const job of runs) {
      for (const step of job.steps) {
        if (!step.skipped && step.status !== 0) {
          findings.push(`${label}: ${job.id}/${step.name} exited ${step.status}: ${step.stderr.trim()}`);
        }
      }
    }
    const unit = runs.find((r) => r.id === "unit");
    const seen =
      unit && existsSync(join(unit.workdir, ".ci/seen")) ? readFileSync(join(unit.workdir, ".ci/seen"), "utf8") : "";
    if (seen.trim() !== SETUP_NODE_VERSION) {
      findings.push(
        `${label}: .ci/run ran with "${seen.trim() || "nothing"}", want setup-node's ${SETUP_NODE_VERSION}`,
      );
    }
    const calls = recordedCalls(fake.log);
    const args = calls.map((c) => c.argv.slice(c.argv.indexOf("call")).join(" "));
    if (args.join("\n") !== REAL_ENGINE_CALLS.join("\n")) findings.push(`${label}: dagger calls [${args.join("; ")}]`);
    // The counted publish must reach the engine the registry shares its network with.
    const runner = calls[1]?.env._EXPERIMENTAL_DAGGER_RUNNER_HOST;
    if (runner !== "container+docker://dockyard-engine")
      findings.push(`${label}: publish-once ran on engine ${runner ?? "(default)"}, not dockyard-engine`);
  }
  return findings;
}

const REAL_ENGINE_CALLS = ["call -m test/dagger all", "call -m test/dagger publish-once --registry=localhost:5000"];

/** The recording dagger; publish-once prints its ref count, 2, as test/dagger returns it. */
const COUNTING_DAGGER = `${fakeDagger().dagger ?? ""}case "$*" in *publish-once*) echo 2 ;; esac\n`;

/** docker as the counted step uses it: run answers an id; the registry's log holds one manifest HEAD per ref. */
const FAKE_DOCKER = `#!/bin/sh
case "$1" in
  run) echo 4f1c0ffee0d0 ;;
  logs)
    echo '127.0.0.1 - - [05/Dec/2026:08:00:00 +0000] "HEAD /v2/dockyard/once/manifests/1a2b3c4 HTTP/1.1" 404 96 "" "containerd/2.2.3"'
    echo '127.0.0.1 - - [05/Dec/2026:08:00:01 +0000] "HEAD /v2/dockyard/once/blobs/sha256:00 HTTP/1.1" 404 0 "" "containerd/2.2.3"'
    echo '127.0.0.1 - - [05/Dec/2026:08:00:02 +0000] "HEAD /v2/dockyard/once/manifests/main HTTP/1.1" 404 96 "" "containerd/2.2.3"' ;;
esac
`;
