// Rung 3 (engine double): a Backend in memory: content-addressed builds, registries with optional users, each
// served on loopback HTTP (memory-registry.ts) so the module's own registry client reads what the engine pushed.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, relative } from "node:path";
import {
  annotationsField,
  type Backend,
  type BuildRequest,
  type BuiltImage,
  type ExecResult,
  type PushRequest,
  type PushVariant,
  type RegistryCredential,
} from "./backend.js";
import { MemoryRegistry } from "./memory-registry.js";
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
  /** The pushed manifest as stored: one image, or an index over several. */
  manifest: unknown;
  /** Each platform's image config labels, in the manifest's order (empty for a tag written over HTTP). */
  labels: Record<string, string>[];
  username?: string;
  /** "engine": Container.publish; "http": a manifest PUT by tag from the module's own registry client. */
  via: "engine" | "http";
}

const MT = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

interface PushedImage {
  platform: string;
  annotations: Record<string, string>;
  manifest: Buffer;
  digest: string;
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
  /** Every tag written, by the engine's pushes or over HTTP, in order. */
  readonly pushed: PushedManifest[] = [];
  readonly builtRequests: Omit<BuildRequest, "secrets">[] = [];
  readonly defaultPlatform: string;
  readonly hostDockerConfig: Readonly<Record<string, RegistryCredential>>;
  private readonly registries: Record<string, MemoryRegistryConfig>;
  private readonly served = new Map<string, MemoryRegistry>();

  constructor(opts: MemoryBackendOptions = {}) {
    this.registries = opts.registries ?? {};
    for (const [host, config] of Object.entries(this.registries)) {
      const served = new MemoryRegistry(host, config.users, (w) => {
        const manifest = served.manifest(w.repository, w.digest);
        this.pushed.push({
          host,
          ...w,
          manifest: manifest ? (JSON.parse(manifest.bytes.toString("utf8")) as unknown) : undefined,
          labels: [],
          via: "http",
        });
      });
      this.served.set(host, served);
    }
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
    const served = this.registry(ref.host);
    // Dagger pushes the platforms sorted (engine/engineutil/containerimage.go:67-69): blobs, children by digest, root by tag.
    const variants = [...req.variants].sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0));
    const images = variants.map((v) => this.pushImage(served, ref.repository, v));
    const tag = ref.tag ?? "latest";
    let root: Buffer;
    if (images.length === 1) root = images[0]!.manifest;
    else {
      for (const image of images) served.putManifest(ref.repository, image.digest, MT.manifest, image.manifest);
      const manifests = images.map((i) => ({
        mediaType: MT.manifest,
        digest: i.digest,
        size: i.manifest.length,
        ...annotationsField(i.annotations),
        platform: platformParts(i.platform),
      }));
      root = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.index, manifests }));
    }
    const digest = served.putManifest(ref.repository, tag, images.length === 1 ? MT.manifest : MT.index, root);
    this.pushed.push({
      host: ref.host,
      repository: ref.repository,
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
      digest,
      manifest: JSON.parse(root.toString("utf8")) as unknown,
      labels: variants.map((v) => v.labels),
      ...(req.auth ? { username: req.auth.username } : {}),
      via: "engine",
    });
    return digest;
  }

  /** The registry served for a host given in the options. */
  registry(host: string): MemoryRegistry {
    const served = this.served.get(host);
    if (!served) throw new Error(`engine double: no memory registry for ${host}`);
    return served;
  }

  /**
   * What the module's container reaches by name: each registry's host (and Docker Hub's API host for docker.io,
   * src/registry/reference.ts) to its loopback address. Starts the servers on first use.
   */
  async moduleNetwork(): Promise<Record<string, string>> {
    const network: Record<string, string> = {};
    for (const [host, served] of this.served) {
      const address = await served.listen();
      network[host] = address;
      if (host === "docker.io") network["registry-1.docker.io"] = address;
    }
    return network;
  }

  // Images, tarballs and processes need real files: the docker backend models them (CONFORMANCE R29).
  image(address: string): Promise<BuiltImage> {
    return Promise.reject(
      new Error(`engine double: Container.from(${JSON.stringify(address)}) on the memory backend is not modelled`),
    );
  }

  tarball(): Promise<string> {
    return Promise.reject(new Error("engine double: Container.asTarball on the memory backend is not modelled"));
  }

  exec(): Promise<ExecResult> {
    return Promise.reject(new Error("engine double: Container.withExec on the memory backend is not modelled"));
  }

  async close(): Promise<void> {
    await Promise.all([...this.served.values()].map((r) => r.close()));
  }

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

  /**
   * One platform's blobs and image manifest: a config holding the labels, as Dagger writes them into the image
   * config at publish, and one layer standing for the built filesystem (its bytes name the build, not a real tar).
   */
  private pushImage(served: MemoryRegistry, repository: string, v: PushVariant): PushedImage {
    const layer = Buffer.from(`memory backend layer of ${v.image}\n`);
    const parts = platformParts(v.platform);
    const config = Buffer.from(
      JSON.stringify({
        ...parts,
        config: Object.keys(v.labels).length > 0 ? { Labels: v.labels } : {},
        rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`] },
      }),
    );
    const layerDigest = served.putBlob(repository, layer);
    const configDigest = served.putBlob(repository, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.manifest,
        config: { mediaType: MT.config, digest: configDigest, size: config.length },
        layers: [{ mediaType: MT.layer, digest: layerDigest, size: layer.length }],
        ...annotationsField(v.annotations),
      }),
    );
    return { platform: v.platform, annotations: v.annotations ?? {}, manifest, digest: `sha256:${sha256(manifest)}` };
  }
}

/** "os/arch[/variant]" as an OCI platform object. */
function platformParts(platform: string): { os: string; architecture: string; variant?: string } {
  const [os = "linux", architecture = "amd64", variant] = platform.split("/");
  return variant ? { os, architecture, variant } : { os, architecture };
}
