// Rung 3 (engine double): each check is shown to catch its defect: one row per seeded defect, mutating the real file's text; the *-events checks run the recipe with the dagger shim, so the real module refuses, fails or reports what the defect causes.
import { afterAll, describe, expect, it } from "vitest";

import { readCi, runCheck, type CheckName } from "./lib/checks.js";
import { removeTempDirs } from "./lib/shell.js";
import { stopShims } from "./lib/shim.js";

afterAll(() => {
  stopShims();
  removeTempDirs();
});

/** A dagger call runs two module processes (constructor, publish); on a loaded machine one can take a minute. */
const TIMEOUT = 900_000;

const GH = "examples/github-actions.yml";
const RE = ".github/workflows/real-engine.yml";
const GL = "examples/gitlab-ci.yml";
const HUB = "examples/github-actions-dockerhub.yml";
const GHM = "examples/github-actions-multiarch.yml";
const GLM = "examples/gitlab-ci-multiarch.yml";

interface Row {
  defect: string;
  file: string;
  /** Text to find (it must occur) and what replaces it; `all` replaces every occurrence. */
  find: string;
  replace: string;
  all?: boolean;
  /** Each check must report a finding matching its pattern. */
  expect: Partial<Record<CheckName, RegExp>>;
  /** The events the *-events checks play (each runs the module): the ones the defect shows in. */
  events?: string[];
}

const PUSH_MAIN = "push to main";
const TAG = "push of tag v1.2.3";
const SAME_REPO_PR = "pull_request from the same repository";
const FORK_PR = "pull_request from a fork";
const GL_MAIN = "branch pipeline (push to main)";
const GL_TAG = "tag pipeline (v1.2.3)";
const GL_MR = "merge request pipeline (!7)";
const GL_FORK_MR = "merge request pipeline from a fork (!8)";
const GL_PUSH_WITH_MR = "push to a branch with an open merge request";

const rows: Row[] = [
  // GitHub recipe: syntax and schema
  {
    defect: "duplicate key",
    file: GH,
    find: "    runs-on: ubuntu-latest\n",
    replace: "    runs-on: ubuntu-latest\n    runs-on: ubuntu-22.04\n",
    expect: { yaml: /DUPLICATE_KEY/ },
  },
  {
    defect: "runs_on typo",
    file: GH,
    find: "runs-on:",
    replace: "runs_on:",
    expect: {
      "github-schema": /additional properties "runs_on"/,
      "workflow-parser": /Unexpected value 'runs_on'/,
      actionlint: /unexpected key "runs_on"/,
    },
  },
  {
    defect: "expression syntax error",
    file: GH,
    find: "${{ github.workflow }}",
    replace: "${{ github.workflow( }}",
    expect: { "workflow-parser": /Unexpected symbol: '\('/, actionlint: /unexpected|parse/i },
  },
  {
    defect: "permission value typo",
    file: GH,
    find: "packages: write",
    replace: "packages: writ",
    expect: { "github-schema": /allowed values/, "workflow-parser": /'writ'/, actionlint: /"writ" is invalid/ },
  },
  {
    defect: "job output from a step that does not exist",
    file: GH,
    find: "digest: ${{ steps.publish.outputs.digest }}",
    replace: "digest: ${{ steps.publsh.outputs.digest }}",
    expect: { actionlint: /"publsh" is not defined/, "github-events": /no digest output/ },
    events: [PUSH_MAIN],
  },
  // GitHub recipe: shell
  {
    defect: "unquoted variable",
    file: GH,
    find: '--commit="$GITHUB_SHA"',
    replace: "--commit=$GITHUB_SHA",
    expect: { shellcheck: /SC2086/ },
  },
  {
    defect: "${{ github.head_ref }} pasted into a run: script",
    file: GH,
    find: "        run: |\n          dagger",
    replace: '        run: |\n          echo "head: ${{ github.head_ref }}"\n          dagger',
    expect: {
      policy: /\$\{\{ \}\} in run: text/,
      actionlint: /"github\.head_ref" is potentially untrusted/,
      "github-events": /pull_request from a fork: build: the head ref ran as shell code/,
    },
    events: [FORK_PR],
  },
  // GitHub recipe: policy
  {
    defect: "checkout keeps the token",
    file: GH,
    find: "        with:\n          persist-credentials: false\n",
    replace: "",
    expect: { policy: /persist-credentials: false/ },
  },
  {
    defect: "no top-level permissions",
    file: GH,
    find: "permissions: {}\n",
    replace: "",
    expect: { policy: /no top-level permissions/ },
  },
  {
    defect: "packages: write on the pull request job",
    file: GH,
    find: "    permissions:\n      contents: read\n    steps:",
    replace: "    permissions:\n      contents: read\n      packages: write\n    steps:",
    expect: { policy: /job build grants write \(packages\) and runs on pull requests/ },
  },
  {
    defect: "no concurrency",
    file: GH,
    find: "concurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n  cancel-in-progress: ${{ github.event_name == 'pull_request' }}\n",
    replace: "",
    expect: { policy: /no concurrency/ },
  },
  {
    defect: "pull_request_target trigger",
    file: GH,
    find: "  pull_request:\n",
    replace: "  pull_request:\n  pull_request_target:\n",
    expect: { policy: /trigger pull_request_target/ },
  },
  {
    defect: "dagger-for-github runs a call: with an expression",
    file: GH,
    find: '          version: "0.21.9"\n',
    replace:
      '          version: "0.21.9"\n          call: publish --images=ghcr.io/acme/app --ref=${{ github.head_ref }}\n',
    expect: {
      policy: /dagger-for-github call: is pasted into its bash script/,
      "github-events": /pull_request from a fork: build: the head ref ran as shell code/,
    },
    events: [FORK_PR],
  },
  // GitHub recipe: what each event builds, pushes and tags
  {
    defect: "image name not lowercased",
    file: GH,
    find: "${GITHUB_REPOSITORY,,}",
    replace: "${GITHUB_REPOSITORY}",
    all: true,
    expect: { "github-events": /push to main: publish\/Publish exited 1: .*ghcr\.io\/Acme\/Hello-App.*lowercase/ },
    events: [PUSH_MAIN],
  },
  {
    defect: "pull requests push",
    file: GH,
    find: " --push=false",
    replace: "",
    expect: {
      "github-events":
        /pull_request from a fork: pushes ghcr\.io\/acme\/hello-app:.* on an event that must not publish/,
    },
    events: [FORK_PR],
  },
  {
    defect: "bare ref name",
    file: GH,
    find: '--ref="$GITHUB_REF"',
    replace: '--ref="$GITHUB_REF_NAME"',
    all: true,
    expect: {
      "github-events": /push of tag v1\.2\.3: publish\/Publish exited 1: .*v1\.2\.3.*is a version/,
    },
    events: [TAG],
  },
  {
    defect: "publish job also runs on pull requests",
    file: GH,
    find: "    if: github.event_name == 'push'\n",
    replace: "",
    expect: {
      "github-events": /pull_request from a fork: jobs \[build, publish\]/,
      policy: /job publish grants write \(packages, id-token\) and runs on pull requests/,
    },
    events: [FORK_PR],
  },
  {
    defect: "head sha labelled on the merge-commit checkout",
    file: GH,
    find: '      - name: Build every platform, push nothing\n        run: |\n          dagger --progress plain call -m "$DOCKYARD" --source=. publish \\\n            --images="ghcr.io/${GITHUB_REPOSITORY,,}" \\\n            --commit="$GITHUB_SHA"',
    replace:
      '      - name: Build every platform, push nothing\n        env:\n          HEAD_SHA: ${{ github.event.pull_request.head.sha }}\n        run: |\n          dagger --progress plain call -m "$DOCKYARD" --source=. publish \\\n            --images="ghcr.io/${GITHUB_REPOSITORY,,}" \\\n            --commit="$HEAD_SHA"',
    expect: {
      "github-events":
        /pull_request from the same repository: build\/.* exited 1: .*is not in the history of the source's HEAD/,
    },
    events: [SAME_REPO_PR],
  },
  {
    defect: "outputs not written",
    file: GH,
    find: 'github-output >> "$GITHUB_OUTPUT"',
    replace: 'json > "$RUNNER_TEMP/publication.json"',
    expect: { "github-events": /push to main: publish: no digest output/ },
    events: [PUSH_MAIN],
  },
  {
    defect: "a flag the module does not have",
    file: GH,
    find: '            --platforms="$PLATFORMS" \\\n            --source-url',
    replace: '            --platform="$PLATFORMS" \\\n            --source-url',
    expect: { "github-events": /push to main: publish\/Publish exited 1: Error: unknown flag: --platform$/m },
    events: [PUSH_MAIN],
  },
  {
    defect: "the job's ref output read from the image name",
    file: GH,
    find: "ref: ${{ steps.publish.outputs.ref }}",
    replace: "ref: ${{ steps.publish.outputs.image }}",
    expect: {
      "github-events":
        /push to main: publish: ref output "ghcr\.io\/acme\/hello-app", want "ghcr\.io\/acme\/hello-app:\w+@sha256:/,
    },
    events: [PUSH_MAIN],
  },
  // real-engine.yml
  {
    defect: "sudo drops setup-node's PATH",
    file: RE,
    find: 'sudo env "PATH=$PATH" bash .ci/run',
    replace: "sudo bash .ci/run",
    expect: { "real-engine": /push to main: \.ci\/run ran with "v18\.99\.0-runner-image"/ },
  },
  {
    defect: "no permissions",
    file: RE,
    find: "permissions:\n  contents: read\n",
    replace: "",
    expect: { policy: /no top-level permissions/ },
  },
  {
    defect: "checkout keeps the token",
    file: RE,
    find: "        with:\n          persist-credentials: false\n",
    replace: "",
    expect: { policy: /persist-credentials: false/ },
  },
  {
    defect: "no concurrency",
    file: RE,
    find: "concurrency:\n",
    replace: "x-concurrency:\n",
    expect: { policy: /no concurrency/, "github-schema": /additional properties "x-concurrency"/ },
  },
  {
    defect: "unquoted variable",
    file: RE,
    find: '"$(node --version)"',
    replace: "$(node --version)",
    expect: { shellcheck: /SC2046/ },
  },
  // GitLab recipe
  {
    defect: "no workflow:rules",
    file: GL,
    find: "workflow:\n  rules:\n",
    replace: "x-workflow:\n  rules:\n",
    expect: {
      "gitlab-rules":
        /push to a branch with an open merge request: publish-image runs in 2 pipelines \[push, merge_request_event\]/,
      "gitlab-events": /push to a branch with an open merge request: 2 pipelines/,
      "gitlab-policy": /no workflow:rules/,
    },
    events: [GL_PUSH_WITH_MR],
  },
  {
    defect: "unknown job key",
    file: GL,
    find: "\n  script:\n    # A full ref",
    replace: "\n  scripts:\n    # A full ref",
    expect: { "gitlab-schema": /additional properties "scripts"/ },
  },
  {
    defect: "rules when value typo",
    file: GL,
    find: "      when: never",
    replace: "      when: sometimes",
    expect: { "gitlab-schema": /allowed values/ },
  },
  {
    defect: "unquoted variable",
    file: GL,
    find: '--images="$CI_REGISTRY_IMAGE"',
    replace: "--images=$CI_REGISTRY_IMAGE",
    expect: { shellcheck: /SC2086/ },
  },
  {
    defect: "bash test in a POSIX sh job",
    file: GL,
    find: 'if [ -n "$CI_COMMIT_TAG" ]; then',
    replace: 'if [[ -n "$CI_COMMIT_TAG" ]]; then',
    expect: { shellcheck: /SC3010/ },
  },
  {
    defect: "bare $CI_COMMIT_REF_NAME as the ref",
    file: GL,
    find: 'REF="refs/tags/$CI_COMMIT_TAG"',
    replace: 'REF="$CI_COMMIT_REF_NAME"',
    expect: {
      "gitlab-events": /tag pipeline \(v1\.2\.3\): publish-image exited 1: .*v1\.2\.3.*is a version/,
    },
    events: [GL_TAG],
  },
  {
    defect: "merge requests push",
    file: GL,
    find: '[ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]',
    replace: '[ -n "$CI_COMMIT_SHA" ]',
    expect: {
      "gitlab-events":
        /merge request pipeline \(!7\): pushes registry\.gitlab\.com\/acme\/hello-app:.* on an event that must not publish/,
    },
    events: [GL_MR],
  },
  {
    defect: "merge requests build one platform",
    file: GL,
    find: "--platforms=linux/amd64,linux/arm64 \\\n",
    replace: "",
    expect: {
      "gitlab-events": /merge request pipeline \(!7\): built for the engine's platform, want linux\/amd64,linux\/arm64/,
    },
    events: [GL_MR],
  },
  {
    defect: "a branch name evaluated as shell",
    file: GL,
    find: 'REF="refs/merge-requests/$CI_MERGE_REQUEST_IID/head"',
    replace: 'REF="refs/merge-requests/$CI_MERGE_REQUEST_IID/head"; eval "echo $CI_COMMIT_REF_NAME"',
    expect: {
      "gitlab-events": /merge request pipeline from a fork \(!8\): publish-image: a branch name ran as shell code/,
    },
    events: [GL_FORK_MR],
  },
  {
    defect: "no dotenv report",
    file: GL,
    find: "--output=publish.env",
    replace: "--output=publish.json",
    expect: { "gitlab-events": /branch pipeline \(push to main\): no job left a dotenv report/ },
    events: [GL_MAIN],
  },
  {
    defect: "the report written by the shell inside the checkout, before --source=. is uploaded",
    file: GL,
    find: '"$@" \\\n        dotenv\n',
    replace: '"$@" \\\n        dotenv > publish.env\n',
    // Now refused by the module's own dirty guard: the shell made publish.env before --source=. was read.
    expect: {
      "gitlab-events":
        /branch pipeline \(push to main\): publish-image exited 1: .*source has uncommitted changes \("publish\.env"\)/,
    },
    events: [GL_MAIN],
  },
  {
    defect: "a flag the module does not have",
    file: GL,
    find: '--source-url="$CI_PROJECT_URL"',
    replace: '--repository-url="$CI_PROJECT_URL"',
    expect: {
      "gitlab-events": /branch pipeline \(push to main\): publish-image exited 1: .*unknown flag: --repository-url/,
    },
    events: [GL_MAIN],
  },
  {
    defect: "the deploy job reads the digest from the wrong variable",
    file: GL,
    find: '@$IMAGE_DIGEST"',
    replace: '@$IMAGE_REF"',
    expect: { "gitlab-events": /branch pipeline \(push to main\): the deploy job did not get the digest/ },
    events: [GL_MAIN],
  },
  {
    defect: "Docker Hub user name kept as a secret, as the seed tutorials do",
    file: HUB,
    find: "${{ vars.DOCKERHUB_USERNAME }}",
    replace: "${{ secrets.DOCKERHUB_USERNAME }}",
    all: true,
    expect: { "dockerhub-events": /push to main: publish: no ref output/ },
    events: [PUSH_MAIN],
  },
  {
    defect: "a context that does not exist",
    file: HUB,
    find: "${{ vars.DOCKERHUB_USERNAME }}",
    replace: "${{ varz.DOCKERHUB_USERNAME }}",
    expect: { "workflow-parser": /Unrecognized named-value: 'varz'/ },
  },
  {
    defect: "needs a job that is not there",
    file: GL,
    find: "    - job: publish-image\n",
    replace: "    - job: publish-images\n",
    expect: { "gitlab-rules": /deploy needs publish-images, which is not in the pipeline/ },
  },
  // Multi-arch recipes: what the simulators model of matrices, artifacts and parallel:matrix, and the module's legs
  {
    defect: "one artifact name for every leg",
    file: GHM,
    find: "name: digest-${{ matrix.slug }}",
    replace: "name: digest",
    expect: { "github-multiarch-events": /linux\/arm64.*exited 1: .*an artifact with this name already exists/ },
    events: [PUSH_MAIN],
  },
  {
    defect: "the legs' digests downloaded without merge-multiple",
    file: GHM,
    find: "          merge-multiple: true\n",
    replace: "",
    expect: {
      "github-multiarch-events":
        /merge\/Merge the platforms under every final tag exited 1: no digest from the linux\/amd64 leg/,
    },
    events: [PUSH_MAIN],
  },
  {
    defect: "a merge job that does not wait for the legs",
    file: GHM,
    find: "    needs: stage\n",
    replace: "",
    expect: { "github-multiarch-events": /no digest from the linux\/amd64 leg/ },
    events: [PUSH_MAIN],
  },
  {
    defect: "the arm64 legs on an amd64 runner",
    file: GHM,
    find: "runner: ubuntu-24.04-arm",
    replace: "runner: ubuntu-24.04",
    all: true,
    expect: {
      "github-multiarch-events":
        /stage \(linux\/arm64, ubuntu-24\.04, linux-arm64\) runs on ubuntu-24\.04, want ubuntu-24\.04-arm/,
    },
    events: [PUSH_MAIN],
  },
  {
    defect: "a leg that pushes the final tags",
    file: GHM,
    find: '--platforms="$PLATFORM" --staging',
    replace: '--platforms="$PLATFORM"',
    expect: {
      "github-multiarch-events": /linux\/amd64 leg pushed \[.*:\w{7}, .*:main\], want .*:\w{7}-linux-amd64 only/,
    },
    events: [PUSH_MAIN],
  },
  {
    defect: "one dotenv variable name for every leg",
    file: GLM,
    find: `DIGEST_$(echo "$PLATFORM" | tr '/a-z-' '_A-Z_')=`,
    replace: "DIGEST=",
    expect: {
      "gitlab-multiarch-events":
        /merge-image exited 1: simulator: dotenv DIGEST comes from both publish-platform: \[linux\/amd64/,
    },
    events: [GL_MAIN],
  },
  {
    defect: "the arm64 leg on an amd64 runner tag",
    file: GLM,
    find: "RUNNER_TAG: saas-linux-small-arm64",
    replace: "RUNNER_TAG: saas-linux-small-amd64",
    expect: {
      "gitlab-multiarch-events":
        /\[linux\/arm64, saas-linux-small-amd64\] asks for runner tags \[saas-linux-small-amd64\], want saas-linux-small-arm64/,
    },
    events: [GL_MR],
  },
  {
    defect: "Docker-in-Docker without TLS",
    file: GL,
    find: 'DOCKER_TLS_CERTDIR: "/certs"',
    replace: 'DOCKER_TLS_CERTDIR: ""',
    expect: { "gitlab-policy": /DOCKER_TLS_CERTDIR is "", want "\/certs"/ },
  },
];

// Findings on the unmutated files, once per file and check (validate.test.ts asserts they are empty).
const originals = new Map<string, Promise<string[]>>();

function onOriginal(file: string, check: CheckName, events: string[] | undefined): Promise<string[]> {
  const key = `${file} ${check} ${events?.join(",") ?? "*"}`;
  let found = originals.get(key);
  if (!found) {
    found = runCheck(check, readCi(file), events);
    originals.set(key, found);
  }
  return found;
}

describe("each check catches its seeded defect", () => {
  it.each(rows)("$file: $defect", { timeout: TIMEOUT }, async (row) => {
    const original = readCi(row.file);
    expect(original).toContain(row.find);
    const mutated = row.all ? original.replaceAll(row.find, row.replace) : original.replace(row.find, row.replace);
    for (const [name, pattern] of Object.entries(row.expect)) {
      const check = name as CheckName;
      expect((await onOriginal(row.file, check, row.events)).join("\n"), `${check} on the original`).not.toMatch(
        pattern,
      );
      expect((await runCheck(check, mutated, row.events)).join("\n"), `${check} on the defect`).toMatch(pattern);
    }
  });
});
