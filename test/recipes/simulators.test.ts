// Unit (recipes): the recipe runners themselves: GitLab rules expressions and duplicate detection on GitLab's own documented examples, GitHub's command-file syntax and trigger filters, GitHub matrices, needs and artifacts, GitLab parallel:matrix and dotenv reports of its jobs.
import { afterAll, describe, expect, it } from "vitest";

import {
  loadWorkflow,
  OIDC_REQUEST_URL,
  parseCommandFile,
  runWorkflow,
  triggered,
  type GithubEvent,
} from "./lib/github.js";
import {
  evaluateIf,
  loadPipeline,
  parseDotenv,
  pipelinesFor,
  rulesFindings,
  runPipeline,
  type GitlabEvent,
} from "./lib/gitlab.js";
import { fakeBin, removeTempDirs } from "./lib/shell.js";

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

describe("GitHub matrices, needs and artifacts", () => {
  const push: GithubEvent = {
    label: "push",
    eventName: "push",
    ref: "refs/heads/main",
    sha: "0".repeat(40),
    actor: "a",
    repository: "o/r",
    secrets: {},
  };
  const workflow = (mergeNeeds: string, download: string) => `on: push
jobs:
  leg:
    strategy:
      matrix:
        include:
          - arch: amd64
            runner: ubuntu-24.04
          - arch: arm64
            runner: ubuntu-24.04-arm
    runs-on: \${{ matrix.runner }}
    outputs:
      arch: \${{ steps.w.outputs.arch }}
    steps:
      - id: w
        env:
          ARCH: \${{ matrix.arch }}
        run: |
          echo "$ARCH" > "$RUNNER_TEMP/$ARCH"
          echo "arch=$ARCH" >> "$GITHUB_OUTPUT"
      - uses: actions/upload-artifact@v4
        with:
          name: d-\${{ matrix.arch }}
          path: \${{ runner.temp }}/\${{ matrix.arch }}
  merge:
${mergeNeeds}    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
${download}
      - env:
          LAST: \${{ needs.leg.outputs.arch }}
        run: echo "$LAST $(ls -R got | tr '\\n' ' ')"
`;
  const play = (text: string) => runWorkflow(text, push, { bin: fakeBin({}), fakeEnv: {} });
  const merged = "          pattern: d-*\n          path: got\n          merge-multiple: true";

  it("runs a leg per include entry, named and placed as GitHub does; a matrix job's outputs are its last leg's", () => {
    const runs = play(workflow("    needs: leg\n", merged));
    expect(runs.map((r) => [r.name, r.runsOn])).toEqual([
      ["leg (amd64, ubuntu-24.04)", "ubuntu-24.04"],
      ["leg (arm64, ubuntu-24.04-arm)", "ubuntu-24.04-arm"],
      ["merge", "ubuntu-latest"],
    ]);
    expect(runs[2]?.steps.at(-1)?.stdout.trim()).toBe("arm64 got: amd64 arm64");
  });
  it("without merge-multiple, each artifact lands in a folder of its name", () => {
    const runs = play(workflow("    needs: leg\n", "          pattern: d-*\n          path: got"));
    expect(runs[2]?.steps.at(-1)?.stdout).toMatch(/got: d-amd64 d-arm64\s+got\/d-amd64: amd64\s+got\/d-arm64: arm64/);
  });
  it("a job that does not need the legs sees none of their artifacts", () => {
    const text = workflow("", merged).replace("LAST: ${{ needs.leg.outputs.arch }}", "LAST: none");
    const runs = play(text);
    expect(runs[2]?.steps.at(-1)?.stdout.trim()).toBe("none");
  });
  it("a second upload of one artifact name fails the leg, and the job that needs it is skipped", () => {
    const runs = play(workflow("    needs: leg\n", merged).replace("name: d-${{ matrix.arch }}", "name: d"));
    expect(runs.map((r) => r.name)).toEqual(["leg (amd64, ubuntu-24.04)", "leg (arm64, ubuntu-24.04-arm)"]);
    expect(runs[1]?.steps.at(-1)?.stderr).toMatch(/already exists/);
  });
  it.each([
    ["a matrix axis", "      matrix:\n        arch: [amd64]\n", /only a list under include/],
    ["a reusable workflow", "    uses: o/r/.github/workflows/x.yml@v1\n", /jobs\.leg\.uses: not modelled/],
  ])("refuses %s", (_what, inserted, error) => {
    const text = `on: push\njobs:\n  leg:\n    runs-on: x\n${inserted.startsWith("      ") ? "    strategy:\n" : ""}${inserted}    steps: []\n`;
    expect(() => loadWorkflow(text)).toThrow(error);
  });
});

describe("GitLab parallel:matrix and dotenv reports", () => {
  const pipeline = (name: (p: string) => string) => `stages: [a, b]
leg:
  stage: a
  parallel:
    matrix:
      - P: [x/one, x/two]
        T: t
  tags: [$T-$P]
  script:
    - echo "${name("$P")}=v-$P" > r.env
  artifacts:
    reports:
      dotenv: r.env
merge:
  stage: b
  needs: [leg]
  script:
    - echo "$CI_NODE_TOTAL|$V_X_ONE|$V_X_TWO"
`;
  const event: GitlabEvent = {
    label: "push",
    candidates: [{ source: "push", vars: { CI_COMMIT_SHA: "0".repeat(40) } }],
  };
  const play = (text: string) => {
    const p = loadPipeline(text);
    const created = pipelinesFor(p, event)[0];
    if (!created) throw new Error("no pipeline");
    return runPipeline(p, created, { bin: fakeBin({}), fakeEnv: {} });
  };

  it('names each job "leg: [values]", gives it its variables and tags, and hands every report to needs: [leg]', () => {
    const results = play(pipeline((v) => `V_$(echo "${v}" | tr '/a-z' '_A-Z')`));
    expect(results.map((r) => [r.job, r.runnerTags.join(",")])).toEqual([
      ["leg: [x/one, t]", "t-x/one"],
      ["leg: [x/two, t]", "t-x/two"],
      ["merge", ""],
    ]);
    expect(results[2]?.stdout.trim()).toBe("|v-x/one|v-x/two");
  });
  it("refuses to pick between two reports that set one variable differently", () => {
    const results = play(pipeline(() => "V"));
    expect(results.at(-1)?.stderr).toMatch(/dotenv V comes from both leg: \[x\/one, t\] and leg: \[x\/two, t\]/);
  });
  it("refuses parallel: N", () => {
    expect(() => loadPipeline("j:\n  parallel: 2\n  script: [x]\n")).toThrow(/only parallel:matrix/);
  });
});

describe("OIDC tokens for signing", () => {
  const event = (extra: Partial<GithubEvent>): GithubEvent => ({
    label: "e",
    eventName: "push",
    ref: "refs/heads/trunk",
    sha: "0".repeat(40),
    actor: "a",
    repository: "o/r",
    secrets: {},
    ...extra,
  });
  const workflow = (permissions: string) => `on: [push, pull_request]
permissions: {}
jobs:
  j:
    runs-on: ubuntu-latest
${permissions}    steps:
      - env:
          DEFAULT_BRANCH: \${{ github.event.repository.default_branch }}
        run: echo "$DEFAULT_BRANCH|\${ACTIONS_ID_TOKEN_REQUEST_URL:-none}"
`;
  const last = (text: string, e: GithubEvent) =>
    runWorkflow(text, e, { bin: fakeBin({}), fakeEnv: {} })[0]
      ?.steps.at(-1)
      ?.stdout.trim();

  it.each([
    ["id-token: write", "    permissions:\n      id-token: write\n", {}, `trunk|${OIDC_REQUEST_URL}`],
    ["no id-token permission", "    permissions:\n      contents: read\n", {}, "trunk|none"],
    ["only the top level's permissions: {}", "", {}, "trunk|none"],
    [
      "id-token: write on a pull request from a fork",
      "    permissions:\n      id-token: write\n",
      {
        eventName: "pull_request",
        ref: "refs/pull/1/merge",
        pullRequest: { number: 1, headSha: "1".repeat(40), fork: true },
      },
      "trunk|none",
    ],
  ] as [string, string, Partial<GithubEvent>, string][])(
    "GitHub, %s: the default branch from the event, the token request URL as granted",
    (_what, permissions, extra, want) => {
      expect(last(workflow(permissions), event({ defaultBranch: "trunk", ...extra }))).toBe(want);
    },
  );

  it("GitLab: each id_tokens variable holds the JWT minted for its audience; a job without one gets none", () => {
    const text = `signs:
  id_tokens:
    SIGSTORE_ID_TOKEN:
      aud: sigstore
  script:
    - echo "signs $SIGSTORE_ID_TOKEN"
plain:
  script:
    - echo "plain \${SIGSTORE_ID_TOKEN:-none}"
`;
    const p = loadPipeline(text);
    const created = pipelinesFor(p, { label: "push", candidates: [{ source: "push", vars: {} }] })[0];
    if (!created) throw new Error("no pipeline");
    const results = runPipeline(p, created, { bin: fakeBin({}), fakeEnv: {}, idToken: (aud) => `jwt-for-${aud}` });
    expect(results.map((r) => r.stdout.trim())).toEqual(["signs jwt-for-sigstore", "plain none"]);
  });
});
