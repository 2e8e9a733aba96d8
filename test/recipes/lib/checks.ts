// Every check, by name, and which CI files each applies to.
import { readFileSync, readdirSync } from "node:fs";

import {
  actionlintFindings,
  githubPolicyFindings,
  githubShellcheckFindings,
  workflowParserFindings,
} from "./github.js";
import { gitlabPolicyFindings, gitlabShellcheckFindings } from "./gitlab.js";
import {
  DOCKERHUB_ROWS,
  GITHUB_MULTIARCH_ROWS,
  GITHUB_ROWS,
  GITLAB_MULTIARCH_ROWS,
  GITLAB_ROWS,
  gitlabRulesFindings,
  playGithub,
  playGithubMultiarch,
  playGitlab,
  playGitlabMultiarch,
  realEngineFindings,
} from "./recipes.js";
import { githubSchemaFindings, gitlabSchemaFindings } from "./schema.js";
import { dict, loadYaml, yamlFindings } from "./yaml.js";

export const ROOT = new URL("../../../", import.meta.url);

export type CheckName =
  | "yaml"
  | "github-schema"
  | "workflow-parser"
  | "actionlint"
  | "shellcheck"
  | "policy"
  | "github-events"
  | "dockerhub-events"
  | "github-multiarch-events"
  | "real-engine"
  | "gitlab-schema"
  | "gitlab-policy"
  | "gitlab-rules"
  | "gitlab-events"
  | "gitlab-multiarch-events";

/** A GitHub workflow has `on:` and `jobs:`; anything else here is GitLab CI. */
function isGithub(text: string): boolean {
  const root = dict(loadYaml(text));
  return "on" in root && "jobs" in root;
}

/** The rows whose event label is listed; every row when no list is given. */
function only<R extends { event: { label: string } }>(rows: R[], events: readonly string[] | undefined): R[] {
  if (events === undefined) return rows;
  const picked = rows.filter((r) => events.includes(r.event.label));
  if (picked.length !== events.length) throw new Error(`events ${events.join(", ")}: not all are rows`);
  return picked;
}

/** Each check on a file's text; the *-events checks can be limited to some events (each runs the module). */
export const CHECKS: Record<CheckName, (text: string, events?: readonly string[]) => string[] | Promise<string[]>> = {
  yaml: yamlFindings,
  "github-schema": githubSchemaFindings,
  "workflow-parser": workflowParserFindings,
  actionlint: actionlintFindings,
  shellcheck: (text) => (isGithub(text) ? githubShellcheckFindings(text) : gitlabShellcheckFindings(text)),
  policy: githubPolicyFindings,
  "github-events": async (text, events) => (await playGithub(text, only(GITHUB_ROWS, events))).findings,
  "dockerhub-events": async (text, events) => (await playGithub(text, only(DOCKERHUB_ROWS, events))).findings,
  "github-multiarch-events": async (text, events) =>
    (await playGithubMultiarch(text, only(GITHUB_MULTIARCH_ROWS, events))).findings,
  "real-engine": realEngineFindings,
  "gitlab-schema": gitlabSchemaFindings,
  "gitlab-policy": gitlabPolicyFindings,
  "gitlab-rules": gitlabRulesFindings,
  "gitlab-events": async (text, events) => (await playGitlab(text, only(GITLAB_ROWS, events))).findings,
  "gitlab-multiarch-events": async (text, events) =>
    (await playGitlabMultiarch(text, only(GITLAB_MULTIARCH_ROWS, events))).findings,
};

const GITHUB: CheckName[] = ["yaml", "github-schema", "workflow-parser", "actionlint", "shellcheck", "policy"];

/** Every CI file in the repository and the checks it must pass; a new file must be added here. */
export const FILES: Record<string, CheckName[]> = {
  "examples/github-actions.yml": [...GITHUB, "github-events"],
  "examples/github-actions-dockerhub.yml": [...GITHUB, "dockerhub-events"],
  "examples/github-actions-multiarch.yml": [...GITHUB, "github-multiarch-events"],
  ".github/workflows/real-engine.yml": [...GITHUB, "real-engine"],
  "examples/gitlab-ci.yml": ["yaml", "gitlab-schema", "shellcheck", "gitlab-policy", "gitlab-rules", "gitlab-events"],
  "examples/gitlab-ci-multiarch.yml": [
    "yaml",
    "gitlab-schema",
    "shellcheck",
    "gitlab-policy",
    "gitlab-rules",
    "gitlab-multiarch-events",
  ],
};

/** The CI files present: examples/*.yml and .github/workflows/*.yml. */
export function ciFiles(): string[] {
  const list = (dir: string) =>
    readdirSync(new URL(dir, ROOT))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => `${dir}${f}`);
  return [...list("examples/"), ...list(".github/workflows/")].sort();
}

export function readCi(file: string): string {
  return readFileSync(new URL(file, ROOT), "utf8");
}

export async function runCheck(name: CheckName, text: string, events?: readonly string[]): Promise<string[]> {
  return await CHECKS[name](text, events);
}
