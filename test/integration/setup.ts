// Rung 3 (engine double): shared setup for the docker-backed suites: engine, base images, registries, git fixtures.
import { execFileSync } from "node:child_process";
import { cpSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach } from "vitest";

import { DockerBackend } from "../engine/docker-backend.js";
import { startEngineDouble, type EngineDouble } from "../engine/server.js";
import { ensureBaseImage, ensureBaseImages, ensureDockerEngine } from "../infra/docker.js";
import { processTempDir } from "../infra/tempdirs.js";
import { startRegistry, type Registry } from "../infra/registry.js";

export { dockerAvailable } from "../infra/docker.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const HELLO = join(REPO_ROOT, "examples/hello");

export interface DockerWorld {
  double: EngineDouble;
  stop(): Promise<void>;
}

/** A Docker engine, the base images the fixtures name, and an engine double building and pushing for real. */
export async function startDockerWorld(): Promise<DockerWorld> {
  const engine = await ensureDockerEngine();
  await ensureBaseImages();
  // examples/hello and the fixtures name busybox:1.36; it is made locally, never pulled.
  await ensureBaseImage("busybox:1.36");
  const double = await startEngineDouble({ backend: new DockerBackend() });
  return {
    double,
    async stop() {
      await double.close();
      await engine.stop();
    },
  };
}

/** git in `dir`, never reaching past the temp folder for a repository. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, GIT_CEILING_DIRECTORIES: tmpdir() },
  }).trim();
}

export interface GitFixture {
  dir: string;
  git(...args: string[]): string;
  head(): string;
}

/** A fresh git checkout holding a copy of `from` (default examples/hello), committed on branch main. */
export function gitFixture(from: string = HELLO): GitFixture {
  const dir = processTempDir("dockyard-git-");
  cpSync(from, dir, { recursive: true });
  const run = (...args: string[]) => git(dir, ...args);
  run("init", "-q", "-b", "main");
  run("config", "user.email", "ci@dockyard.test");
  run("config", "user.name", "dockyard ci");
  writeFileSync(join(dir, ".gitignore"), "*.log\n");
  run("add", "-A");
  run("commit", "-q", "-m", "hello");
  return { dir, git: run, head: () => run("rev-parse", "HEAD") };
}

export interface SuiteWorld {
  readonly world: DockerWorld;
  /** A registry with one user, `ci`. */
  readonly registry: Registry;
  /** How many times the module asked the double for a field since the last reset. */
  count(field: string): number;
}

/** A docker world and a registry for one suite: started before its tests, stopped after, reset before each. */
export function useDockerWorld(password: string): SuiteWorld {
  let world: DockerWorld | undefined;
  let registry: Registry | undefined;
  beforeAll(async () => {
    world = await startDockerWorld();
    registry = await startRegistry({ users: { ci: password } });
  });
  afterAll(async () => {
    await registry?.stop();
    await world?.stop();
  });
  beforeEach(() => world?.double.reset());
  const started = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error("useDockerWorld: used before its beforeAll ran");
    return x;
  };
  return {
    get world() {
      return started(world);
    },
    get registry() {
      return started(registry);
    },
    count: (field) => started(world).double.journal.filter((e) => e.field === field).length,
  };
}
