// Rung 3 (engine double): a real OCI registry (Debian's docker-registry 2.8) on loopback with htpasswd or token auth, and a read-back client.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { startTokenServer, type TokenServer, type TokenServerOptions } from "./token-server.js";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { mustRun } from "./docker.js";

export interface Registry {
  /** "127.0.0.1:<port>", the host part of image references. */
  readonly host: string;
  readonly port: number;
  /** "http://127.0.0.1:<port>" */
  readonly url: string;
  readonly dir: string;
  readonly users: Record<string, string>;
  /** The token server, when the registry was started with token auth. */
  readonly tokenServer?: TokenServer;
  /** A read-back client, authenticated as `user` (default: the first user). */
  client(user?: string): RegistryClient;
  log(): Promise<string>;
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks the kernel for a free loopback port; the registry binds it right after (retried if taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  const lines: string[] = [];
  for (const [name, password] of Object.entries(users))
    lines.push((await mustRun("htpasswd", ["-Bbn", name, password])).trim());
  await writeFile(file, lines.join("\n") + "\n", { mode: 0o600 });
}

function authYaml(dir: string, token: TokenServer | undefined): string[] {
  if (token) {
    return [
      "auth:",
      "  token:",
      `    realm: ${token.realm}`,
      `    service: ${token.service}`,
      `    issuer: ${token.issuer}`,
      `    rootcertbundle: ${token.certFile}`,
    ];
  }
  return ["auth:", "  htpasswd:", "    realm: dockyard-test", `    path: ${path.join(dir, "htpasswd")}`];
}

function configYaml(dir: string, port: number, token?: TokenServer): string {
  // Our own config: Debian's default points htpasswd at a directory (every request then answers 400).
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${path.join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
    ...authYaml(dir, token),
    "",
  ].join("\n");
}

async function answers401(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 401;
  } catch {
    return false;
  }
}

/** Polls GET /v2/ until it answers 401 (bounded); false if the process exited first (e.g. port taken). */
async function waitReady(url: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (await answers401(url)) return true;
    await delay(100);
  }
  return answers401(url);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `docker-registry serve` on 127.0.0.1 with a free port, a fresh storage dir and bcrypt htpasswd, or, with
 * `tokenAuth`, the registry's `auth: token:` backed by a token server this starts (test/infra/token-server.ts).
 */
export async function startRegistry(opts: {
  users: Record<string, string>;
  tokenAuth?: Omit<TokenServerOptions, "users" | "dir">;
}): Promise<Registry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-registry-"));
  const logFile = path.join(dir, "registry.log");
  let token: TokenServer | undefined;
  try {
    if (opts.tokenAuth) token = await startTokenServer({ ...opts.tokenAuth, users: opts.users, dir });
    await writeHtpasswd(path.join(dir, "htpasswd"), opts.users);
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      await writeFile(path.join(dir, "config.yml"), configYaml(dir, port, token));
      const fd = openSync(logFile, "a");
      const child = spawn("docker-registry", ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", fd, fd] });
      closeSync(fd);
      const url = `http://127.0.0.1:${port}`;
      if (await waitReady(url, child)) return makeRegistry(dir, port, opts.users, child, token);
      await stopChild(child);
    }
    throw new Error(
      `docker-registry did not answer 401 on /v2/; log:\n${await readFile(logFile, "utf8").catch(() => "")}`,
    );
  } catch (err) {
    await token?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function makeRegistry(
  dir: string,
  port: number,
  users: Record<string, string>,
  child: ChildProcess,
  tokenServer?: TokenServer,
): Registry {
  const url = `http://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url,
    dir,
    users,
    ...(tokenServer ? { tokenServer } : {}),
    client(user?: string) {
      const name = user ?? Object.keys(users)[0];
      const password = name === undefined ? undefined : users[name];
      return new RegistryClient(
        url,
        name !== undefined && password !== undefined ? { username: name, password } : undefined,
      );
    },
    log: () => readFile(path.join(dir, "registry.log"), "utf8").catch(() => ""),
    async stop() {
      await stopChild(child);
      await tokenServer?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ManifestBody {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

export interface FetchedManifest {
  /** Docker-Content-Digest of the manifest or index. */
  digest: string;
  mediaType: string;
  body: ManifestBody;
  raw: Buffer;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  config?: { Labels?: Record<string, string> | null; Env?: string[]; [k: string]: unknown };
  rootfs?: { type: string; diff_ids: string[] };
  [k: string]: unknown;
}

const isIndex = (mt: string) => mt === MEDIA.ociIndex || mt === MEDIA.dockerList;

/** Reads back what was pushed, with basic auth on every request. */
export class RegistryClient {
  constructor(
    readonly url: string,
    private readonly auth?: { username: string; password: string },
  ) {}

  private async get(p: string, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.auth)
      h.Authorization = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    return fetch(`${this.url}${p}`, { headers: h });
  }

  private async expectOk(res: Response, what: string): Promise<Buffer> {
    const body = Buffer.from(await res.arrayBuffer());
    if (!res.ok)
      throw new Error(`GET ${what}: ${res.status} ${res.statusText}: ${body.toString("utf8").slice(0, 300)}`);
    return body;
  }

  /** Tags of a repository; [] when the repository does not exist. */
  async listTags(repo: string): Promise<string[]> {
    const res = await this.get(`/v2/${repo}/tags/list`);
    if (res.status === 404) {
      await res.arrayBuffer();
      return [];
    }
    const body = JSON.parse((await this.expectOk(res, `${repo} tags`)).toString("utf8")) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const accept = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(", ");
    const res = await this.get(`/v2/${repo}/manifests/${ref}`, { Accept: accept });
    const raw = await this.expectOk(res, `${repo} manifest ${ref}`);
    const body = JSON.parse(raw.toString("utf8")) as ManifestBody;
    return {
      digest: res.headers.get("docker-content-digest") ?? "",
      mediaType: body.mediaType ?? res.headers.get("content-type") ?? "",
      body,
      raw,
    };
  }

  async getBlob(repo: string, digest: string): Promise<Buffer> {
    return this.expectOk(await this.get(`/v2/${repo}/blobs/${digest}`), `${repo} blob ${digest}`);
  }

  /** The image manifest for ref; follows an index to `platform` ("os/arch[/variant]"), or its first entry. */
  async imageManifest(repo: string, ref: string, platform?: string): Promise<FetchedManifest> {
    const m = await this.getManifest(repo, ref);
    if (!isIndex(m.mediaType)) return m;
    const entries = m.body.manifests ?? [];
    const wanted = platform?.split("/");
    const entry = wanted
      ? entries.find(
          (d) =>
            d.platform?.os === wanted[0] &&
            d.platform?.architecture === wanted[1] &&
            (wanted[2] === undefined || d.platform?.variant === wanted[2]),
        )
      : entries[0];
    if (!entry) throw new Error(`index ${repo}:${ref} has no manifest for ${platform ?? "any platform"}`);
    return this.getManifest(repo, entry.digest);
  }

  /** The parsed image config (incl. config.Labels). */
  async imageConfig(repo: string, ref: string, platform?: string): Promise<ImageConfig> {
    const m = await this.imageManifest(repo, ref, platform);
    if (!m.body.config) throw new Error(`${repo}:${ref} is not an image manifest`);
    return JSON.parse((await this.getBlob(repo, m.body.config.digest)).toString("utf8")) as ImageConfig;
  }

  /** Each layer as uncompressed tar bytes. */
  async layers(repo: string, ref: string, platform?: string): Promise<Buffer[]> {
    const m = await this.imageManifest(repo, ref, platform);
    const out: Buffer[] = [];
    for (const layer of m.body.layers ?? []) {
      const blob = await this.getBlob(repo, layer.digest);
      out.push(layer.mediaType.endsWith("gzip") ? gunzipSync(blob) : blob);
    }
    return out;
  }
}
