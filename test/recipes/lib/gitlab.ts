// GitLab CI checks: job scripts for shellcheck, a simulation of workflow:rules and job rules per event, and a runner
// that plays the created pipelines' jobs (variables, before_script + script in one sh, dotenv reports between jobs).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { gitlabCheckout } from "./checkouts.js";
import { gitCheckout, runScript, shellcheck, tempDir, type Script } from "./shell.js";
import { dict, loadYaml, str, type Dict } from "./yaml.js";

// ---------------------------------------------------------------------------------------------------------------
// Model

const GLOBAL_KEYWORDS = new Set([
  "default",
  "include",
  "stages",
  "variables",
  "workflow",
  "image",
  "services",
  "cache",
  "before_script",
  "after_script",
  "spec",
]);

export interface Rule {
  if: string | undefined;
  when: string | undefined;
}

export interface GitlabJob {
  /** As GitLab names it: the job's key, or for a parallel:matrix job "key: [value, value]". */
  name: string;
  /** The job's key in the file (the name `needs:` uses for every one of its matrix jobs). */
  base: string;
  /** This matrix job's variables ({} without parallel:matrix). */
  matrix: Record<string, string>;
  /** 1-based position among the job's matrix jobs, and their count (CI_NODE_INDEX, CI_NODE_TOTAL). */
  node: { index: number; total: number } | undefined;
  /** Runner tags, as written (variables expanded when the job runs). */
  tags: string[];
  stage: string;
  rules: Rule[] | undefined;
  beforeScript: string[];
  script: string[];
  afterScript: string[];
  variables: Dict;
  needs: string[];
  dotenv: string | undefined;
  services: string[];
  /** id_tokens: each variable's name and the audience GitLab mints its JWT for. */
  idTokens: Record<string, string>;
}

export interface Pipeline {
  workflowRules: Rule[] | undefined;
  variables: Dict;
  stages: string[];
  jobs: GitlabJob[];
}

/** Script items may nest one level (`!reference` results); GitLab flattens them. */
function lines(x: unknown): string[] {
  if (x === undefined || x === null) return [];
  if (typeof x === "string") return [x];
  if (Array.isArray(x)) return x.flatMap(lines);
  throw new Error(`script item ${JSON.stringify(x)}: not a string`);
}

function rules(x: unknown): Rule[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x)) throw new Error("rules: not a list");
  return x.map((r) => ({ if: str(dict(r).if), when: str(dict(r).when) }));
}

/**
 * parallel:matrix (GitLab docs "parallel:matrix"): each entry's lists multiply out, one job per combination, in
 * order, named "job: [value, value]" (the values in the entry's key order: gitlab-org/gitlab!39985). A plain
 * `parallel: N` is not modelled.
 */
function matrixLegs(name: string, parallel: unknown): Record<string, string>[] | undefined {
  if (parallel === undefined) return undefined;
  const matrix = dict(parallel).matrix;
  if (!Array.isArray(matrix) || Object.keys(dict(parallel)).join(",") !== "matrix") {
    throw new Error(`${name}.parallel: only parallel:matrix is modelled`);
  }
  return matrix.flatMap((entry: unknown) => {
    let legs: Record<string, string>[] = [{}];
    for (const [k, v] of Object.entries(dict(entry))) {
      const values = (Array.isArray(v) ? v : [v]).map((x) => str(x) ?? "");
      legs = legs.flatMap((leg) => values.map((x) => ({ ...leg, [k]: x })));
    }
    return legs;
  });
}

export function loadPipeline(text: string): Pipeline {
  const root = dict(loadYaml(text));
  const defaults = dict(root.default);
  const globalBefore = defaults.before_script ?? root.before_script;
  const globalAfter = defaults.after_script ?? root.after_script;
  for (const key of Object.keys(defaults)) {
    if (!["image", "services", "before_script", "after_script"].includes(key)) {
      throw new Error(`default.${key}: not supported by this simulator`);
    }
  }
  const jobs: GitlabJob[] = [];
  for (const [name, raw] of Object.entries(root)) {
    if (GLOBAL_KEYWORDS.has(name) || name.startsWith(".")) continue;
    const job = dict(raw);
    for (const unsupported of ["extends", "only", "except", "trigger", "dependencies"]) {
      if (job[unsupported] !== undefined) throw new Error(`${name}.${unsupported}: not supported by this simulator`);
    }
    const needs = (Array.isArray(job.needs) ? job.needs : []).map((n: unknown) => {
      if (dict(n).parallel !== undefined) throw new Error(`${name}.needs:parallel: not supported by this simulator`);
      return str(n) ?? str(dict(n).job) ?? "";
    });
    const legs = matrixLegs(name, job.parallel);
    // default: keywords apply to every job that does not set its own (GitLab docs "default").
    const services = job.services ?? defaults.services;
    const tags = (Array.isArray(job.tags) ? job.tags : []).map((t: unknown) => str(t) ?? "");
    const common = {
      base: name,
      tags,
      stage: str(job.stage) ?? "test",
      rules: rules(job.rules),
      beforeScript: lines(job.before_script ?? globalBefore),
      script: lines(job.script),
      afterScript: lines(job.after_script ?? globalAfter),
      variables: dict(job.variables),
      needs,
      dotenv: str(dict(dict(dict(job.artifacts).reports)).dotenv),
      services: (Array.isArray(services) ? services : []).map((x: unknown) => str(x) ?? str(dict(x).name) ?? ""),
      idTokens: Object.fromEntries(
        Object.entries(dict(job.id_tokens)).map(([k, v]) => {
          const aud = str(dict(v).aud);
          if (aud === undefined) throw new Error(`${name}.id_tokens.${k}: one aud string is all this simulator models`);
          return [k, aud];
        }),
      ),
    };
    if (!legs) jobs.push({ ...common, name, matrix: {}, node: undefined });
    else {
      legs.forEach((matrix, i) => {
        const node = { index: i + 1, total: legs.length };
        jobs.push({ ...common, name: `${name}: [${Object.values(matrix).join(", ")}]`, matrix, node });
      });
    }
  }
  const stages = Array.isArray(root.stages) ? root.stages.map(String) : ["build", "test", "deploy"];
  return { workflowRules: rules(dict(root.workflow).rules), variables: dict(root.variables), stages, jobs };
}

// ---------------------------------------------------------------------------------------------------------------
// shellcheck: before_script and script run in one shell (so variables carry over); after_script in another

export function jobScripts(p: Pipeline): Script[] {
  // A parallel:matrix job's jobs share one script: check it once.
  return p.jobs
    .filter((job) => (job.node?.index ?? 1) === 1)
    .flatMap((job) => [
      { name: `${job.name}/script`, shell: "sh" as const, text: [...job.beforeScript, ...job.script].join("\n") },
      ...(job.afterScript.length > 0
        ? [{ name: `${job.name}/after_script`, shell: "sh" as const, text: job.afterScript.join("\n") }]
        : []),
    ]);
}

export function gitlabShellcheckFindings(text: string): string[] {
  return shellcheck(jobScripts(loadPipeline(text)));
}

// ---------------------------------------------------------------------------------------------------------------
// Policy: Docker-in-Docker with TLS, as GitLab documents it ("Use Docker-in-Docker", Docker executor with TLS)

const DIND_TLS: Record<string, string> = {
  DOCKER_HOST: "tcp://docker:2376",
  DOCKER_TLS_CERTDIR: "/certs",
  DOCKER_TLS_VERIFY: "1",
  DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client",
};

export function gitlabPolicyFindings(text: string): string[] {
  const p = loadPipeline(text);
  const out: string[] = [];
  if (p.workflowRules === undefined)
    out.push("policy: no workflow:rules (branch and merge request pipelines both run)");
  for (const job of p.jobs) {
    if (!job.services.some((s) => /^docker:.*dind/.test(s))) continue;
    const vars = { ...p.variables, ...job.variables };
    for (const [k, want] of Object.entries(DIND_TLS)) {
      const got = str(vars[k]);
      if (got !== want) out.push(`policy: ${job.name}: ${k} is ${JSON.stringify(got)}, want "${want}" (TLS dind)`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// rules: `if:` expressions (GitLab docs, "CI/CD variable expressions")

type Token = { kind: "var" | "str" | "re" | "null" | "op" | "lp" | "rp"; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\s+/.exec(rest))) {
      i += m[0].length;
    } else if ((m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/.exec(rest))) {
      out.push({ kind: "var", text: m[1] ?? "" });
      i += m[0].length;
    } else if ((m = /^"([^"]*)"|^'([^']*)'/.exec(rest))) {
      out.push({ kind: "str", text: m[1] ?? m[2] ?? "" });
      i += m[0].length;
    } else if ((m = /^\/((?:\\.|[^/])*)\/([a-z]*)/.exec(rest))) {
      out.push({ kind: "re", text: `${m[1] ?? ""}/${m[2] ?? ""}` });
      i += m[0].length;
    } else if ((m = /^null\b/.exec(rest))) {
      out.push({ kind: "null", text: "null" });
      i += 4;
    } else if ((m = /^(==|!=|=~|!~|&&|\|\|)/.exec(rest))) {
      out.push({ kind: "op", text: m[1] ?? "" });
      i += 2;
    } else if (rest[0] === "(" || rest[0] === ")") {
      out.push({ kind: rest[0] === "(" ? "lp" : "rp", text: rest[0] });
      i += 1;
    } else {
      throw new Error(`rules if "${src}": cannot read at "${rest}"`);
    }
  }
  return out;
}

/** Evaluates a rules `if:`; undefined variables are null, a lone variable is true when set and non-empty. */
export function evaluateIf(src: string, vars: Record<string, string>): boolean {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  type Value = string | null | RegExp;
  const operand = (): Value => {
    const t = tokens[pos++];
    if (!t) throw new Error(`rules if "${src}": unexpected end`);
    if (t.kind === "var") return vars[t.text] ?? null;
    if (t.kind === "str") return t.text;
    if (t.kind === "null") return null;
    if (t.kind === "re") {
      const slash = t.text.lastIndexOf("/");
      return new RegExp(t.text.slice(0, slash), t.text.slice(slash + 1));
    }
    throw new Error(`rules if "${src}": unexpected ${t.text}`);
  };
  const comparison = (): boolean => {
    if (peek()?.kind === "lp") {
      pos++;
      const v = or();
      if (tokens[pos++]?.kind !== "rp") throw new Error(`rules if "${src}": missing )`);
      return v;
    }
    const left = operand();
    const op = peek();
    if (op?.kind === "op" && ["==", "!=", "=~", "!~"].includes(op.text)) {
      pos++;
      const right = operand();
      if (op.text === "==" || op.text === "!=") {
        const eq = String(left) === String(right) && (left === null) === (right === null);
        return op.text === "==" ? eq : !eq;
      }
      const re = right instanceof RegExp ? right : new RegExp(String(right ?? ""));
      const hit = typeof left === "string" && re.test(left);
      return op.text === "=~" ? hit : !hit;
    }
    return typeof left === "string" && left !== "";
  };
  const and = (): boolean => {
    let v = comparison();
    while (peek()?.text === "&&") {
      pos++;
      const r = comparison();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (peek()?.text === "||") {
      pos++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  const result = or();
  if (pos !== tokens.length) throw new Error(`rules if "${src}": trailing ${tokens[pos]?.text ?? ""}`);
  return result;
}

/** The first matching rule's `when`, or undefined when none matches (job not added / pipeline not created). */
function firstMatch(rs: Rule[], vars: Record<string, string>, defaultWhen: string): string | undefined {
  for (const r of rs) {
    if (r.if === undefined || evaluateIf(r.if, vars)) return r.when ?? defaultWhen;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Events and the pipelines they create

/** One pipeline GitLab would consider for an event, with its predefined variables. */
export interface Candidate {
  source: string;
  vars: Record<string, string>;
}

export interface GitlabEvent {
  label: string;
  candidates: Candidate[];
}

export interface CreatedPipeline {
  source: string;
  vars: Record<string, string>;
  jobs: GitlabJob[];
}

export function jobsFor(p: Pipeline, vars: Record<string, string>): GitlabJob[] {
  if (p.workflowRules !== undefined && firstMatch(p.workflowRules, vars, "always") !== "always") return [];
  const isMr = vars.CI_PIPELINE_SOURCE === "merge_request_event";
  return p.jobs.filter((job) => {
    // A job with neither rules nor only/except has `only: [branches, tags]`: never in merge request pipelines.
    if (job.rules === undefined) return !isMr;
    const when = firstMatch(job.rules, { ...vars, ...job.matrix }, "on_success");
    return when !== undefined && when !== "never";
  });
}

/** The pipelines an event creates: GitLab creates none when no job is left. */
export function pipelinesFor(p: Pipeline, event: GitlabEvent): CreatedPipeline[] {
  return event.candidates
    .map((c) => ({ source: c.source, vars: c.vars, jobs: jobsFor(p, c.vars) }))
    .filter((c) => c.jobs.length > 0);
}

/** Duplicate pipelines for one push, and `needs:` naming a job the pipeline does not have. */
export function rulesFindings(text: string, events: GitlabEvent[]): string[] {
  const p = loadPipeline(text);
  const out: string[] = [];
  for (const event of events) {
    const created = pipelinesFor(p, event);
    if (created.length > 1) {
      for (const job of p.jobs) {
        const sources = created.filter((c) => c.jobs.includes(job)).map((c) => c.source);
        if (sources.length > 1) {
          out.push(`rules: ${event.label}: ${job.name} runs in ${sources.length} pipelines [${sources.join(", ")}]`);
        }
      }
    }
    for (const c of created) {
      for (const job of c.jobs) {
        for (const need of job.needs) {
          if (!c.jobs.some((j) => j.base === need)) {
            out.push(`rules: ${event.label} (${c.source}): ${job.name} needs ${need}, which is not in the pipeline`);
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Running a created pipeline

/** `$VAR` and `${VAR}` in variable values, as GitLab expands them (unless `expand: false`). */
function expand(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, n: string) => vars[n] ?? "");
}

function variables(block: Dict, vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(block)) {
    const value = str(v) ?? str(dict(v).value) ?? "";
    out[k] = expand(value, { ...vars, ...out });
  }
  return out;
}

/**
 * A dotenv report as GitLab accepts it (docs "artifacts:reports:dotenv"; gitlab-org/gitlab#215957, #356650):
 * under 5 KB, at most 20 variables, one KEY=VALUE a line, no empty or comment lines, no multi-line values.
 * Anything else makes the artifact upload fail (400), so later jobs get nothing.
 */
export function parseDotenv(text: string): Record<string, string> {
  if (Buffer.byteLength(text) >= 5 * 1024)
    throw new Error(`dotenv: ${Buffer.byteLength(text)} bytes, GitLab takes < 5 KB`);
  const out: Record<string, string> = {};
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  for (const line of lines) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`dotenv: GitLab refuses the line ${JSON.stringify(line)}`);
    out[m[1] ?? ""] = m[2] ?? "";
  }
  if (Object.keys(out).length > 20) throw new Error(`dotenv: ${Object.keys(out).length} variables, GitLab takes 20`);
  return out;
}

export interface JobResult {
  job: string;
  /** The runner tags the job asked for, variables expanded. */
  runnerTags: string[];
  status: number | null;
  stdout: string;
  stderr: string;
  dotenv: Record<string, string> | undefined;
  workdir: string;
}

export interface GitlabRunOptions {
  bin: string;
  fakeEnv: Record<string, string>;
  /** The project's repository the runner fetches CI_COMMIT_SHA from; without it, a one-commit stand-in. */
  origin?: string;
  /** The JWT GitLab mints for an id_tokens variable with this audience, in this pipeline. */
  idToken?: (aud: string, vars: Record<string, string>) => string;
}

/** The ref the runner fetches besides refs/pipelines/<id>: the tag, the merge request's head, or the branch. */
function pipelineRef(vars: Record<string, string>): string {
  if (vars.CI_COMMIT_TAG) return `refs/tags/${vars.CI_COMMIT_TAG}`;
  if (vars.CI_MERGE_REQUEST_IID) return `refs/merge-requests/${vars.CI_MERGE_REQUEST_IID}/head`;
  return `refs/heads/${vars.CI_COMMIT_BRANCH ?? vars.CI_COMMIT_REF_NAME ?? ""}`;
}

/** Runs the pipeline's jobs stage by stage with busybox sh (alpine's /bin/sh), each in a fresh checkout. */
export function runPipeline(p: Pipeline, created: CreatedPipeline, opts: GitlabRunOptions): JobResult[] {
  const results: JobResult[] = [];
  const reports = new Map<string, Record<string, string>>();
  const baseOf = new Map<string, string>();
  const ordered = [...created.jobs].sort((a, b) => p.stages.indexOf(a.stage) - p.stages.indexOf(b.stage));
  for (const job of ordered) {
    const workdir = tempDir(`gitlab-${job.base}${job.node ? `-${job.node.index}` : ""}`);
    // The runner's checkout: a fetch, a detached HEAD at CI_COMMIT_SHA, then git clean.
    if (opts.origin !== undefined) {
      gitlabCheckout(workdir, opts.origin, created.vars.CI_COMMIT_SHA ?? "", pipelineRef(created.vars));
    } else gitCheckout(workdir);
    const inherited: Record<string, string> = {};
    const inheritedFrom: Record<string, string> = {};
    let collision: string | undefined;
    // A dotenv report reaches the jobs that need its job (or every later job when `needs` is absent); needs: on a
    // parallel:matrix job means every one of its jobs (GitLab docs "needs": a parallel job is needed whole).
    const from =
      job.needs.length > 0
        ? [...reports.keys()].filter((r) => job.needs.includes(baseOf.get(r) ?? r))
        : [...reports.keys()];
    for (const n of from) {
      for (const [k, v] of Object.entries(reports.get(n) ?? {})) {
        // GitLab documents no order between two reports of one name: a recipe must not depend on one.
        const earlier = inheritedFrom[k];
        if (earlier !== undefined && inherited[k] !== v) {
          collision ??= `simulator: dotenv ${k} comes from both ${earlier} and ${n}: which one wins is not modelled`;
        }
        inherited[k] = v;
        inheritedFrom[k] = n;
      }
    }
    const globals = variables(p.variables, created.vars);
    // Matrix variables are the job's own variables (GitLab docs "parallel:matrix"), with CI_NODE_INDEX/TOTAL.
    const node: Record<string, string> = job.node
      ? { CI_NODE_INDEX: String(job.node.index), CI_NODE_TOTAL: String(job.node.total) }
      : {};
    const own = variables({ ...job.variables, ...job.matrix }, { ...created.vars, ...globals });
    const env: Record<string, string> = {
      PATH: `${opts.bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: workdir,
      ...created.vars,
      ...globals,
      CI_JOB_NAME: job.name,
      ...node,
      ...own,
      ...Object.fromEntries(
        Object.entries(job.idTokens).map(([k, aud]) => [k, opts.idToken?.(aud, created.vars) ?? ""]),
      ),
      ...inherited,
      ...opts.fakeEnv,
    };
    const runnerTags = job.tags.map((t) => expand(t, env));
    const text = [...job.beforeScript, ...job.script].join("\n");
    if (collision !== undefined) {
      // Not played: the job's variables would depend on an order GitLab does not document.
      results.push({ job: job.name, runnerTags, status: 1, stdout: "", stderr: collision, dotenv: undefined, workdir });
      break;
    }
    const run = runScript(["busybox", "sh", "-e", "-o", "pipefail"], text, env, workdir);
    let dotenv: Record<string, string> | undefined;
    if (run.status === 0 && job.dotenv !== undefined && existsSync(join(workdir, job.dotenv))) {
      try {
        dotenv = parseDotenv(readFileSync(join(workdir, job.dotenv), "utf8"));
        reports.set(job.name, dotenv);
        baseOf.set(job.name, job.base);
      } catch (e) {
        // The runner's artifact upload is refused, and the job fails.
        run.status = 1;
        run.stderr += `\n${(e as Error).message}`;
      }
    }
    results.push({
      job: job.name,
      runnerTags,
      status: run.status,
      stdout: run.stdout,
      stderr: run.stderr,
      dotenv,
      workdir,
    });
    if (run.status !== 0) break;
  }
  return results;
}
