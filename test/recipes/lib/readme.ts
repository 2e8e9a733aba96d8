// README's `## CI recipes` and `## Registries`: every block is shellcheck-clean, and each `dagger call` in it, run
// with fake `dagger`, `aws` and `az`, gives every image's host credentials dockyard accepts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { parseImageName, parseRegistryAddress } from "../../../src/input/image.js";
import { parseCall, type DaggerCall } from "./recipes.js";
import { daggerCalls, fakeBin, fakeDagger, runScript, shellcheck, tempDir } from "./shell.js";
import { yamlFindings } from "./yaml.js";

export function section(readme: string, heading: string): string | undefined {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) return undefined;
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start + 1, end < 0 ? undefined : end + 1);
}

export interface Block {
  lang: string;
  text: string;
}

export function codeBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? "", text: m[2] ?? "" }));
}

const AWS_TOKEN = "ecr-token-from-aws";
const AZ_TOKEN = "acr-token-from-az";
const ZERO_USER = "00000000-0000-0000-0000-000000000000";

/** What the reader's environment holds when they paste a block (CI variables and their stored tokens). */
const READER_ENV: Record<string, string> = {
  GITHUB_REPOSITORY: "Acme/App",
  GITHUB_ACTOR: "octo-cat",
  CI_REGISTRY_IMAGE: "registry.gitlab.com/acme/app",
  CI_REGISTRY_USER: "gitlab-ci-token",
  CI_REGISTRY_PASSWORD: "job-token",
  DOCKERHUB_TOKEN: "dckr_pat_fake",
  GHCR_TOKEN: "ghs_fake",
  ACR_CLIENT_ID: "11111111-2222-3333-4444-555555555555",
  ACR_CLIENT_SECRET: "client-secret",
};

interface Credential {
  username: string | undefined;
  password: string | undefined;
}

/** Who pushes where in one call: publish's own credentials for every host, with-registry-auth per host. */
function credentialFindings(block: number, call: DaggerCall): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`Registries block ${block}: ${s}`);
  const perHost = new Map<string, Credential>();
  let common: Credential = { username: undefined, password: undefined };
  const images: string[] = [];
  for (const seg of call.segments) {
    const one = (k: string) => seg.flags.get(k)?.[0];
    if (seg.flags.has("--secret")) say(`${seg.fn} --secret: the argument is --password`);
    if (seg.fn === "with-registry-auth") {
      const address = one("--address") ?? "";
      try {
        perHost.set(parseRegistryAddress(address), { username: one("--username"), password: one("--password") });
      } catch (e) {
        say(`with-registry-auth --address ${address}: ${(e as Error).message}`);
      }
    }
    if (seg.fn === "publish") {
      common = { username: one("--username"), password: one("--password") };
      images.push(...(one("--images") ?? "").split(",").filter((s) => s !== ""));
    }
  }
  if (images.length === 0) say("no --images");
  for (const image of images) {
    let host: string;
    try {
      host = parseImageName(image).host;
    } catch (e) {
      say(`--images ${image}: ${(e as Error).message}`);
      continue;
    }
    const cred = perHost.get(host) ?? common;
    const name = /^env:(.+)$/.exec(cred.password ?? "")?.[1];
    if (!cred.username || !name) {
      say(`${host}: no --username and --password=env:NAME`);
      continue;
    }
    const value = call.env[name];
    if (!value) say(`${host}: --password=env:${name}, but ${name} is not set where dagger runs (export it)`);
    if (host.includes(".dkr.ecr.") && cred.username !== "AWS") say(`${host}: ECR's user is AWS, not ${cred.username}`);
    if (value === AZ_TOKEN && cred.username !== ZERO_USER) say(`${host}: an az access token goes with ${ZERO_USER}`);
  }
  return out;
}

export interface ReadmeCheck {
  findings: string[];
  /** Registry hosts the blocks publish to (to see every seed registry is covered). */
  hosts: string[];
  /** Most `with-registry-auth` in one call. */
  maxAuths: number;
}

export function readmeFindings(readme: string): ReadmeCheck {
  const findings: string[] = [];
  const hosts = new Set<string>();
  let maxAuths = 0;
  const recipes = section(readme, "CI recipes");
  const registries = section(readme, "Registries");
  if (!recipes) findings.push("README: no ## CI recipes section");
  for (const file of ["examples/github-actions.yml", "examples/gitlab-ci.yml"]) {
    if (recipes && !recipes.includes(`](${file})`)) findings.push(`README ## CI recipes: no link to ${file}`);
  }
  if (!registries) return { findings: [...findings, "README: no ## Registries section"], hosts: [], maxAuths };
  const blocks = codeBlocks(registries);
  const shell = blocks.filter((b) => b.lang === "sh");
  findings.push(
    ...shellcheck(shell.map((b, i) => ({ name: `Registries block ${i + 1}`, shell: "bash", text: b.text }))),
  );
  for (const b of blocks.filter((b) => b.lang === "yaml")) findings.push(...yamlFindings(b.text));
  shell.forEach((block, i) => {
    const root = tempDir("readme");
    const log = join(root, "log");
    mkdirSync(log);
    const bin = fakeBin({
      ...fakeDagger(),
      aws: `#!/bin/sh\necho ${AWS_TOKEN}\n`,
      az: `#!/bin/sh\necho ${AZ_TOKEN}\n`,
    });
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: root, FAKE_DAGGER_LOG: log, ...READER_ENV };
    const run = runScript(["bash", "-eo", "pipefail"], block.text, env, root);
    if (run.status !== 0) findings.push(`Registries block ${i + 1} exited ${run.status}: ${run.stderr.trim()}`);
    for (const c of daggerCalls(log)) {
      const call = parseCall(c.argv, c.env);
      findings.push(...credentialFindings(i + 1, call));
      maxAuths = Math.max(maxAuths, call.functions.filter((f) => f === "with-registry-auth").length);
      for (const image of (call.flags.get("--images")?.[0] ?? "").split(",")) {
        try {
          hosts.add(parseImageName(image).host);
        } catch {
          // reported by credentialFindings
        }
      }
    }
  });
  return { findings, hosts: [...hosts].sort(), maxAuths };
}
