// Unit (recipes): each recipe's shell, run with the CI variables of each event and a fake dagger, passes the intended dagger call arguments, and computeTags gives the intended tags.
import { afterAll, describe, expect, it } from "vitest";

import { readCi } from "./lib/checks.js";
import { DOCKERHUB_ROWS, GITHUB_ROWS, GITLAB_ROWS, playGithub, playGitlab } from "./lib/recipes.js";
import { removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

/** One event's play: no findings, then nothing built, or the push and tags the row wants. */
function expectPlay(
  play: { findings: string[]; outcomes: { built: string; pushed: string; tags: string }[] },
  want: { push: boolean; tags: string[] } | undefined,
): void {
  expect(play.findings).toEqual([]);
  const outcome = play.outcomes[0];
  if (!want) {
    expect(outcome?.built).toBe("nothing");
    return;
  }
  expect(outcome?.pushed.startsWith("yes")).toBe(want.push);
  expect(outcome?.tags).toBe(want.tags.join(", "));
}

describe("examples/github-actions.yml per event", () => {
  const text = readCi("examples/github-actions.yml");
  it.each(GITHUB_ROWS.map((row) => ({ label: row.event.label, row })))("$label", ({ row }) => {
    expectPlay(playGithub(text, [row]), row.want);
  });
});

describe("examples/github-actions-dockerhub.yml per event", () => {
  const text = readCi("examples/github-actions-dockerhub.yml");
  it.each(DOCKERHUB_ROWS.map((row) => ({ label: row.event.label, row })))("$label", ({ row }) => {
    expectPlay(playGithub(text, [row]), row.want);
  });
});

describe("examples/gitlab-ci.yml per pipeline", () => {
  const text = readCi("examples/gitlab-ci.yml");
  it.each(GITLAB_ROWS.map((row) => ({ label: row.event.label, row })))("$label", ({ row }) => {
    expectPlay(playGitlab(text, [row]), row.want);
  });
});
