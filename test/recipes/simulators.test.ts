// Unit (recipes): the recipe runners themselves: GitLab rules expressions and duplicate detection on GitLab's own documented examples, GitHub's command-file syntax and trigger filters.
import { afterAll, describe, expect, it } from "vitest";

import { loadWorkflow, parseCommandFile, triggered, type GithubEvent } from "./lib/github.js";
import { evaluateIf, parseDotenv, rulesFindings, type GitlabEvent } from "./lib/gitlab.js";
import { removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

describe("GitLab rules if: expressions", () => {
  const vars = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_DEFAULT_BRANCH: "main", EMPTY: "" };
  const rows: [string, boolean][] = [
    ["$CI_COMMIT_BRANCH", true],
    ["$CI_COMMIT_TAG", false],
    ["$EMPTY", false],
    ['$CI_PIPELINE_SOURCE == "push"', true],
    ['$CI_PIPELINE_SOURCE == "merge_request_event"', false],
    ["$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", true],
    ["$CI_COMMIT_TAG == null", true],
    ["$CI_COMMIT_BRANCH != null", true],
    ["$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS", false],
    ["$CI_COMMIT_TAG || $CI_COMMIT_BRANCH", true],
    ["$CI_COMMIT_BRANCH =~ /^ma/", true],
    ["$CI_COMMIT_BRANCH !~ /^ma/", false],
    ['($CI_COMMIT_TAG || $CI_COMMIT_BRANCH) && $CI_PIPELINE_SOURCE == "push"', true],
  ];
  it.each(rows)("%s is %s", (expr, want) => {
    expect(evaluateIf(expr, vars)).toBe(want);
  });

  it("refuses what it cannot read", () => {
    expect(() => evaluateIf("$A = 1", vars)).toThrow(/cannot read/);
  });
});

// A push to a branch with an open merge request: GitLab considers both pipelines.
const pushWithMr: GitlabEvent = {
  label: "push with open MR",
  candidates: [
    {
      source: "push",
      vars: { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "feature", CI_OPEN_MERGE_REQUESTS: "g/p!1" },
    },
    { source: "merge_request_event", vars: { CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "1" } },
  ],
};

describe("GitLab duplicate pipelines (doc/ci/jobs/job_rules.md, 'Avoid duplicate pipelines')", () => {
  it("flags the documented example that creates double pipelines", () => {
    const doc = `job:
  script: echo "This job creates double pipelines!"
  rules:
    - if: $CUSTOM_VARIABLE == "false"
      when: never
    - when: always
`;
    expect(rulesFindings(doc, [pushWithMr])).toEqual([
      "rules: push with open MR: job runs in 2 pipelines [push, merge_request_event]",
    ]);
  });

  it("accepts the documented switch between branch and merge request pipelines", () => {
    const doc = `workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
      when: never
    - if: $CI_COMMIT_BRANCH
job:
  script: echo "runs once"
  rules:
    - when: always
`;
    expect(rulesFindings(doc, [pushWithMr])).toEqual([]);
  });

  it("a job with neither rules nor only/except stays out of merge request pipelines", () => {
    expect(rulesFindings("job:\n  script: echo hi\n", [pushWithMr])).toEqual([]);
  });
});

describe("GitLab dotenv reports", () => {
  it("reads KEY=VALUE lines, values may be empty", () => {
    expect(parseDotenv("IMAGE_DIGEST=\nIMAGE_PUSHED=false\n")).toEqual({ IMAGE_DIGEST: "", IMAGE_PUSHED: "false" });
  });
  it.each([
    ["an empty line", "A=1\n\nB=2\n"],
    ["a comment", "# c\nA=1\n"],
    ["a bad key", "A-B=1\n"],
    ["21 variables", Array.from({ length: 21 }, (_, i) => `V${i}=x\n`).join("")],
    ["5 KB", `A=${"x".repeat(5 * 1024)}\n`],
  ])("refuses %s, as GitLab's upload does", (_what, text) => {
    expect(() => parseDotenv(text)).toThrow(/dotenv/);
  });
});

describe("GitHub command files ($GITHUB_OUTPUT, $GITHUB_ENV)", () => {
  it("reads name=value and name<<DELIM … DELIM", () => {
    expect(parseCommandFile("a=1\nrefs<<EOF_1\nx\ny\nEOF_1\nb=two=2\n")).toEqual({ a: "1", refs: "x\ny", b: "two=2" });
  });
  it("refuses a delimiter that is never closed", () => {
    expect(() => parseCommandFile("refs<<EOF\nx\n")).toThrow(/never closed/);
  });
});

describe("GitHub trigger filters", () => {
  const wf = loadWorkflow(`on:
  push:
    branches: [main, "release/**", "!release/old"]
    tags: ["v*"]
  pull_request:
jobs: {}
`);
  const event = (eventName: string, ref: string): GithubEvent => ({
    label: ref,
    eventName,
    ref,
    sha: "0".repeat(40),
    actor: "a",
    repository: "o/r",
    secrets: {},
  });
  it.each([
    ["push", "refs/heads/main", true],
    ["push", "refs/heads/feature", false],
    ["push", "refs/heads/release/1/2", true],
    ["push", "refs/heads/release/old", false],
    ["push", "refs/tags/v1.2.3", true],
    ["push", "refs/tags/1.2.3", false],
    ["pull_request", "refs/pull/1/merge", true],
    ["pull_request_target", "refs/heads/main", false],
  ])("%s %s triggers: %s", (eventName, ref, want) => {
    expect(triggered(wf, event(eventName, ref))).toBe(want);
  });
});
