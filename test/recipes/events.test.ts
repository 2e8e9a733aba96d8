// Unit (recipes): each recipe's shell, run with the CI variables of each event and a fake dagger, passes the intended dagger call arguments, and computeTags gives the intended tags.
import { afterAll, describe, expect, it } from "vitest";

import { readCi } from "./lib/checks.js";
import { GITHUB_ROWS, GITLAB_ROWS, playGithub, playGitlab } from "./lib/recipes.js";
import { removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

describe("examples/github-actions.yml per event", () => {
  const text = readCi("examples/github-actions.yml");
  it.each(GITHUB_ROWS.map((row) => ({ label: row.event.label, row })))("$label", ({ row }) => {
    const play = playGithub(text, [row]);
    expect(play.findings).toEqual([]);
    const outcome = play.outcomes[0];
    if (!row.want) {
      expect(outcome?.built).toBe("nothing");
      return;
    }
    expect(outcome?.pushed.startsWith("yes")).toBe(row.want.push);
    expect(outcome?.tags).toBe(row.want.tags.join(", "));
  });
});

describe("examples/gitlab-ci.yml per pipeline", () => {
  const text = readCi("examples/gitlab-ci.yml");
  it.each(GITLAB_ROWS.map((row) => ({ label: row.event.label, row })))("$label", ({ row }) => {
    const play = playGitlab(text, [row]);
    expect(play.findings).toEqual([]);
    const outcome = play.outcomes[0];
    if (!row.want) {
      expect(outcome?.built).toBe("nothing");
      return;
    }
    expect(outcome?.pushed.startsWith("yes")).toBe(row.want.push);
    expect(outcome?.tags).toBe(row.want.tags.join(", "));
  });
});
