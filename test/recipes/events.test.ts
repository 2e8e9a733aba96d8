// Rung 3 (engine double): each recipe's shell, run per event in a checkout made as the CI makes it, with a `dagger` shim running the real module through the engine double (memory registries, Sigstore's mock Fulcio and Rekor), builds, pushes, tags and signs what the event must (signing only on the default branch and tags, with the CI's OIDC token, which reaches no command line, log, output or result), and its next steps read what the module really pushed.
import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";

import { readCi } from "./lib/checks.js";
import {
  DOCKERHUB_ROWS,
  GITHUB_MULTIARCH_ROWS,
  GITHUB_ROWS,
  GITLAB_MULTIARCH_ROWS,
  GITLAB_ROWS,
  playGithub,
  playGithubMultiarch,
  playGitlab,
  playGitlabMultiarch,
  type Outcome,
} from "./lib/recipes.js";
import { removeTempDirs } from "./lib/shell.js";
import { stopShims } from "./lib/shim.js";

/** A dagger call runs two module processes (constructor, publish); on a loaded machine one can take a minute. */
const TIMEOUT = 600_000;

const table: string[] = [];

afterAll(() => {
  stopShims();
  removeTempDirs();
  // The recipes x events table for reports: RECIPES_TABLE=<file> npx vitest run test/recipes/events.test.ts
  if (process.env.RECIPES_TABLE) writeFileSync(process.env.RECIPES_TABLE, `${table.join("\n")}\n`);
});

/** One event's play: no findings, then nothing built, or the push and tags the row wants (real commit ids). */
function expectPlay(recipe: string, play: { findings: string[]; outcomes: Outcome[] }, wants: boolean): void {
  const outcome = play.outcomes[0];
  table.push(
    [
      recipe,
      outcome?.event,
      outcome?.built,
      outcome?.pushed,
      outcome?.tags,
      play.findings.length ? "FAIL" : "pass",
    ].join(" | "),
  );
  expect(play.findings).toEqual([]);
  const want = outcome?.want;
  if (!wants || !want) {
    expect(outcome?.built).toBe("nothing");
    return;
  }
  expect(outcome.pushed.startsWith("yes")).toBe(want.push);
  expect(outcome.tags).toBe(want.tags.join(", "));
}

describe("examples/github-actions.yml per event", () => {
  const text = readCi("examples/github-actions.yml");
  it.each(GITHUB_ROWS.map((row) => ({ label: row.event.label, row })))(
    "$label",
    async ({ row }) => {
      expectPlay("github-actions.yml", await playGithub(text, [row]), row.want !== undefined);
    },
    TIMEOUT,
  );
});

describe("examples/github-actions-dockerhub.yml per event", () => {
  const text = readCi("examples/github-actions-dockerhub.yml");
  it.each(DOCKERHUB_ROWS.map((row) => ({ label: row.event.label, row })))(
    "$label",
    async ({ row }) => {
      expectPlay("github-actions-dockerhub.yml", await playGithub(text, [row]), row.want !== undefined);
    },
    TIMEOUT,
  );
});

describe("examples/gitlab-ci.yml per pipeline", () => {
  const text = readCi("examples/gitlab-ci.yml");
  it.each(GITLAB_ROWS.map((row) => ({ label: row.event.label, row })))(
    "$label",
    async ({ row }) => {
      expectPlay("gitlab-ci.yml", await playGitlab(text, [row]), row.want !== undefined);
    },
    TIMEOUT,
  );
});

// Multi-arch from native runners: one leg per platform, then (on a publishing event) one merge; expectPlay reads
// the merge's tags, and compareMultiarch has checked each leg's staging push and the index the registry holds.
describe("examples/github-actions-multiarch.yml per event", () => {
  const text = readCi("examples/github-actions-multiarch.yml");
  it.each(GITHUB_MULTIARCH_ROWS.map((row) => ({ label: row.event.label, row })))(
    "$label",
    async ({ row }) => {
      expectPlay("github-actions-multiarch.yml", await playGithubMultiarch(text, [row]), true);
    },
    TIMEOUT,
  );
});

describe("examples/gitlab-ci-multiarch.yml per pipeline", () => {
  const text = readCi("examples/gitlab-ci-multiarch.yml");
  it.each(GITLAB_MULTIARCH_ROWS.map((row) => ({ label: row.event.label, row })))(
    "$label",
    async ({ row }) => {
      expectPlay("gitlab-ci-multiarch.yml", await playGitlabMultiarch(text, [row]), true);
    },
    TIMEOUT,
  );
});
