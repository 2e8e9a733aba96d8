// Shell helpers for the recipe checks: shellcheck on extracted scripts, and running a script with fake tools on PATH.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type ShellKind = "bash" | "sh";

/** One script as the CI would run it, named for the findings (`job/step`). */
export interface Script {
  name: string;
  shell: ShellKind;
  text: string;
}

interface ShellcheckComment {
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

// Every directory the checks make lives under one root, removed by `removeTempDirs` (each test file's afterAll).
let root: string | undefined;

export function tempDir(prefix: string): string {
  root ??= mkdtempSync(join(tmpdir(), "dockyard-recipes-"));
  return mkdtempSync(join(root, `${prefix}-`));
}

export function removeTempDirs(): void {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
}

/** Runs `shellcheck -f json` on each script with the shebang of the shell it runs in; one finding per comment. */
export function shellcheck(scripts: Script[]): string[] {
  const dir = tempDir("shellcheck");
  try {
    return scripts.flatMap((script, i) => {
      const file = join(dir, `script-${i}.sh`);
      writeFileSync(file, `#!/bin/${script.shell}\n${script.text}\n`);
      const run = spawnSync("shellcheck", ["-f", "json", file], { encoding: "utf8" });
      if (run.error) throw new Error(`shellcheck could not run (apt-get install shellcheck): ${run.error.message}`);
      if (run.status !== 0 && run.status !== 1) throw new Error(`shellcheck failed: ${run.stderr}`);
      const comments = JSON.parse(run.stdout) as ShellcheckComment[];
      // Line 1 is the shebang we added: report lines as in the script text.
      return comments.map((c) => `${script.name}:${c.line - 1}:${c.column}: SC${c.code} (${c.level}): ${c.message}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A recording `dagger` for what the shim does not run (another module's calls, the README's blocks): records its
 * argv and environment (files call-N and env-N, NUL-separated) and prints nothing.
 */
const FAKE_DAGGER = `#!/bin/sh
set -e
n=0
while [ -e "$FAKE_DAGGER_LOG/call-$n" ]; do n=$((n + 1)); done
printf '%s\\0' "$@" > "$FAKE_DAGGER_LOG/call-$n"
env -0 > "$FAKE_DAGGER_LOG/env-$n"
`;

/** Makes `dir` a clean git checkout at a detached HEAD, as a CI job's checkout is: one commit of one file. */
export function gitCheckout(dir: string): void {
  const git = (...args: string[]) => {
    const run = spawnSync("git", args, { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
  };
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
  git("init", "-q", "-b", "main");
  git("add", "Dockerfile");
  git("-c", "user.name=ci", "-c", "user.email=ci@example.test", "commit", "-q", "-m", "checkout");
  git("checkout", "-q", "--detach");
}

/** Installs fake executables into a fresh bin directory; returns it. */
export function fakeBin(tools: Record<string, string>): string {
  const dir = tempDir("bin");
  for (const [name, body] of Object.entries(tools)) {
    const file = join(dir, name);
    writeFileSync(file, body);
    chmodSync(file, 0o755);
  }
  return dir;
}

export function fakeDagger(): Record<string, string> {
  return { dagger: FAKE_DAGGER };
}

/** Reads the recorded dagger calls, in call order: argv and environment. */
export function daggerCalls(logDir: string): { argv: string[]; env: Record<string, string> }[] {
  const count = readdirSync(logDir).filter((f) => f.startsWith("call-")).length;
  const read = (f: string) => readFileSync(join(logDir, f), "utf8").split("\0").slice(0, -1);
  return Array.from({ length: count }, (_, n) => ({
    argv: read(`call-${n}`),
    env: Object.fromEntries(read(`env-${n}`).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
  }));
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script file with exactly the given environment (no inherited variables) in `cwd`. */
export function runScript(argv: string[], text: string, env: Record<string, string>, cwd: string): RunResult {
  const dir = tempDir("script");
  try {
    const file = join(dir, "script.sh");
    writeFileSync(file, text);
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error("empty argv");
    const run = spawnSync(cmd, [...args, file], { env, cwd, encoding: "utf8" });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
