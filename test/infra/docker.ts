// Rung 3 (engine double): a real Docker engine on this machine, and a base image made without any pull.
import { execFile, spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, copyFile, unlink, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";

/** Debian's 20.10 client has BuildKit built in; a newer client without the buildx plugin refuses DOCKER_BUILDKIT=1. */
export const DOCKER = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

export const BASE_IMAGE = "dockyard-test/busybox:1";

/** Applets linked into the base image's /bin. */
const APPLETS = [
  "sh",
  "cat",
  "echo",
  "ls",
  "test",
  "[",
  "mkdir",
  "cp",
  "mv",
  "rm",
  "grep",
  "wc",
  "env",
  "true",
  "false",
  "printf",
  "touch",
  "sleep",
  "head",
  "tail",
  "sed",
  "tr",
  "id",
  "uname",
  "find",
  "chmod",
  "ln",
  "pwd",
  "base64",
  "sha256sum",
];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 300_000,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== "number" ? String(err.message) : "") });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but throws with the command's stderr when it fails. */
export async function mustRun(
  cmd: string,
  args: string[],
  opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${path.basename(cmd)} ${args[0] ?? ""} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dockerAnswers(): Promise<boolean> {
  return (await run(DOCKER, ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 15_000 })).code === 0;
}

/** True when a docker client exists and a daemon answers or can be started by us (root + dockerd). */
export async function hasDocker(): Promise<boolean> {
  if ((await run(DOCKER, ["--version"])).code !== 0) return false;
  if (await dockerAnswers()) return true;
  return process.getuid?.() === 0 && (await run("dockerd", ["--version"])).code === 0;
}

/** Whether the docker-backed suites run here: they are required, unless DOCKYARD_SKIP_DOCKER=1 allows skipping them. */
export async function dockerAvailable(suite: string): Promise<boolean> {
  if (await hasDocker()) return true;
  if (process.env.DOCKYARD_SKIP_DOCKER === "1") {
    console.warn(`${suite} NOT RUN: no Docker engine here and none can be started (DOCKYARD_SKIP_DOCKER=1)`);
    return false;
  }
  throw new Error(
    `${suite}: no Docker engine answers and none can be started (needs root and docker.io: run scripts/test-all as root); ` +
      "set DOCKYARD_SKIP_DOCKER=1 to skip the docker-backed suites",
  );
}

// Several vitest workers may share one daemon: each holds a lease file, and the last one out stops a dockerd we started.
const STATE_DIR = path.join(os.tmpdir(), "dockyard-dockerd");
const LEASES = path.join(STATE_DIR, "leases");
const PIDFILE = path.join(STATE_DIR, "dockerd.pid");
const START_LOCK = path.join(STATE_DIR, "starting");
export const DOCKERD_LOG = path.join(STATE_DIR, "dockerd.log");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => "");
  const pid = Number.parseInt(text, 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

async function otherLiveLeases(self: string): Promise<number> {
  const names = await readdir(LEASES).catch(() => [] as string[]);
  let live = 0;
  for (const name of names) {
    if (name === self) continue;
    const pid = Number.parseInt(name.split("-")[0] ?? "", 10);
    if (alive(pid)) live++;
    else await unlink(path.join(LEASES, name)).catch(() => {});
  }
  return live;
}

/** Polls `docker info` until it answers; bounded. */
async function waitForDocker(timeoutMs: number, died?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await dockerAnswers()) return;
    if (died?.()) break;
    await delay(250);
  }
  if (await dockerAnswers()) return;
  const log = await readFile(DOCKERD_LOG, "utf8").catch(() => "");
  throw new Error(
    `docker daemon did not answer within ${timeoutMs} ms; dockerd log tail:\n${log.split("\n").slice(-20).join("\n")}`,
  );
}

async function startDockerd(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("no docker daemon answers and starting dockerd needs root");
  const log = openSync(DOCKERD_LOG, "a");
  const child = spawn("dockerd", ["--host", "unix:///var/run/docker.sock"], {
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  let exited = false;
  child.on("exit", () => (exited = true));
  child.unref();
  if (child.pid === undefined) throw new Error("could not spawn dockerd");
  await writeFile(PIDFILE, String(child.pid));
  await waitForDocker(60_000, () => exited);
}

async function stopDockerd(pid: number): Promise<void> {
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 120 && alive(pid); i++) await delay(250);
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

/** Uses a running daemon, or starts dockerd (as root); stop() ends only a dockerd we started, once no other test process holds it. */
export async function ensureDockerEngine(): Promise<{ stop(): Promise<void> }> {
  await mkdir(LEASES, { recursive: true });
  const lease = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(path.join(LEASES, lease), "");
  const stop = async () => {
    await unlink(path.join(LEASES, lease)).catch(() => {});
    const pid = await readPid(PIDFILE);
    if (pid === undefined || (await otherLiveLeases(lease)) > 0) return;
    await rm(PIDFILE, { force: true });
    if (alive(pid)) await stopDockerd(pid);
  };
  try {
    if (await dockerAnswers()) return { stop };
    const stale = await readPid(PIDFILE);
    if (stale !== undefined && !alive(stale)) await rm(PIDFILE, { force: true });
    if (
      await mkdir(START_LOCK).then(
        () => true,
        () => false,
      )
    ) {
      try {
        await startDockerd();
      } finally {
        await rm(START_LOCK, { recursive: true, force: true });
      }
    } else {
      await waitForDocker(60_000); // another test process is starting it
    }
    return { stop };
  } catch (err) {
    await unlink(path.join(LEASES, lease)).catch(() => {});
    throw err;
  }
}

async function imageExists(name: string): Promise<boolean> {
  return (await run(DOCKER, ["image", "inspect", "--format", "{{.Id}}", name])).code === 0;
}

/** A rootfs holding the static busybox and applet symlinks; the binary is the host's (amd64 here). */
async function makeRootfs(dir: string): Promise<void> {
  for (const d of ["bin", "tmp", "etc", "run", "root"]) await mkdir(path.join(dir, d), { recursive: true });
  await copyFile("/bin/busybox", path.join(dir, "bin/busybox"));
  for (const applet of APPLETS) await symlink("busybox", path.join(dir, "bin", applet));
  await writeFile(path.join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(path.join(dir, "etc/group"), "root:x:0:\n");
}

async function tarDir(dir: string): Promise<Buffer> {
  // Fixed owner and mtime so the layer is the same on every machine run.
  const r = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn("tar", [
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "-C",
      dir,
      "-c",
      ".",
    ]);
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar exited ${code}`)),
    );
  });
  return r;
}

/** Builds the base image from /bin/busybox with `docker import`; does nothing when it exists. */
export async function ensureBaseImage(name = BASE_IMAGE): Promise<string> {
  if (!(await imageExists(name))) {
    if (!existsSync("/bin/busybox")) throw new Error("/bin/busybox is missing: install busybox-static");
    const work = await mkdtemp(path.join(os.tmpdir(), "dockyard-rootfs-"));
    try {
      await makeRootfs(path.join(work, "rootfs"));
      const tar = await tarDir(path.join(work, "rootfs"));
      await mustRun(DOCKER, ["import", "-c", "ENV PATH=/bin", "-m", "dockyard test base (busybox-static)", "-", name], {
        input: tar,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return name;
}

/** Host-arch tag name for a platform's base image, e.g. dockyard-test/busybox:1-arm64. */
export function baseImageFor(arch: string, name = BASE_IMAGE): string {
  return `${name}-${arch}`;
}

/**
 * Loads the same rootfs as an image whose config says linux/<arch>, via a hand-made `docker save` archive:
 * `docker import --platform` is ignored by the 20.10 daemon. The busybox inside stays the host's binary,
 * so RUN steps still execute natively (no qemu needed): the image is "arm64" by its config only.
 */
async function loadForeignArch(arch: string, tag: string): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), "dockyard-foreign-"));
  try {
    await makeRootfs(path.join(work, "rootfs"));
    const layer = await tarDir(path.join(work, "rootfs"));
    const diffHex = createHash("sha256").update(layer).digest("hex");
    const archive = path.join(work, "archive");
    await mkdir(path.join(archive, diffHex), { recursive: true });
    await writeFile(path.join(archive, diffHex, "layer.tar"), layer);
    const config = JSON.stringify({
      architecture: arch,
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config: { Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: [`sha256:${diffHex}`] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "dockyard test base (busybox-static)" }],
    });
    const configHex = createHash("sha256").update(config).digest("hex");
    await writeFile(path.join(archive, `${configHex}.json`), config);
    await writeFile(
      path.join(archive, "manifest.json"),
      JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: [`${diffHex}/layer.tar`] }]),
    );
    await mustRun(DOCKER, ["load"], { input: await tarDir(archive) });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const HOST_ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
};
export const hostArch = (): string => HOST_ARCH[process.arch] ?? process.arch;

/**
 * The base image plus one tag per architecture (`<name>-amd64`, `<name>-arm64`), for multi-platform
 * fixtures written as `ARG TARGETARCH` / `FROM dockyard-test/busybox:1-${TARGETARCH}` (see DockerBackend.build).
 */
export async function ensureBaseImages(arches: string[] = ["amd64", "arm64"], name = BASE_IMAGE): Promise<string[]> {
  await ensureBaseImage(name);
  const tags: string[] = [];
  for (const arch of arches) {
    const tag = baseImageFor(arch, name);
    if (!(await imageExists(tag))) {
      if (arch === hostArch()) await mustRun(DOCKER, ["tag", name, tag]);
      else await loadForeignArch(arch, tag);
    }
    tags.push(tag);
  }
  return tags;
}

/** The stand-in SBOM scanner: the busybox base with test/fixtures/sbom-scanner/scan.sh as its entrypoint. */
export const SCANNER_IMAGE = "dockyard-test/sbom-scanner:1";

/** Builds SCANNER_IMAGE on the base image (no pull, no network); does nothing when it exists. */
export async function ensureScannerImage(scriptDir: string, name = SCANNER_IMAGE): Promise<string> {
  if (await imageExists(name)) return name;
  await ensureBaseImage();
  const work = await mkdtemp(path.join(os.tmpdir(), "dockyard-scanner-"));
  try {
    await copyFile(path.join(scriptDir, "scan.sh"), path.join(work, "scan.sh"));
    const dockerfile = `FROM ${BASE_IMAGE}\nCOPY scan.sh /scan.sh\nENTRYPOINT ["/bin/sh", "/scan.sh"]\n`;
    await writeFile(path.join(work, "Dockerfile"), dockerfile);
    await mustRun(DOCKER, ["build", "--network", "none", "-q", "-t", name, work], {
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return name;
}
