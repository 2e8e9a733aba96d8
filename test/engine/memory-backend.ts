// Rung 3 (engine double): a Backend in memory: content-addressed builds, registries with optional users.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, relative } from "node:path";
import type { Backend, BuildRequest, BuiltImage, PushRequest, RegistryCredential } from "./backend.js";
import { parseImageRef } from "./refs.js";

export interface MemoryRegistryConfig {
  /** username -> password; omit for a registry that accepts anonymous pushes. */
  users?: Record<string, string>;
}

export interface MemoryBackendOptions {
  /** Known registries by host ("reg.local:5000"); pushing elsewhere fails like an unreachable host. */
  registries?: Record<string, MemoryRegistryConfig>;
  /** Platform of builds that do not ask for one. */
  hostPlatform?: string;
  /** The CLI host's docker config by registry host: used for a host the session has no credential for. */
  hostDockerConfig?: Record<string, RegistryCredential>;
}

export interface PushedManifest {
  host: string;
  repository: string;
  tag?: string;
  digest: string;
  /** Canonical manifest: one image, or an index over several. */
  manifest: unknown;
  username?: string;
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** Deterministic digest of a folder: every path, mode kind and content, sorted. */
export function folderDigest(root: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const st = lstatSync(full);
      const rel = relative(root, full);
      if (st.isDirectory()) {
        hash.update(`d ${rel}\0`);
        walk(full);
      } else if (st.isSymbolicLink()) hash.update(`l ${rel} ${readlinkSync(full)}\0`);
      else hash.update(`f ${rel} ${st.mode & 0o111 ? "x" : "-"} ${sha256(readFileSync(full))}\0`);
    }
  };
  walk(root);
  return hash.digest("hex");
}

/** JSON with sorted keys, so equal content always hashes equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export class MemoryBackend implements Backend {
  readonly name = "memory" as const;
  readonly pushed: PushedManifest[] = [];
  readonly builtRequests: Omit<BuildRequest, "secrets">[] = [];
  readonly defaultPlatform: string;
  readonly hostDockerConfig: Readonly<Record<string, RegistryCredential>>;
  private readonly registries: Record<string, MemoryRegistryConfig>;

  constructor(opts: MemoryBackendOptions = {}) {
    this.registries = opts.registries ?? {};
    this.defaultPlatform = opts.hostPlatform ?? "linux/amd64";
    this.hostDockerConfig = opts.hostDockerConfig ?? {};
  }

  async build(req: BuildRequest): Promise<BuiltImage> {
    const platform = req.platform ?? this.defaultPlatform;
    const { secrets, ...rest } = req;
    this.builtRequests.push(rest);
    // Secrets change the build key through a hash only: plaintexts are never stored.
    const key = canonical({
      context: folderDigest(req.contextDir),
      dockerfile: req.dockerfileText,
      platform,
      buildArgs: req.buildArgs,
      target: req.target ?? "",
      secrets: secrets.map((s) => ({ name: s.name, hash: sha256(s.plaintext) })),
    });
    return { image: `sha256:${sha256(key)}`, platform };
  }

  async push(req: PushRequest): Promise<string> {
    const ref = parseImageRef(req.address);
    const registry = this.registries[ref.host];
    // containerd's first request of a push is the existence check of the first blob (pusher.go:113-118).
    const firstBlob = `https://${ref.host}/v2/${ref.repository}/blobs/${req.variants[0]?.image ?? ""}`;
    if (!registry) {
      throw new Error(`failed to do request: Head "${firstBlob}": dial tcp: lookup ${ref.host}: no such host`);
    }
    this.checkAuth(registry, req.auth, firstBlob);
    const manifest = this.manifestFor(req);
    const digest = `sha256:${sha256(canonical(manifest))}`;
    this.pushed.push({
      host: ref.host,
      repository: ref.repository,
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
      digest,
      manifest,
      ...(req.auth ? { username: req.auth.username } : {}),
    });
    return digest;
  }

  async close(): Promise<void> {}

  /** Tags pushed to host/repository, in push order, deduplicated. */
  tags(host: string, repository: string): string[] {
    const tags = this.pushed
      .filter((p) => p.host === host && p.repository === repository)
      .map((p) => p.tag ?? "latest");
    return [...new Set(tags)];
  }

  /** A Basic-auth registry as containerd meets it (authorizer.go:195-210, pusher.go:199-204, resolver.go:735-751). */
  private checkAuth(registry: MemoryRegistryConfig, auth: PushRequest["auth"], firstBlob: string): void {
    if (!registry.users) return;
    if (auth === undefined || auth.username === "" || auth.password === "") {
      throw new Error(
        "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
      );
    }
    if (registry.users[auth.username] !== auth.password) {
      throw new Error(`unexpected status from HEAD request to ${firstBlob}: 401 Unauthorized`);
    }
  }

  /** One variant: an image manifest; several: an index over them, as an OCI push would produce. */
  private manifestFor(req: PushRequest): unknown {
    const images = req.variants.map((v) => ({ image: v.image, platform: v.platform, labels: v.labels }));
    if (images.length === 1) return { mediaType: "application/vnd.oci.image.manifest.v1+json", ...images[0] };
    const sorted = [...images].sort((a, b) => (a.platform < b.platform ? -1 : 1));
    return { mediaType: "application/vnd.oci.image.index.v1+json", manifests: sorted };
  }
}
