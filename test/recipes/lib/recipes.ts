// The recipes played per event, in checkouts made as each CI makes them, with a `dagger` shim that runs the real
// module through the engine double: what each event must build, push and tag, checked against what the module did.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { PublicationData } from "../../../src/push/publication.js";
import type { MemoryRegistryConfig } from "../../engine/memory-backend.js";
import { testJwt } from "../../fixtures/sigstore.js";
import { makeOrigin, realize, type OriginSpec } from "./checkouts.js";
import { OIDC_REQUEST_TOKEN, OIDC_REQUEST_URL, runWorkflow, type GithubEvent, type JobRun } from "./github.js";
import { loadPipeline, pipelinesFor, rulesFindings, runPipeline, type GitlabEvent } from "./gitlab.js";
import { daggerCalls, fakeBin, fakeDagger, tempDir } from "./shell.js";
import { shimTools, type ShimRecord, type ShimTools } from "./shim.js";
import { str } from "./yaml.js";

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

// ---------------------------------------------------------------------------------------------------------------
// The shim: `dagger` runs the real module through the engine double, pushing to registries that know these users

/** Registry users as each CI's credentials log in: a wrong user or token makes the real push fail. */
function registries(): Record<string, MemoryRegistryConfig> {
  return {
    "ghcr.io": { users: { "Octo-Cat": TOKEN } },
    "docker.io": { users: { [HUB_USER]: HUB_TOKEN } },
    "registry.gitlab.com": { users: { "gitlab-ci-token": JOB_TOKEN } },
  };
}

function recipeShim(extra: Record<string, string> = {}): Promise<ShimTools> {
  return shimTools(registries(), extra);
}

/** What publish returned: the Publication's fields, as the module computed them. */
export function publicationOf(rec: ShimRecord): PublicationData | undefined {
  const i = rec.steps.findIndex((s) => s.fn === "publish");
  return i < 0 ? undefined : (rec.returns[i]?.value as PublicationData | undefined);
}

function flagOf(rec: ShimRecord, name: string): string | undefined {
  return rec.steps.flatMap((s) => s.flags[name] ?? []).at(-1);
}

// ---------------------------------------------------------------------------------------------------------------
// Expectations shared by both CIs

export interface Expected {
  /** Images as dockyard must receive them (lowercase). */
  images: string[];
  commit: string;
  ref: string;
  push: boolean;
  /** Tags the module must push (or, with --push=false, report). */
  tags: string[];
  /** The variable `--password=env:NAME` must name, and the value it must hold there. */
  password?: { value: string };
  /** Signed keyless with Sigstore (the default branch and tags), as this CI's OIDC identity; else nothing signs. */
  sign?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Signing: each CI's OIDC token, the shim's mock Fulcio and Rekor (shim-server.ts), and where the token must not go

const NOW_S = Math.floor(Date.now() / 1000);
/** In every token's jti: a leak of any part of it shows. */
const OIDC_CANARY = "oidc-canary-7f3e2a-never-echoed";
const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";
const GITLAB_ISSUER = "https://gitlab.com";

/** The token an event's CI mints; its `sub` is the identity the mock Fulcio certifies (the signer identity). */
function oidcToken(issuer: string, identity: string, aud: string): string {
  return testJwt({ iss: issuer, sub: identity, aud, exp: NOW_S + 3600, jti: OIDC_CANARY });
}

const githubIdentity = (ref: string) => `https://github.com/${REPO}/.github/workflows/image.yml@${ref}`;
const gitlabIdentity = (ref: string) => `https://gitlab.com/Acme/Hello-App//.gitlab-ci.yml@${ref}`;

/** Every form a leak of `token` could take: whole, its parts, their decoded JSON, base64 and base64url of each. */
function tokenForms(token: string): string[] {
  const parts = token.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  const plain = [token, ...parts, ...decoded, OIDC_CANARY];
  return [
    ...plain,
    ...plain.map((f) => Buffer.from(f).toString("base64")),
    ...plain.map((f) => Buffer.from(f).toString("base64url")),
  ].filter((form) => form.length >= 8);
}

/** Where one of `tokens` was found among `texts` (what is logged, printed, handed on, or on a command line). */
function tokenLeaks(label: string, tokens: string[], texts: Record<string, string>): string[] {
  const forms = tokens.flatMap(tokenForms);
  return Object.entries(texts).flatMap(([where, text]) =>
    forms.some((f) => text.includes(f)) ? [`${label}: the OIDC token reaches ${where}`] : [],
  );
}

/** What the runner's log shows of a step's output: `::add-mask::` lines are commands it consumes, never shown. */
const shownLog = (text: string) =>
  text
    .split("\n")
    .filter((l) => !l.startsWith("::add-mask::"))
    .join("\n");

/** Every dagger command line and what each call printed. */
function callTexts(calls: ShimRecord[]): Record<string, string> {
  return Object.fromEntries(
    calls.flatMap((c, i) => [
      [`dagger call ${i + 1}'s command line`, c.argv.join(" ")],
      [`dagger call ${i + 1}'s output`, c.stdout + c.stderr],
      [`dagger call ${i + 1}'s result`, JSON.stringify(c.returns)],
    ]),
  );
}

/** A signing fallback tag (sha256-<hex>), written beside the image's tags where a registry has no referrers API. */
const FALLBACK_TAG = /^sha256-[0-9a-f]{64}$/;

/** What a call signed, against whether the event must sign, and as whom. */
function signFindings(
  label: string,
  rec: ShimRecord,
  signed: { signatures?: string[]; signerIdentity?: string; signerIssuer?: string } | undefined,
  want: { sign: boolean; identity: string; issuer: string; count: number },
): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`${label}: ${s}`);
  const token = flagOf(rec, "--oidc-token");
  if (!want.sign) {
    if (flagOf(rec, "--sign") !== undefined || token !== undefined) say("signs on an event that must not sign");
    if (signed?.signatures?.length) say(`signed ${signed.signatures.length} manifests`);
    return out;
  }
  if (token === undefined || !/^env:/.test(token)) say(`--oidc-token ${token ?? "absent"}, want env:<variable>`);
  if (signed?.signatures?.length !== want.count)
    say(`${signed?.signatures?.length ?? 0} signatures, want ${want.count}`);
  if (signed && signed.signerIdentity !== want.identity) say(`signer ${signed.signerIdentity}, want ${want.identity}`);
  if (signed && signed.signerIssuer !== want.issuer) say(`issuer ${signed.signerIssuer}, want ${want.issuer}`);
  return out;
}

/** One row of the events table: what ran and what the call meant. */
export interface Outcome {
  event: string;
  built: string;
  pushed: string;
  tags: string;
  /** The row's expectation with the real commit ids of the event's checkout. */
  want?: Expected;
}

/** Both recipes build these on every event, so a pull request's build covers what a publish would push. */
const RECIPE_PLATFORMS = "linux/amd64,linux/arm64";

const firstLine = (text: string): string => text.trim().split("\n")[0] ?? "";

/** Compares what the module did in one `dagger call` with what the event must produce; one finding per difference. */
export function compareRun(label: string, rec: ShimRecord, want: Expected): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`${label}: ${s}`);
  if (!rec.steps.some((s) => s.fn === "publish")) {
    say(`dagger call does not publish (${rec.steps.map((s) => s.command).join(" ")})`);
  }
  if (!want.push) {
    if (rec.pushAttempts.length > 0) say(`pushes ${rec.pushAttempts.join(", ")} on an event that must not publish`);
    const username = flagOf(rec, "--username");
    const password = flagOf(rec, "--password");
    if (password !== undefined || username !== undefined) {
      say(`credentials passed (${password ?? ""}) on an event that pushes nothing`);
    }
  }
  const pub = publicationOf(rec);
  if (rec.status !== 0 || !pub) {
    say(`the module refused or failed: ${firstLine(rec.stderr) || "no publication"}`);
    return out;
  }
  if (pub.images.join(",") !== want.images.join(","))
    say(`images ${pub.images.join(",")}, want ${want.images.join(",")}`);
  if (pub.commit !== want.commit) say(`commit ${pub.commit}, want ${want.commit}`);
  if (pub.tags.join(",") !== want.tags.join(",")) say(`tags ${pub.tags.join(",")}, want ${want.tags.join(",")}`);
  const built = rec.builds
    .map((b) => b.platform)
    .sort()
    .join(",");
  if (built !== RECIPE_PLATFORMS) {
    say(
      `built for ${built
        .split(",")
        .map((p) => p || "the engine's platform")
        .join(",")}, want ${RECIPE_PLATFORMS}`,
    );
  }
  // A multi-platform image's first tag is written twice (the push, then its annotated index): compare the tags written.
  const pushed = [
    ...new Set(rec.pushes.filter((p) => !FALLBACK_TAG.test(p.tag)).map((p) => `${p.host}/${p.repository}:${p.tag}`)),
  ].sort();
  if (want.push) {
    const wanted = want.images.flatMap((i) => want.tags.map((t) => `${i}:${t}`)).sort();
    if (!pub.pushed) say("pushed nothing on an event that must publish");
    if (pushed.join(",") !== wanted.join(",")) say(`pushed ${pushed.join(",")}, want ${wanted.join(",")}`);
    // What the registry holds afterwards: every tag names the digest the module reported.
    for (const image of want.images) {
      for (const tag of want.tags) {
        const held = rec.registry[image]?.[tag];
        if (held !== pub.digest) say(`registry: ${image}:${tag} names ${held ?? "nothing"}, want ${pub.digest}`);
      }
    }
    for (const p of rec.pushes.filter((x) => x.username === undefined)) say(`pushed ${p.host} without credentials`);
  } else if (pub.pushed || pushed.length > 0) {
    say(`pushed ${pushed.join(",")} on an event that must not publish`);
  }
  return out;
}

function describe(event: string, rec: ShimRecord | undefined, want: Expected | undefined): Outcome {
  const base = want ? { want } : {};
  if (!rec) return { event, built: "nothing", pushed: "nothing", tags: "", ...base };
  const pub = publicationOf(rec);
  if (rec.status !== 0 || !pub) {
    return { event, built: `refused: ${firstLine(rec.stderr)}`, pushed: "nothing", tags: "", ...base };
  }
  const users = [...new Set(rec.pushes.map((p) => p.username ?? "anonymous"))].join(", ");
  return {
    event,
    built: `${pub.images.join(",")} (${rec.builds.map((b) => b.platform).join(",")}) from ${pub.commit.slice(0, 7)}`,
    pushed: pub.pushed ? `yes, ${rec.pushes.length} tags as ${users}, ${pub.digest.slice(0, 19)}` : "no",
    tags: pub.tags.join(", "),
    ...base,
  };
}

/**
 * curl as a GitHub job asks the runner for its OIDC token: with the runner's bearer and audience=sigstore only, it
 * answers {"value": <the token in $FAKE_OIDC_TOKEN_FILE>}; anything else is refused as curl -f reports it.
 */
const FAKE_OIDC_CURL = `#!/bin/sh
url="" auth=""
while [ $# -gt 0 ]; do
  case "$1" in
    -H) auth="$2"; shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
if [ "$auth" != "Authorization: bearer ${OIDC_REQUEST_TOKEN}" ] || [ "$url" != "${OIDC_REQUEST_URL}&audience=sigstore" ]; then
  echo "curl: (22) The requested URL returned error: 401" >&2
  exit 22
fi
printf '{"count":1,"value":"%s"}\\n' "$(cat "$FAKE_OIDC_TOKEN_FILE")"
`;

/** A GitHub job's OIDC token for this event, where the fake curl hands it out. */
function githubToken(event: GithubEvent): { token: string; env: Record<string, string> } {
  const token = oidcToken(GITHUB_ISSUER, githubIdentity(event.ref), "sigstore");
  const file = join(tempDir("oidc"), "token");
  writeFileSync(file, token);
  return { token, env: { FAKE_OIDC_TOKEN_FILE: file } };
}

/** What a GitHub run showed or handed on: each step's log (masked lines consumed), summary and job outputs. */
function githubTexts(jobs: JobRun[]): Record<string, string> {
  return Object.fromEntries(
    jobs.flatMap((j) => [
      ...j.steps.map((st) => [`${j.name}/${st.name}'s log`, shownLog(st.stdout + st.stderr)] as const),
      [`${j.name}'s step summary`, j.summary] as const,
      [`${j.name}'s outputs`, JSON.stringify(j.outputs)] as const,
    ]),
  );
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
      sign: true,
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
      sign: true,
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
    // The workflow triggers on main; a repository whose default branch is another publishes main but never signs it.
    event: {
      label: "push to main where the default branch is trunk",
      eventName: "push",
      ref: "refs/heads/main",
      sha: sha("a3"),
      actor: "Octo-Cat",
      repository: REPO,
      defaultBranch: "trunk",
      secrets: { GITHUB_TOKEN: TOKEN },
    },
    jobs: ["publish"],
    want: {
      images: [GHCR],
      commit: sha("a3"),
      ref: "refs/heads/main",
      push: true,
      tags: ["a3a3a3a", "main"],
      password: { value: TOKEN },
    },
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

/** The repository a GitHub event is about: the branch's or tag's commit, or a pull request's head and merge. */
function githubOrigin(event: GithubEvent): OriginSpec {
  const pr = event.pullRequest;
  if (event.ref.startsWith("refs/pull/") && pr) {
    return { commit: event.sha, request: { head: pr.headSha, refs: "github", number: pr.number } };
  }
  const tag = /^refs\/tags\/(.+)$/.exec(event.ref)?.[1];
  if (tag !== undefined) return { commit: event.sha, tag };
  return { commit: event.sha, branch: event.ref.replace(/^refs\/heads\//, "") };
}

/** The job outputs later jobs read must be exactly what the module pushed. */
function outputFindings(label: string, job: JobRun, pub: PublicationData | undefined): string[] {
  if (!pub) return [];
  const want: Record<string, string> = { digest: pub.digest, ref: pub.refs[0] ?? "", refs: pub.refs.join("\n") };
  return Object.entries(want).flatMap(([name, value]) => {
    const got = job.outputs[name] ?? "";
    if (got === "") return [`${label}: ${job.id}: no ${name} output`];
    return got === value
      ? []
      : [`${label}: ${job.id}: ${name} output ${JSON.stringify(got)}, want ${JSON.stringify(value)}`];
  });
}

export async function playGithub(text: string, rows: GithubRow[] = GITHUB_ROWS): Promise<GithubPlay> {
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  const runs = new Map<string, JobRun[]>();
  for (const row of rows) {
    const label = row.event.label;
    const origin = makeOrigin(githubOrigin(row.event));
    const event = realize(row.event, origin.commits);
    const want = row.want && realize(row.want, origin.commits);
    const images = want?.images ?? [GHCR];
    const oidc = githubToken(event);
    const shim = await recipeShim({ curl: FAKE_OIDC_CURL });
    const jobRuns = runWorkflow(text, event, {
      bin: shim.bin,
      fakeEnv: { ...shim.env, ...oidc.env },
      origin: origin.dir,
    });
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
    const calls = shim.records();
    if (want) {
      if (calls.length !== 1) findings.push(`${label}: ${calls.length} dagger calls, want 1 publish`);
      const call = calls[0];
      if (call) findings.push(...compareRun(label, call, want));
      const pub = call && call.status === 0 ? publicationOf(call) : undefined;
      // The publishing job hands what was pushed on (job outputs) and writes a step summary.
      for (const job of jobRuns) {
        if (want.push) findings.push(...outputFindings(label, job, pub));
        if (!job.summary.includes(`${images[0] ?? ""}:`)) findings.push(`${label}: ${job.id}: no step summary`);
      }
      const signing = { sign: want.sign === true, identity: githubIdentity(event.ref), issuer: GITHUB_ISSUER };
      // One platform manifest per platform and their index.
      if (call) findings.push(...signFindings(label, call, pub, { ...signing, count: 3 }));
    } else if (calls.length > 0) {
      findings.push(`${label}: ${calls.length} dagger calls, want none`);
    }
    findings.push(...tokenLeaks(label, [oidc.token], { ...callTexts(calls), ...githubTexts(jobRuns) }));
    outcomes.push(describe(label, calls[0], want));
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
      sign: true,
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
      sign: true,
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
// The install script is the Dagger CLI's; here it installs nothing (the shim is already first on PATH).
const FAKE_CURL = "#!/bin/sh\necho 'exit 0'\n";

/** The project's repository for a pipeline: the branch's or tag's commit, or a merge request's head. */
function gitlabOrigin(event: GitlabEvent): OriginSpec {
  const vars = Object.assign({}, ...event.candidates.map((c) => c.vars)) as Record<string, string>;
  const commit = vars.CI_COMMIT_SHA ?? "";
  const iid = vars.CI_MERGE_REQUEST_IID;
  const branch = vars.CI_COMMIT_BRANCH;
  return {
    commit,
    ...(branch !== undefined ? { branch } : {}),
    ...(vars.CI_COMMIT_TAG !== undefined ? { tag: vars.CI_COMMIT_TAG } : {}),
    ...(iid !== undefined ? { request: { head: commit, refs: "gitlab" as const, number: Number(iid) } } : {}),
  };
}

/** GitLab's id_tokens: a JWT per variable, for its audience, as this pipeline's identity (its ref). */
function gitlabMinter() {
  const tokens: string[] = [];
  const audiences = new Set<string>();
  const mint = (aud: string, vars: Record<string, string>) => {
    audiences.add(aud);
    const ref = vars.CI_COMMIT_TAG
      ? `refs/tags/${vars.CI_COMMIT_TAG}`
      : vars.CI_MERGE_REQUEST_IID
        ? `refs/merge-requests/${vars.CI_MERGE_REQUEST_IID}/head`
        : `refs/heads/${vars.CI_COMMIT_BRANCH ?? ""}`;
    const token = oidcToken(GITLAB_ISSUER, gitlabIdentity(ref), aud);
    tokens.push(token);
    return token;
  };
  const findings = (label: string) =>
    [...audiences].filter((a) => a !== "sigstore").map((a) => `${label}: an id_token for audience ${a}, want sigstore`);
  return { tokens, mint, findings };
}

/** What a GitLab pipeline showed or handed on: each job's log and dotenv report. */
function gitlabTexts(results: { job: string; stdout: string; stderr: string; dotenv?: unknown }[]) {
  return Object.fromEntries(
    results.flatMap((r) => [
      [`${r.job}'s log`, r.stdout + r.stderr],
      [`${r.job}'s dotenv report`, JSON.stringify(r.dotenv ?? {})],
    ]),
  );
}

export async function playGitlab(
  text: string,
  rows: GitlabRow[] = GITLAB_ROWS,
): Promise<{ findings: string[]; outcomes: Outcome[] }> {
  const p = loadPipeline(text);
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  for (const row of rows) {
    const label = row.event.label;
    const origin = makeOrigin(gitlabOrigin(row.event));
    const event = realize(row.event, origin.commits);
    const want = row.want && realize(row.want, origin.commits);
    const created = pipelinesFor(p, event);
    if (created.length > 1) findings.push(`${label}: ${created.length} pipelines, want at most 1`);
    const pipeline = created[0];
    const jobs = pipeline?.jobs.map((j) => j.name) ?? [];
    if (jobs.join(",") !== row.jobs.join(",")) findings.push(`${label}: jobs [${jobs.join(", ")}], want [${row.jobs}]`);
    const shim = await recipeShim({ apk: FAKE_APK, curl: FAKE_CURL });
    const minted = gitlabMinter();
    const results = pipeline
      ? runPipeline(p, pipeline, { bin: shim.bin, fakeEnv: shim.env, origin: origin.dir, idToken: minted.mint })
      : [];
    for (const r of results) {
      if (r.status !== 0) findings.push(`${label}: ${r.job} exited ${r.status}: ${r.stderr.trim()}`);
      if (existsSync(join(r.workdir, "INJECTED"))) findings.push(`${label}: ${r.job}: a branch name ran as shell code`);
    }
    const calls = shim.records();
    findings.push(...minted.findings(label));
    findings.push(...tokenLeaks(label, minted.tokens, { ...callTexts(calls), ...gitlabTexts(results) }));
    if (want) {
      if (calls.length !== 1) findings.push(`${label}: ${calls.length} dagger calls, want 1 publish`);
      const call = calls[0];
      if (call) findings.push(...compareRun(label, call, want));
      const pub = call && call.status === 0 ? publicationOf(call) : undefined;
      const publisher = results.find((r) => r.dotenv !== undefined);
      if (!publisher) findings.push(`${label}: no job left a dotenv report`);
      else if (want.push && pub && publisher.dotenv?.IMAGE_DIGEST !== pub.digest) {
        findings.push(
          `${label}: the dotenv report's IMAGE_DIGEST is ${publisher.dotenv?.IMAGE_DIGEST ?? "absent"}, want ${pub.digest}`,
        );
      }
      if (call) {
        const signing = { sign: want.sign === true, identity: gitlabIdentity(want.ref), issuer: GITLAB_ISSUER };
        findings.push(...signFindings(label, call, pub, { ...signing, count: 3 }));
      }
      const deploy = results.find((r) => r.job === "deploy");
      if (want.push && pub && !deploy?.stdout.includes(`${GL_IMAGE}@${pub.digest}`)) {
        findings.push(`${label}: the deploy job did not get the digest (${deploy?.stdout.trim() ?? "no deploy job"})`);
      }
    } else if (calls.length > 0) {
      findings.push(`${label}: ${calls.length} dagger calls, want none`);
    }
    outcomes.push(describe(label, calls[0], want));
  }
  return { findings, outcomes };
}

// ---------------------------------------------------------------------------------------------------------------
// Multi-arch from native runners: examples/github-actions-multiarch.yml, examples/gitlab-ci-multiarch.yml. Each
// platform is one leg (one dagger call) on a runner of its architecture; on a publishing event each leg pushes only
// its staging tag, and one merge call puts one index of exactly the legs' images under every final tag.

const LEG_PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
/** The runner each leg must ask for: GitHub's arm64 hosted runner label, GitLab.com's hosted runner tags. */
const GITHUB_RUNNERS: Record<string, string> = { "linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm" };
const GITLAB_RUNNER_TAGS: Record<string, string> = {
  "linux/amd64": "saas-linux-small-amd64",
  "linux/arm64": "saas-linux-small-arm64",
};

/** The value a function of the call returned (the Publication's fields for publish and merge). */
function returned(rec: ShimRecord, fn: string): PublicationData | undefined {
  const i = rec.steps.findIndex((s) => s.fn === fn);
  return i < 0 ? undefined : (rec.returns[i]?.value as PublicationData | undefined);
}

const calledFn = (rec: ShimRecord, fn: string): boolean => rec.steps.some((s) => s.fn === fn);

interface MultiarchCheck {
  findings: string[];
  outcome: Outcome;
  /** merge's Publication, when it ran and pushed. */
  merged?: PublicationData;
}

/**
 * What the shim saw for one event of a multi-arch recipe: one leg per platform, each building only its platform;
 * no push and no credentials on an event that must not publish; else each leg's one staging tag, then one merge
 * whose index names exactly the legs' digests under every final tag, as the registry holds it afterwards.
 */
export function compareMultiarch(
  label: string,
  calls: ShimRecord[],
  want: Expected,
  signer: { identity: string; issuer: string },
): MultiarchCheck {
  const out: string[] = [];
  const say = (s: string) => out.push(`${label}: ${s}`);
  const image = want.images[0] ?? "";
  const legs = calls.filter((c) => calledFn(c, "publish"));
  const merges = calls.filter((c) => calledFn(c, "merge"));
  if (legs.length + merges.length !== calls.length)
    say(`${calls.length - legs.length - merges.length} other dagger calls (merge --sign signs; no sign step)`);
  // Legs never sign; the merge signs the index and its platform manifests (merge --sign) where the event must.
  for (const c of legs) out.push(...signFindings(label, c, undefined, { ...signer, sign: false, count: 0 }));
  const legDigests: string[] = [];
  for (const platform of LEG_PLATFORMS) {
    const mine = legs.filter((c) => flagOf(c, "--platforms") === platform);
    if (mine.length !== 1) {
      say(`${mine.length} legs for ${platform}, want 1`);
      continue;
    }
    const leg = mine[0]!;
    const pub = returned(leg, "publish");
    if (leg.status !== 0 || !pub) {
      say(`${platform} leg: the module refused or failed: ${firstLine(leg.stderr) || "no publication"}`);
      continue;
    }
    const built = leg.builds.map((b) => b.platform).join(",");
    if (built !== platform) say(`${platform} leg built for ${built || "the engine's platform"}, want ${platform} only`);
    if (pub.commit !== want.commit) say(`${platform} leg: commit ${pub.commit}, want ${want.commit}`);
    const pushed = leg.pushes.map((p) => `${p.host}/${p.repository}:${p.tag}`);
    if (!want.push) {
      if (leg.pushAttempts.length > 0 || pub.pushed) say(`${platform} leg pushes ${leg.pushAttempts.join(", ")}`);
      if (flagOf(leg, "--password") !== undefined || flagOf(leg, "--username") !== undefined) {
        say(`${platform} leg: credentials passed on an event that pushes nothing`);
      }
      if (pub.tags.join(",") !== want.tags.join(",")) say(`${platform} leg: tags ${pub.tags}, want ${want.tags}`);
      continue;
    }
    const staging = `${want.commit.slice(0, 7)}-${platform.replace("/", "-")}`;
    if (pushed.join(",") !== `${image}:${staging}`)
      say(`${platform} leg pushed [${pushed.join(", ")}], want ${image}:${staging} only`);
    for (const p of leg.pushes.filter((x) => x.username === undefined))
      say(`${platform} leg pushed ${p.host} without credentials`);
    if (pub.digest !== leg.pushes[0]?.digest)
      say(`${platform} leg reports ${pub.digest}, pushed ${leg.pushes[0]?.digest ?? "nothing"}`);
    legDigests.push(pub.digest);
  }
  const describeLegs = `${image} (${LEG_PLATFORMS.join(",")}, one leg each) from ${want.commit.slice(0, 7)}`;
  if (!want.push) {
    if (merges.length > 0) say(`${merges.length} merge calls on an event that must not publish`);
    const tags = legs.map((l) => returned(l, "publish")?.tags.join(", ")).find((t) => t !== undefined) ?? "";
    return { findings: out, outcome: { event: label, built: describeLegs, pushed: "no", tags, want } };
  }
  if (merges.length !== 1) {
    say(`${merges.length} merge calls, want 1`);
    return { findings: out, outcome: { event: label, built: describeLegs, pushed: "no merge", tags: "", want } };
  }
  const merge = merges[0]!;
  const merged = returned(merge, "merge");
  if (merge.status !== 0 || !merged) {
    say(`merge: the module refused or failed: ${firstLine(merge.stderr) || "no publication"}`);
    return { findings: out, outcome: { event: label, built: describeLegs, pushed: "merge failed", tags: "", want } };
  }
  if (merged.tags.join(",") !== want.tags.join(",")) say(`merge: tags ${merged.tags}, want ${want.tags}`);
  if (merged.commit !== want.commit) say(`merge: commit ${merged.commit}, want ${want.commit}`);
  // merge --sign writes a referrers fallback tag per manifest signed (the registry has no referrers API) beside the tags.
  const tagPushes = merge.pushes.filter((p) => !FALLBACK_TAG.test(p.tag));
  const fallbackTags = new Set(merge.pushes.filter((p) => FALLBACK_TAG.test(p.tag)).map((p) => p.tag));
  if (fallbackTags.size !== (want.sign ? 3 : 0))
    say(`merge wrote ${fallbackTags.size} signature fallback tags, want ${want.sign ? 3 : 0}`);
  const pushed = tagPushes.map((p) => `${p.host}/${p.repository}:${p.tag}`).sort();
  const wanted = want.tags.map((t) => `${image}:${t}`).sort();
  if (pushed.join(",") !== wanted.join(",")) say(`merge pushed [${pushed.join(", ")}], want [${wanted.join(", ")}]`);
  for (const p of tagPushes) {
    if (p.username === undefined) say(`merge pushed ${p.tag} without credentials`);
    if (p.digest !== merged.digest) say(`merge pushed ${p.tag} at ${p.digest}, not the index ${merged.digest}`);
    const children = ((p.manifest as { manifests?: { digest: string }[] } | undefined)?.manifests ?? []).map(
      (m) => m.digest,
    );
    if (children.sort().join(",") !== [...legDigests].sort().join(",")) {
      say(`merge: ${p.tag}'s index names [${children.join(", ")}], want exactly the legs' [${legDigests.join(", ")}]`);
    }
  }
  // What the registry holds once the merge is done: every final tag the index, each staging tag its leg's image.
  const held = merge.registry[image] ?? {};
  for (const tag of want.tags) {
    if (held[tag] !== merged.digest)
      say(`registry: ${image}:${tag} names ${held[tag] ?? "nothing"}, want the index ${merged.digest}`);
  }
  LEG_PLATFORMS.forEach((platform, i) => {
    const staging = `${want.commit.slice(0, 7)}-${platform.replace("/", "-")}`;
    if (legDigests[i] !== undefined && held[staging] !== legDigests[i]) {
      say(`registry: ${image}:${staging} names ${held[staging] ?? "nothing"}, want its leg's ${legDigests[i]}`);
    }
  });
  // The index and its two platform manifests, signed by the merge itself.
  out.push(...signFindings(label, merge, merged, { ...signer, sign: want.sign === true, count: 3 }));
  const users = [...new Set(tagPushes.map((p) => p.username ?? "anonymous"))].join(", ");
  const outcome: Outcome = {
    event: label,
    built: describeLegs,
    pushed: `yes, 2 staging tags, then ${tagPushes.length} tags as ${users}, index ${merged.digest.slice(0, 19)}`,
    tags: merged.tags.join(", "),
    want,
  };
  return { findings: out, outcome, merged };
}

/** The multi-arch rows: a push to main, a release tag, pull requests; the event's jobs as GitHub names them. */
const githubLegs = (job: string, slug: boolean) =>
  LEG_PLATFORMS.map((p) => `${job} (${[p, GITHUB_RUNNERS[p], ...(slug ? [p.replace("/", "-")] : [])].join(", ")})`);

export const GITHUB_MULTIARCH_ROWS: GithubRow[] = GITHUB_ROWS.filter((r) =>
  ["push to main", "push of tag v1.2.3", "pull_request from the same repository", "pull_request from a fork"].includes(
    r.event.label,
  ),
).map((row) => ({
  ...row,
  jobs: row.want?.push ? [...githubLegs("stage", true), "merge"] : githubLegs("build", false),
}));

export async function playGithubMultiarch(
  text: string,
  rows: GithubRow[] = GITHUB_MULTIARCH_ROWS,
): Promise<{ findings: string[]; outcomes: Outcome[] }> {
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  for (const row of rows) {
    const label = row.event.label;
    if (!row.want) throw new Error(`${label}: a multi-arch row says what the event must build`);
    const origin = makeOrigin(githubOrigin(row.event));
    const event = realize(row.event, origin.commits);
    const want = realize(row.want, origin.commits);
    const oidc = githubToken(event);
    const shim = await recipeShim({ curl: FAKE_OIDC_CURL });
    const jobRuns = runWorkflow(text, event, {
      bin: shim.bin,
      fakeEnv: { ...shim.env, ...oidc.env },
      origin: origin.dir,
    });
    const ran = jobRuns.map((j) => j.name);
    if (ran.join(",") !== row.jobs.join(","))
      findings.push(`${label}: jobs [${ran.join(", ")}], want [${row.jobs.join(", ")}]`);
    for (const job of jobRuns) {
      for (const step of job.steps) {
        if (!step.skipped && step.status !== 0) {
          findings.push(`${label}: ${job.name}/${step.name} exited ${step.status}: ${step.stderr.trim()}`);
        }
      }
      if (existsSync(join(job.workdir, "INJECTED"))) {
        findings.push(`${label}: ${job.name}: the head ref ran as shell code (an expression was pasted into a script)`);
      }
      const platform = str(job.matrix.platform);
      if (platform !== undefined && job.runsOn !== GITHUB_RUNNERS[platform]) {
        findings.push(`${label}: ${job.name} runs on ${job.runsOn}, want ${GITHUB_RUNNERS[platform] ?? "?"}`);
      }
    }
    const calls = shim.records();
    const check = compareMultiarch(label, calls, want, { identity: githubIdentity(event.ref), issuer: GITHUB_ISSUER });
    findings.push(...check.findings);
    findings.push(...tokenLeaks(label, [oidc.token], { ...callTexts(calls), ...githubTexts(jobRuns) }));
    const image = want.images[0] ?? "";
    const merge = jobRuns.find((j) => j.id === "merge");
    if (want.push) {
      // The merge job hands the index on (job outputs) and writes a step summary.
      if (merge) findings.push(...outputFindings(label, merge, check.merged));
      if (!merge?.summary.includes(`${image}:`)) findings.push(`${label}: merge: no step summary`);
    } else {
      for (const job of jobRuns)
        if (!job.summary.includes(`${image}:`)) findings.push(`${label}: ${job.name}: no step summary`);
    }
    outcomes.push(check.outcome);
  }
  return { findings, outcomes };
}

const gitlabLegs = LEG_PLATFORMS.map((p) => `publish-platform: [${p}, ${GITLAB_RUNNER_TAGS[p] ?? ""}]`);

export const GITLAB_MULTIARCH_ROWS: GitlabRow[] = GITLAB_ROWS.filter((r) =>
  ["branch pipeline (push to main)", "tag pipeline (v1.2.3)", "merge request pipeline (!7)"].includes(r.event.label),
).map((row) => ({ ...row, jobs: row.want?.push ? [...gitlabLegs, "merge-image"] : gitlabLegs }));

export async function playGitlabMultiarch(
  text: string,
  rows: GitlabRow[] = GITLAB_MULTIARCH_ROWS,
): Promise<{ findings: string[]; outcomes: Outcome[] }> {
  const p = loadPipeline(text);
  const findings: string[] = [];
  const outcomes: Outcome[] = [];
  for (const row of rows) {
    const label = row.event.label;
    if (!row.want) throw new Error(`${label}: a multi-arch row says what the event must build`);
    const origin = makeOrigin(gitlabOrigin(row.event));
    const event = realize(row.event, origin.commits);
    const want = realize(row.want, origin.commits);
    const created = pipelinesFor(p, event);
    if (created.length !== 1) findings.push(`${label}: ${created.length} pipelines, want 1`);
    const pipeline = created[0];
    const jobs = pipeline?.jobs.map((j) => j.name) ?? [];
    if (jobs.join(",") !== row.jobs.join(","))
      findings.push(`${label}: jobs [${jobs.join(", ")}], want [${row.jobs.join(", ")}]`);
    const shim = await recipeShim({ apk: FAKE_APK, curl: FAKE_CURL });
    const minted = gitlabMinter();
    const results = pipeline
      ? runPipeline(p, pipeline, { bin: shim.bin, fakeEnv: shim.env, origin: origin.dir, idToken: minted.mint })
      : [];
    for (const r of results) {
      if (r.status !== 0) findings.push(`${label}: ${r.job} exited ${r.status}: ${r.stderr.trim()}`);
      if (existsSync(join(r.workdir, "INJECTED"))) findings.push(`${label}: ${r.job}: a branch name ran as shell code`);
      const platform = LEG_PLATFORMS.find((x) => r.job.startsWith(`publish-platform: [${x},`));
      if (platform !== undefined && r.runnerTags.join(",") !== GITLAB_RUNNER_TAGS[platform]) {
        findings.push(
          `${label}: ${r.job} asks for runner tags [${r.runnerTags.join(", ")}], want ${GITLAB_RUNNER_TAGS[platform] ?? "?"}`,
        );
      }
    }
    const calls = shim.records();
    const check = compareMultiarch(label, calls, want, { identity: gitlabIdentity(want.ref), issuer: GITLAB_ISSUER });
    findings.push(...check.findings);
    findings.push(...minted.findings(label));
    findings.push(...tokenLeaks(label, minted.tokens, { ...callTexts(calls), ...gitlabTexts(results) }));
    if (want.push && check.merged) {
      const report = results.find((r) => r.job === "merge-image")?.dotenv;
      if (report?.IMAGE_DIGEST !== check.merged.digest) {
        findings.push(
          `${label}: merge-image's dotenv IMAGE_DIGEST is ${report?.IMAGE_DIGEST ?? "absent"}, want ${check.merged.digest}`,
        );
      }
    }
    outcomes.push(check.outcome);
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
    // This workflow's dagger call runs test/dagger on a real engine: a recorder stands in, the shim runs only dockyard.
    const log = tempDir("dagger-log");
    const bin = fakeBin({ ...fakeDagger(), sudo: FAKE_SUDO, docker: FAKE_DOCKER, dagger: COUNTING_DAGGER });
    const runs = runWorkflow(text, event, {
      // setup-node puts its Node first on PATH for the later steps.
      bin: `${setupNode}:${bin}`,
      fakeEnv: { FAKE_DAGGER_LOG: log, FAKE_SECURE_PATH: `${imageNode}:/usr/sbin:/usr/bin:/sbin:/bin` },
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
    const calls = daggerCalls(log);
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
