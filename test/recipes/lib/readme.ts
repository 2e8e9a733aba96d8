// README's `## Quick start`, `## CI recipes` and `## Registries`: the module address is set once (`DOCKYARD=…`) and
// every dagger command names it as "$DOCKYARD"; every block is shellcheck-clean, and each block, pasted into a clone
// on main with fake `aws` and `az` and the dagger shim (the real module, registries that know each block's users),
// publishes every image with its host's credentials (a dry run or --push=false needs none and pushes nothing).
import { parseImageName, parseRegistryAddress } from "../../../src/input/image.js";
import type { MemoryRegistryConfig } from "../../engine/memory-backend.js";
import { laptopClone } from "./checkouts.js";
import { parseCall, type DaggerCall } from "./recipes.js";
import { runScript, shellcheck, tempDir } from "./shell.js";
import { shimTools } from "./shim.js";
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

/** How every README command names the module: the one variable the quick start sets. */
export const MODULE_VARIABLE = "DOCKYARD";
const MODULE_REF = `"$${MODULE_VARIABLE}"`;

/** The module address the README sets once, in a `DOCKYARD=…` line of an sh block. */
export function moduleAddress(readme: string): { address: string | undefined; findings: string[] } {
  const lines = codeBlocks(readme)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.text.split("\n"))
    .map((l) => new RegExp(`^${MODULE_VARIABLE}=(\\S+)`).exec(l)?.[1])
    .filter((a) => a !== undefined);
  if (lines.length === 1) return { address: lines[0], findings: [] };
  return {
    address: lines[0],
    findings: [`README: ${lines.length} ${MODULE_VARIABLE}=… lines in sh blocks; the quick start sets the module once`],
  };
}

/** Every `dagger call` and `dagger install` in the README's sh blocks names the module as "$DOCKYARD". */
export function moduleFindings(readme: string): string[] {
  const commands = codeBlocks(readme)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.text.replace(/\\\n\s*/g, " ").split("\n"))
    .filter((l) => /^\s*dagger\b.*\b(call|install)\b/.test(l));
  return commands
    .filter((l) => !l.includes(/\binstall\b/.test(l) ? `install ${MODULE_REF}` : `-m ${MODULE_REF}`))
    .map(
      (l) =>
        `README: \`${l.trim().slice(0, 70)}\` does not name the module as ${MODULE_REF} (set once in the quick start)`,
    );
}

const AWS_TOKEN = "ecr-token-from-aws";
const AZ_TOKEN = "acr-token-from-az";
const ZERO_USER = "00000000-0000-0000-0000-000000000000";
const ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/** What the reader's environment holds when they paste a block (CI variables and their stored tokens). */
const READER_ENV: Record<string, string> = {
  GITHUB_REPOSITORY: "Acme/App",
  GITHUB_ACTOR: "octo-cat",
  CI_REGISTRY_IMAGE: "registry.gitlab.com/acme/app",
  CI_REGISTRY_USER: "gitlab-ci-token",
  CI_REGISTRY_PASSWORD: "job-token",
  DOCKERHUB_TOKEN: "dckr_pat_fake",
  GHCR_TOKEN: "ghs_fake",
  REGISTRY_TOKEN: "ghs_fake",
  ACR_CLIENT_ID: "11111111-2222-3333-4444-555555555555",
  ACR_CLIENT_SECRET: "client-secret",
};

/** Each registry's users as the blocks log in: ECR takes AWS and its token, ACR the all-zero user with an az token. */
const README_REGISTRIES: Record<string, MemoryRegistryConfig> = {
  "docker.io": { users: { "acme-bot": "dckr_pat_fake" } },
  "ghcr.io": { users: { "octo-cat": "ghs_fake", "acme-bot": "ghs_fake" } },
  "registry.gitlab.com": { users: { "gitlab-ci-token": "job-token" } },
  [ECR_HOST]: { users: { AWS: AWS_TOKEN } },
  "acmeregistry.azurecr.io": {
    users: { "11111111-2222-3333-4444-555555555555": "client-secret", [ZERO_USER]: AZ_TOKEN },
  },
};

interface Credential {
  username: string | undefined;
  password: string | undefined;
}

/** Who pushes where in one call: publish's own credentials for every host, with-registry-auth per host. */
function credentialFindings(block: string, call: DaggerCall): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`${block}: ${s}`);
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
  // A dry run or --push=false logs in nowhere: it needs no credentials.
  const pushes = !call.segments.some(
    (seg) => seg.flags.get("--dry-run")?.[0] === "true" || seg.flags.get("--push")?.[0] === "false",
  );
  for (const image of pushes ? images : []) {
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
    if (host.includes(".dkr.ecr.") && cred.username !== "AWS") say(`${host}: ECR's user is AWS, not ${cred.username}`);
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

/** `run` picks the scripts (by name: "Quick start", "Registries block N") that go through the shim; the default, all. */
export async function readmeFindings(
  readme: string,
  opts: { run?: (script: string) => boolean } = {},
): Promise<ReadmeCheck> {
  const findings: string[] = [];
  const hosts = new Set<string>();
  let maxAuths = 0;
  const module = moduleAddress(readme);
  findings.push(...module.findings, ...moduleFindings(readme));
  const quickStart = section(readme, "Quick start");
  const recipes = section(readme, "CI recipes");
  const registries = section(readme, "Registries");
  if (!quickStart) findings.push("README: no ## Quick start section");
  if (!recipes) findings.push("README: no ## CI recipes section");
  for (const file of [
    "examples/github-actions.yml",
    "examples/gitlab-ci.yml",
    "examples/github-actions-multiarch.yml",
    "examples/gitlab-ci-multiarch.yml",
  ]) {
    if (recipes && !recipes.includes(`](${file})`)) findings.push(`README ## CI recipes: no link to ${file}`);
  }
  if (!registries) return { findings: [...findings, "README: no ## Registries section"], hosts: [], maxAuths };
  const shellOf = (markdown: string) => codeBlocks(markdown).filter((b) => b.lang === "sh");
  // The quick start's blocks are pasted into one shell, one after the other; each Registries block after them.
  const quick = shellOf(quickStart ?? "").map((b) => b.text);
  const scripts = [
    ...(quick.length ? [{ name: "Quick start", text: quick.join("\n") }] : []),
    ...shellOf(registries).map((b, i) => ({ name: `Registries block ${i + 1}`, text: b.text })),
  ];
  if (quick.length === 0 && quickStart) findings.push("README ## Quick start: no sh block");
  findings.push(...shellcheck(scripts.map((s) => ({ name: s.name, shell: "bash", text: s.text }))));
  for (const b of codeBlocks(registries).filter((b) => b.lang === "yaml")) findings.push(...yamlFindings(b.text));
  for (const script of scripts.filter((s) => opts.run?.(s.name) ?? true)) {
    const root = tempDir("readme");
    laptopClone(root);
    const shim = await shimTools(README_REGISTRIES, {
      aws: `#!/bin/sh\necho ${AWS_TOKEN}\n`,
      az: `#!/bin/sh\necho ${AZ_TOKEN}\n`,
    });
    // A Registries block runs where the quick start set the module; the quick start sets it itself.
    const moduleEnv: Record<string, string> =
      script.name === "Quick start" || module.address === undefined ? {} : { [MODULE_VARIABLE]: module.address };
    const env = { PATH: `${shim.bin}:/usr/bin:/bin`, HOME: tempDir("home"), ...shim.env, ...READER_ENV, ...moduleEnv };
    const run = runScript(["bash", "-eo", "pipefail"], script.text, env, root);
    if (run.status !== 0) findings.push(`${script.name} exited ${run.status}: ${run.stderr.trim()}`);
    const records = shim.records();
    if (records.length === 0) findings.push(`${script.name}: no dagger call`);
    for (const record of records) {
      const call = parseCall(record.argv, {});
      const m = call.flags.get("-m")?.[0];
      if (m !== module.address)
        findings.push(`${script.name}: dagger call -m ${m ?? "(none)"}, not the quick start's module`);
      findings.push(...credentialFindings(script.name, call));
      maxAuths = Math.max(maxAuths, call.functions.filter((f) => f === "with-registry-auth").length);
      // What the module really pushed: every image the call names, each with a credential its registry took;
      // nothing for a dry run or --push=false.
      const plansOnly = call.segments.some(
        (seg) => seg.flags.get("--dry-run")?.[0] === "true" || seg.flags.get("--push")?.[0] === "false",
      );
      const wanted = plansOnly ? 0 : (call.flags.get("--images")?.[0] ?? "").split(",").filter((s) => s !== "").length;
      const images = new Set(record.pushes.map((p) => `${p.host}/${p.repository}`));
      if (record.status === 0 && images.size !== wanted) {
        findings.push(`${script.name}: pushed ${images.size} of ${wanted} images`);
      }
      for (const p of record.pushes) hosts.add(p.host);
    }
  }
  return { findings, hosts: [...hosts].sort(), maxAuths };
}
