// Rung 3 (engine double): README's Quick start, CI recipes and Registries sections: the module set once as $DOCKYARD
// and named so by every command; shellcheck-clean blocks that, pasted into a clone on main with fake aws/az and the
// dagger shim running the real module, push every image to its registry with credentials it accepts (a dry run
// pushes nothing); the CI examples set the same module.
import { readFileSync } from "node:fs";

import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";

import { ROOT } from "./lib/checks.js";
import { codeBlocks, MODULE_VARIABLE, moduleAddress, readmeFindings, section } from "./lib/readme.js";
import { removeTempDirs } from "./lib/shell.js";
import { stopShims } from "./lib/shim.js";

afterAll(() => {
  stopShims();
  removeTempDirs();
});

/** Each block is a dagger call through the engine double; on a loaded machine one can take a minute. */
const TIMEOUT = 900_000;

const README = readFileSync(new URL("README.md", ROOT), "utf8");

describe("README", () => {
  it(
    "every block passes, and the blocks cover every seed registry and a multi-registry call",
    { timeout: TIMEOUT },
    async () => {
      const check = await readmeFindings(README);
      expect(check.findings).toEqual([]);
      const hosts = check.hosts.join(" ");
      for (const host of [/docker\.io/, /ghcr\.io/, /registry\.gitlab\.com/, /\.dkr\.ecr\./, /\.azurecr\.io/]) {
        expect(hosts).toMatch(host);
      }
      expect(check.maxAuths).toBeGreaterThanOrEqual(2);
    },
  );

  const rows: { defect: string; find: string; replace: string; expect: RegExp }[] = [
    {
      defect: "the old argument name",
      find: "with-registry-auth --address=ghcr.io --username=acme-bot --password=env:GHCR_TOKEN",
      replace: "with-registry-auth --address=ghcr.io --username=acme-bot --secret=env:GHCR_TOKEN",
      expect: /with-registry-auth --secret: the argument is --password/,
    },
    {
      defect: "a token that is not exported",
      find: "export ECR_TOKEN\n",
      replace: "",
      expect: /exited 1: .*secret env var not found: "ECR\.\.\."/,
    },
    {
      defect: "ECR with another user",
      find: "--username=AWS --password=env:ECR_TOKEN\n```",
      replace: "--username=acme-bot --password=env:ECR_TOKEN\n```",
      expect: /ECR's user is AWS/,
    },
    {
      defect: "an az token with the service principal's id",
      find: "--username=00000000-0000-0000-0000-000000000000",
      replace: '--username="$ACR_CLIENT_ID"',
      expect:
        /exited 1: [\s\S]*acmeregistry\.azurecr\.io\/acme\/app:\w+: registry acmeregistry\.azurecr\.io refused the credentials \(401\)/,
    },
    {
      defect: "GHCR name not lowercased",
      find: '--images="ghcr.io/${GITHUB_REPOSITORY,,}"',
      replace: '--images="ghcr.io/${GITHUB_REPOSITORY}"',
      expect: /ghcr\.io\/Acme\/App: .*lowercase/,
    },
    {
      defect: "unquoted variable",
      find: '--username="$CI_REGISTRY_USER"',
      replace: "--username=$CI_REGISTRY_USER",
      expect: /SC2086/,
    },
    {
      defect: "an image whose host has no credentials",
      find: "  publish --images=docker.io/acme/app,ghcr.io/acme/app,",
      replace: "  publish --images=docker.io/acme/app,quay.io/acme/app,ghcr.io/acme/app,",
      expect: /quay\.io: no --username and --password=env:NAME/,
    },
  ];
  it.each(rows)("catches $defect", { timeout: TIMEOUT }, async (row) => {
    const registries = section(README, "Registries") ?? "";
    expect(registries).toContain(row.find);
    const mutated = README.replace(registries, registries.replace(row.find, row.replace));
    expect((await readmeFindings(mutated)).findings.join("\n")).toMatch(row.expect);
  });

  const moduleRows: { defect: string; find: string; replace: string; expect: RegExp }[] = [
    {
      defect: "a command naming the module's address instead of $DOCKYARD",
      find: 'dagger call -m "$DOCKYARD" --source=. publish \\\n  --images=docker.io/acme/app',
      replace: "dagger call -m github.com/acme/dockyard@v0.1.0 --source=. publish \\\n  --images=docker.io/acme/app",
      expect:
        /`dagger call -m github\.com\/acme\/dockyard@v0\.1\.0 --source=\. publish .*` does not name the module as "\$DOCKYARD"/,
    },
    {
      defect: "dagger install without $DOCKYARD",
      find: 'dagger install "$DOCKYARD"',
      replace: "dagger install github.com/acme/dockyard",
      expect: /`dagger install github\.com\/acme\/dockyard` does not name the module/,
    },
    {
      defect: "no line setting the module",
      find: "DOCKYARD=github.com/acme/dockyard@v0.1.0",
      replace: "",
      expect: /0 DOCKYARD=… lines/,
    },
    {
      defect: "a quick start command that pushes without credentials",
      find: "  --username=acme-bot --password=env:REGISTRY_TOKEN json",
      replace: "  json",
      expect: /Quick start: ghcr\.io: no --username and --password=env:NAME/,
    },
  ];
  it.each(moduleRows)("catches $defect", { timeout: TIMEOUT }, async (row) => {
    expect(README).toContain(row.find);
    // Only the quick start goes through the shim: the other defects are in the text itself.
    const check = await readmeFindings(README.replace(row.find, row.replace), { run: (s) => s === "Quick start" });
    expect(check.findings.join("\n")).toMatch(row.expect);
  });

  it.each([
    "examples/github-actions.yml",
    "examples/github-actions-dockerhub.yml",
    "examples/gitlab-ci.yml",
    "examples/github-actions-multiarch.yml",
    "examples/gitlab-ci-multiarch.yml",
  ])("%s sets the quick start's module in its one DOCKYARD line", (file) => {
    const doc = parse(readFileSync(new URL(file, ROOT), "utf8")) as Record<string, Record<string, string> | undefined>;
    const value = (doc.env ?? doc.variables)?.[MODULE_VARIABLE];
    expect(value).toBe(moduleAddress(README).address);
  });
});

// The signing snippets, as text: the events tests (events.test.ts) play the recipes, these keep README saying the same.
describe("README's signing snippets say what the recipes do", () => {
  const flat = (t: string) => t.replace(/\s+/g, " ").trim();
  const blocks = codeBlocks(section(README, "Sign what you push") ?? "").filter((b) => b.lang === "yaml");
  const github = blocks.find((b) => b.text.includes("id-token: write"))?.text ?? "";
  const gitlab = blocks.find((b) => b.text.includes("id_tokens:"))?.text ?? "";
  const recipe = (file: string) => readFileSync(new URL(file, ROOT), "utf8");
  /** The default branch by name from the event, never a hard-coded main; and tags. */
  const CONDITION =
    "github.ref == format('refs/heads/{0}', github.event.repository.default_branch) || startsWith(github.ref, 'refs/tags/')";
  /** The token minted for audience sigstore, masked, then passed by name. */
  const MINT = [
    'curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \\ "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore" | jq -r .value',
    'echo "::add-mask::$SIGSTORE_ID_TOKEN"',
    "export SIGSTORE_ID_TOKEN",
    "--oidc-token=env:SIGSTORE_ID_TOKEN",
  ];

  it.each([
    "examples/github-actions.yml",
    "examples/github-actions-dockerhub.yml",
    "examples/github-actions-multiarch.yml",
  ])("%s: README's GitHub condition, id-token permission and token minting", (file) => {
    const text = flat(recipe(file));
    for (const part of [CONDITION, "id-token: write", ...MINT]) {
      expect(flat(github)).toContain(part);
      expect(text).toContain(part);
    }
    expect(github).not.toContain("refs/heads/main");
  });

  it.each(["examples/gitlab-ci.yml", "examples/gitlab-ci-multiarch.yml"])(
    "%s: README's GitLab id_tokens and signing flags",
    (file) => {
      const doc = parse(recipe(file)) as Record<string, { id_tokens?: unknown } | undefined>;
      const readmeJob = Object.values(parse(gitlab) as Record<string, { id_tokens?: unknown; rules?: unknown }>)[0];
      const tokens = Object.values(doc).flatMap((job) => (job?.id_tokens ? [job.id_tokens] : []));
      expect(tokens).toEqual([readmeJob?.id_tokens]);
      expect(readmeJob?.id_tokens).toEqual({ SIGSTORE_ID_TOKEN: { aud: "sigstore" } });
      expect(flat(recipe(file))).toContain("--oidc-token=env:SIGSTORE_ID_TOKEN");
      expect(flat(recipe(file))).toContain('"$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH"');
      expect(readmeJob?.rules).toEqual([{ if: "$CI_COMMIT_TAG" }, { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" }]);
    },
  );
});
