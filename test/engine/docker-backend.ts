// Rung 3 (engine double): builds with the real Docker engine (BuildKit) and pushes to a real registry with our own OCI client.
//
// Error texts are shaped like what a Dagger `publish` prints when BuildKit's push fails, so the module's
// error classifier is tested against realistic strings. Sources (read 2026-11):
// - dagger/dagger engine/buildkit/containerimage.go, PublishContainerImage: `failed to export: %w`
// - moby/buildkit exporter/containerimage/export.go: `failed to push %v` (the target ref)
// - containerd remotes/errors/errors.go ErrUnexpectedStatus:
//     `unexpected status from %s request to %s: %s` (method, full URL, Go resp.Status "503 Service Unavailable");
//   containerd 2.x core/remotes/errors adds ` (Retry-After: <RFC3339>)` when the registry sent Retry-After.
// - containerd remotes/docker/resolver.go request.do: `failed to do request: %w` around Go's url.Error
//   (`Put "http://…": EOF`, `…: read tcp a->b: read: connection reset by peer`, `…: dial tcp …: connect: connection refused`,
//   e.g. dagger/dagger issue 4579: `failed to push localhost:5000/example-node:latest: failed to do request: Head "http://localhost:5000/v2/…": dial tcp 127.0.0.1:5000: connect: connection refused`).
// - containerd remotes/docker/authorizer.go + pusher.go: a Basic challenge without credentials gives
//   `push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`.
// - With wrong Basic credentials containerd re-sends until it gives up and the blob existence check fails:
//   `unexpected status from HEAD request to http://…/v2/<repo>/blobs/sha256:…: 401 Unauthorized`.
//
// Retries: real BuildKit retries 5xx and reset/EOF connections itself (util/resolver/retryhandler: waits 1 s, 2 s, 4 s),
// and containerd's resolver re-sends 408/429 a few times without waiting; neither retries 401/403.
// This backend does NOT retry at all: the module has its own retry, and tests count attempts exactly.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Backend, BuildRequest, BuiltImage, PushRequest, PushVariant } from "./backend.js";
import { DOCKER, hostArch, mustRun, run } from "../infra/docker.js";

const MT = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface ParsedRef {
  host: string;
  repo: string;
  tag: string;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const blobOf = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

/** "host[:port]/path/name[:tag]" -> parts; the tag defaults to "latest" as Docker does. */
export function parseReference(address: string): ParsedRef {
  const slash = address.indexOf("/");
  if (slash < 0) throw new Error(`invalid reference ${JSON.stringify(address)}: no registry host`);
  const host = address.slice(0, slash);
  const rest = address.slice(slash + 1);
  if (rest.includes("@"))
    throw new Error(`invalid reference ${JSON.stringify(address)}: digest references are not supported by the double`);
  const colon = rest.lastIndexOf(":");
  return colon > rest.lastIndexOf("/") && colon >= 0
    ? { host, repo: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { host, repo: rest, tag: "latest" };
}

/** Splits "os/arch[/variant]". */
function platformParts(platform: string): { os: string; architecture: string; variant?: string } {
  const [osName = "linux", architecture = hostArch(), variant] = platform.split("/");
  return variant ? { os: osName, architecture, variant } : { os: osName, architecture };
}

/** Replaces secret plaintexts (and their trimmed form) in text, as Dagger does in command output. */
function scrub(text: string, secrets: { plaintext: string }[]): string {
  let out = text;
  for (const s of secrets) {
    for (const v of new Set([s.plaintext, s.plaintext.trim()])) if (v.length > 0) out = out.split(v).join("***");
  }
  return out;
}

/** BuildKit prints the failure last (`executor failed running [...]: exit code: 3`, `failed to solve with frontend ...`). */
function buildFailure(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? "docker build failed without output";
}

/**
 * Docker 20.10's built-in Dockerfile frontend does not expand the automatic TARGET* args in the global scope
 * (`ARG TARGETARCH` + `FROM img-${TARGETARCH}` resolves to `img-`); current BuildKit does. Passing them as
 * build args gives the current behaviour, so multi-platform fixtures can pick a per-arch local base image.
 */
function platformArgs(platform: string, given: { name: string }[]): string[] {
  const p = platformParts(platform);
  const auto: Record<string, string> = { TARGETPLATFORM: platform, TARGETOS: p.os, TARGETARCH: p.architecture };
  if (p.variant) auto.TARGETVARIANT = p.variant;
  const names = new Set(given.map((a) => a.name));
  return Object.entries(auto)
    .filter(([k]) => !names.has(k))
    .flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
}

/** Reads an image out of `docker save`: its config bytes and uncompressed layer tars, in order. */
async function savedImage(image: string): Promise<{ config: Buffer; layers: Buffer[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-save-"));
  try {
    await mustRun(DOCKER, ["save", "-o", path.join(dir, "image.tar"), image]);
    await mustRun("tar", ["-xf", path.join(dir, "image.tar"), "-C", dir]);
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
      Config: string;
      Layers: string[];
    }[];
    const entry = manifest[0];
    if (!entry) throw new Error(`docker save ${image}: empty manifest.json`);
    const config = await readFile(path.join(dir, entry.Config));
    const layers: Buffer[] = [];
    for (const l of entry.Layers) layers.push(await readFile(path.join(dir, l)));
    return { config, layers };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The config with labels merged into config.Labels; the original bytes when there is nothing to merge (digest = image ID). */
function labelledConfig(raw: Buffer, labels: Record<string, string>): Buffer {
  if (Object.keys(labels).length === 0) return raw;
  const cfg = JSON.parse(raw.toString("utf8")) as { config?: { Labels?: Record<string, string> | null } | null };
  cfg.config = cfg.config ?? {};
  cfg.config.Labels = { ...(cfg.config.Labels ?? {}), ...labels };
  return Buffer.from(JSON.stringify(cfg));
}

/** A push failure carrying the HTTP status when there was one. */
export class PushError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "PushError";
  }
}

const goMethod = (m: string) => m.charAt(0) + m.slice(1).toLowerCase();

/** Node/undici network errors rendered like Go's net errors inside containerd's "failed to do request". */
function networkError(method: string, url: string, err: unknown): string {
  const cause = (
    err as { cause?: { code?: string; message?: string; socket?: { localAddress?: string; localPort?: number } } }
  ).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  const u = new URL(url);
  const local = cause?.socket?.localPort
    ? `${cause.socket.localAddress ?? "127.0.0.1"}:${cause.socket.localPort}`
    : "127.0.0.1:0"; // undici rarely reports the local port
  let tail: string;
  if (code === "ECONNREFUSED") tail = `dial tcp ${u.host}: connect: connection refused`;
  else if (code === "ECONNRESET" || code === "EPIPE")
    tail = `read tcp ${local}->${u.host}: read: connection reset by peer`;
  else if (code === "UND_ERR_SOCKET" || code === "UND_ERR_CLOSED") tail = "EOF";
  else tail = cause?.message ?? String(err);
  return `failed to do request: ${goMethod(method)} "${url}": ${tail}`;
}

/** One push's HTTP conversation: Basic auth is sent only after the registry asks for it (as containerd does). */
class RegistrySession {
  private authHeader?: string;

  constructor(
    private readonly base: string,
    private readonly auth?: { username: string; password: string },
  ) {}

  async request(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.send(method, url, body, headers);
    if (res.status !== 401 || this.authHeader) return res;
    const challenge = res.headers.get("www-authenticate") ?? "";
    if (!/^basic\b/i.test(challenge)) return res;
    await res.arrayBuffer();
    if (!this.auth || !this.auth.username || !this.auth.password) {
      throw new PushError(
        "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
        401,
      );
    }
    this.authHeader = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    return this.send(method, url, body, headers);
  }

  private async send(
    method: string,
    url: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
  ): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.authHeader) h.Authorization = this.authHeader;
    try {
      return await fetch(url, { method, headers: h, body, redirect: "manual" });
    } catch (err) {
      throw new PushError(networkError(method, url, err));
    }
  }

  url(p: string): string {
    return `${this.base}${p}`;
  }
}

/** containerd's ErrUnexpectedStatus text; drains the body. */
async function unexpected(method: string, url: string, res: Response): Promise<PushError> {
  await res.arrayBuffer().catch(() => undefined);
  const text = res.statusText || STATUS_CODES[res.status] || "";
  let msg = `unexpected status from ${method} request to ${url}: ${res.status} ${text}`.trimEnd();
  const retryAfter = res.headers.get("retry-after");
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds))
    msg += ` (Retry-After: ${new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")})`;
  return new PushError(msg, res.status);
}

async function uploadBlob(s: RegistrySession, repo: string, blob: Blob): Promise<void> {
  const headUrl = s.url(`/v2/${repo}/blobs/${blob.digest}`);
  const head = await s.request("HEAD", headUrl, undefined, { Accept: `${blob.mediaType}, */*` });
  await head.arrayBuffer();
  if (head.status === 200) return;
  if (head.status !== 404) throw await unexpected("HEAD", headUrl, head);

  const postUrl = s.url(`/v2/${repo}/blobs/uploads/`);
  const post = await s.request("POST", postUrl);
  if (post.status !== 202) throw await unexpected("POST", postUrl, post);
  await post.arrayBuffer();
  const location = post.headers.get("location");
  if (!location) throw new PushError(`unexpected response from POST request to ${postUrl}: no Location header`);
  const put = new URL(location, postUrl);
  put.searchParams.append("digest", blob.digest);
  const putUrl = put.toString();
  const res = await s.request("PUT", putUrl, blob.bytes, { "Content-Type": "application/octet-stream" });
  if (![200, 201, 204].includes(res.status)) throw await unexpected("PUT", putUrl, res);
  await res.arrayBuffer();
}

async function putManifest(s: RegistrySession, repo: string, ref: string, m: Blob): Promise<string> {
  const url = s.url(`/v2/${repo}/manifests/${ref}`);
  const res = await s.request("PUT", url, m.bytes, { "Content-Type": m.mediaType });
  if (![200, 201, 204].includes(res.status)) throw await unexpected("PUT", url, res);
  await res.arrayBuffer();
  const got = res.headers.get("docker-content-digest");
  if (got && got !== m.digest) throw new PushError(`got digest ${got}, expected ${m.digest}`);
  return m.digest;
}

/** An index's child manifest, skipped when present, as containerd's pusher does (rewriting it races in the registry). */
async function putChildManifest(s: RegistrySession, repo: string, m: Blob): Promise<void> {
  const url = s.url(`/v2/${repo}/manifests/${m.digest}`);
  const head = await s.request("HEAD", url, undefined, { Accept: m.mediaType });
  await head.arrayBuffer();
  if (head.status === 200) return;
  if (head.status !== 404) throw await unexpected("HEAD", url, head);
  await putManifest(s, repo, m.digest, m);
}

interface ExportedImage {
  config: Buffer;
  layers: Blob[];
}

/** `docker save` plus gzip of an image's layers; Node's gzip writes no timestamp, so the same tar gives the same digest. */
async function exportImage(image: string): Promise<ExportedImage> {
  const saved = await savedImage(image);
  return { config: saved.config, layers: saved.layers.map((tar) => blobOf(MT.layerGzip, gzipSync(tar, { level: 6 }))) };
}

/** Uploads one variant's blobs and returns its OCI image manifest (not yet pushed). */
async function pushVariantBlobs(
  s: RegistrySession,
  repo: string,
  v: PushVariant,
  exported: ExportedImage,
): Promise<Blob> {
  const config = blobOf(MT.config, labelledConfig(exported.config, v.labels));
  const layers = exported.layers;
  for (const b of [...layers, config]) await uploadBlob(s, repo, b);
  const desc = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = { schemaVersion: 2, mediaType: MT.manifest, config: desc(config), layers: layers.map(desc) };
  return blobOf(MT.manifest, Buffer.from(JSON.stringify(manifest)));
}

function indexOf(variants: PushVariant[], manifests: Blob[]): Blob {
  const entries = manifests.map((m, i) => ({
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    platform: platformParts(variants[i]?.platform ?? ""),
  }));
  return blobOf(MT.index, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests: entries })));
}

export class DockerBackend implements Backend {
  readonly name = "docker" as const;
  // Image IDs are content addresses: export each once, as BuildKit does, however many refs it is pushed to.
  private readonly exports = new Map<string, Promise<ExportedImage>>();

  private exported(image: string): Promise<ExportedImage> {
    let e = this.exports.get(image);
    if (!e) {
      e = exportImage(image);
      e.catch(() => this.exports.delete(image));
      this.exports.set(image, e);
    }
    return e;
  }

  async build(req: BuildRequest): Promise<BuiltImage> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "dockyard-build-"));
    try {
      const iidfile = path.join(tmp, "iid");
      const args = [
        "build",
        "--network",
        "none",
        "--progress",
        "plain",
        "--iidfile",
        iidfile,
        "-f",
        path.join(req.contextDir, req.dockerfile),
      ];
      if (req.target) args.push("--target", req.target);
      if (req.platform) args.push("--platform", req.platform);
      for (const a of req.buildArgs) args.push("--build-arg", `${a.name}=${a.value}`);
      args.push(...platformArgs(req.platform ?? `linux/${hostArch()}`, req.buildArgs));
      for (const [i, s] of req.secrets.entries()) {
        const file = path.join(tmp, `secret-${i}`);
        await writeFile(file, s.plaintext, { mode: 0o600 });
        args.push("--secret", `id=${s.name},src=${file}`);
      }
      args.push(req.contextDir);
      const r = await run(DOCKER, args, { env: { ...process.env, DOCKER_BUILDKIT: "1" } });
      if (r.code !== 0) throw new Error(scrub(buildFailure(r.stderr), req.secrets));
      const image = (await readFile(iidfile, "utf8")).trim();
      const platform = (
        await mustRun(DOCKER, [
          "image",
          "inspect",
          "--format",
          "{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}",
          image,
        ])
      ).trim();
      return { image, platform };
    } finally {
      await rm(tmp, { recursive: true, force: true }); // secret files live only as long as the build
    }
  }

  async push(req: PushRequest): Promise<string> {
    const ref = parseReference(req.address);
    const s = new RegistrySession(`http://${ref.host}`, req.auth);
    try {
      if (req.variants.length === 0) throw new PushError("no platform variants to push");
      const manifests: Blob[] = [];
      for (const v of req.variants)
        manifests.push(await pushVariantBlobs(s, ref.repo, v, await this.exported(v.image)));
      const only = manifests.length === 1 ? manifests[0] : undefined;
      if (only) return await putManifest(s, ref.repo, ref.tag, only);
      for (const m of manifests) await putChildManifest(s, ref.repo, m);
      return await putManifest(s, ref.repo, ref.tag, indexOf(req.variants, manifests));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new PushError(
        `failed to export: failed to push ${req.address}: ${msg}`,
        err instanceof PushError ? err.status : undefined,
      );
    }
  }

  async close(): Promise<void> {}
}
