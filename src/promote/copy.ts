/**
 * Promotion's effects, on src/registry: read the source manifest by digest (an index with every child, each body's
 * digest checked), bring each target repository the content it lacks (blobs mounted or streamed, then children's
 * manifests by digest, then the index: a registry refuses an index whose children it does not hold), PUT the same
 * bytes under each tag, and HEAD each tag back to confirm it names the source's digest.
 */
import { PublishError } from "../errors/index.js";
import { errorMessage } from "../push/retry.js";
import { pushAll } from "../push/publish.js";
import { copyBlob, getBlob } from "../registry/blobs.js";
import { mismatch } from "../registry/digest.js";
import { RegistrySession } from "../registry/http.js";
import { getManifest, headManifest, MEDIA_TYPES, putManifest } from "../registry/manifests.js";
import type { PublishTarget } from "../push/publish.js";
import { methodFor, type PinnedImage } from "./plan.js";

/** One manifest of the source, with what it needs in a repository before it can be PUT there. */
export interface ManifestNode {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** An index's manifests, in its order. */
  children: ManifestNode[];
  /** An image manifest's config and layers (and any blob an artifact names). */
  blobs: string[];
}

/** An image's platform as an index descriptor carries it, read from the image's config. */
export interface ImagePlatform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
}

export interface SourceImage {
  root: ManifestNode;
  /** `os/arch[/variant]` of each platform image (an index's attestation entries, `unknown/unknown`, left out). */
  platforms: string[];
  /** `os/arch[/variant]=<digest>` of each platform image (an index's children as it names them, or the image). */
  platformDigests: string[];
  /** An image manifest's platform, from its config; undefined for an index or a config without os/architecture. */
  platform?: ImagePlatform;
  /** An image manifest's config labels (string values only); undefined for an index or a config without any. */
  labels?: Record<string, string>;
}

interface DescriptorJson {
  digest?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

interface ManifestJson {
  mediaType?: unknown;
  manifests?: DescriptorJson[];
  config?: DescriptorJson;
  layers?: DescriptorJson[];
}

// An index of indexes is rare (nested attestations); a bound keeps a looping registry from recursing forever.
const MAX_DEPTH = 4;
const MAX_MANIFESTS = 256;

export const isIndexType = (mediaType: string) =>
  mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;

function parseJson(bytes: Uint8Array, what: string): ManifestJson {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as ManifestJson;
  } catch {
    throw new Error(`${what} is not JSON: promote copies OCI and Docker v2 images only`);
  }
}

const digestsOf = (list: DescriptorJson[] | undefined) =>
  (list ?? []).flatMap((d) => (typeof d.digest === "string" ? [d.digest] : []));

/** `os/arch[/variant]`; undefined for none or `unknown/unknown` (an attestation). */
export function platformOf(p: DescriptorJson["platform"]): string | undefined {
  if (typeof p?.os !== "string" || typeof p.architecture !== "string") return undefined;
  if (p.os === "unknown" && p.architecture === "unknown") return undefined;
  return [p.os, p.architecture, ...(typeof p.variant === "string" && p.variant ? [p.variant] : [])].join("/");
}

/** The source image by digest, every child manifest read and checked; its platforms from the index or the config. */
export async function readSource(s: RegistrySession, from: PinnedImage): Promise<SourceImage> {
  let count = 0;
  const read = async (digest: string, depth: number): Promise<{ node: ManifestNode; json: ManifestJson }> => {
    if (++count > MAX_MANIFESTS || depth > MAX_DEPTH)
      throw new Error(`${from.name}@${from.digest}: more than ${MAX_MANIFESTS} manifests or ${MAX_DEPTH} levels`);
    const m = await getManifest(s, from.repository, digest);
    const json = parseJson(m.bytes, `${from.name}@${digest}`);
    const index = isIndexType(m.mediaType) || Array.isArray(json.manifests);
    const children = index
      ? await Promise.all(digestsOf(json.manifests).map(async (d) => (await read(d, depth + 1)).node))
      : [];
    const blobs = index ? [] : [...digestsOf(json.config ? [json.config] : []), ...digestsOf(json.layers)];
    return { node: { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, children, blobs }, json };
  };
  const { node, json } = await read(from.digest, 0);
  if (node.children.length > 0 || Array.isArray(json.manifests)) {
    const named = (json.manifests ?? []).flatMap((d) => {
      const platform = platformOf(d.platform);
      return platform !== undefined && typeof d.digest === "string" ? [{ platform, digest: d.digest }] : [];
    });
    const platforms = named.map((n) => n.platform);
    return { root: node, platforms, platformDigests: named.map((n) => `${n.platform}=${n.digest}`) };
  }
  const config = json.config && typeof json.config.digest === "string" ? json.config.digest : undefined;
  if (!config) return { root: node, platforms: [], platformDigests: [] };
  const body = parseJson(await getBlob(s, from.repository, config), `config ${config}`) as Record<string, unknown>;
  const platform = imagePlatform(body);
  const platforms = [platformOf(platform)].flatMap((p) => p ?? []);
  const labels = imageLabels(body);
  return {
    root: node,
    platforms,
    platformDigests: platforms.map((p) => `${p}=${node.digest}`),
    ...(platform ? { platform } : {}),
    ...(labels ? { labels } : {}),
  };
}

/** An image config's labels (`config.Labels`), string values only; undefined when it has none. */
export function imageLabels(config: Record<string, unknown>): Record<string, string> | undefined {
  const inner = config.config as { Labels?: unknown } | null | undefined;
  const labels = inner?.Labels;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) return undefined;
  const strings = Object.entries(labels as Record<string, unknown>).filter(
    (e): e is [string, string] => typeof e[1] === "string",
  );
  return strings.length > 0 ? Object.fromEntries(strings) : undefined;
}

/** The platform fields of an image config (os, architecture, variant, os.version, os.features), as an index names them. */
export function imagePlatform(config: Record<string, unknown>): ImagePlatform | undefined {
  const text = (key: string) =>
    typeof config[key] === "string" && config[key] !== "" ? (config[key] as string) : undefined;
  const os = text("os");
  const architecture = text("architecture");
  if (os === undefined || architecture === undefined) return undefined;
  const version = text("os.version");
  const variant = text("variant");
  const features = config["os.features"];
  return {
    architecture,
    os,
    ...(version !== undefined ? { "os.version": version } : {}),
    ...(Array.isArray(features) && features.length > 0 && features.every((f) => typeof f === "string")
      ? { "os.features": features as string[] }
      : {}),
    ...(variant !== undefined ? { variant } : {}),
  };
}

export interface PromoteEffects {
  /** The one session for a registry host: source and target on one host share it, so blobs are mounted. */
  session(host: string): RegistrySession;
}

/** One function call's sessions, opened on first use, then the same ones for every later use. */
export type RegistryClient = () => Promise<PromoteEffects>;

/**
 * Brings `node` (children first, then its blobs, then itself by digest) into `repository` on `target`; a manifest
 * the repository already holds is skipped with everything below it.
 */
async function bring(
  node: ManifestNode,
  source: { session: RegistrySession; repository: string },
  target: { session: RegistrySession; repository: string },
): Promise<void> {
  if ((await headManifest(target.session, target.repository, node.digest)) !== undefined) return;
  for (const child of node.children) await bring(child, source, target);
  for (const blob of node.blobs)
    await copyBlob(source.session, source.repository, target.session, target.repository, blob);
  await putManifest(target.session, target.repository, node.digest, node.bytes, node.mediaType);
}

/** Content a target repository must hold before the manifest is PUT: a manifest (and what it names) in `from`'s. */
export interface Content {
  from: PinnedImage;
  node: ManifestNode;
}

/**
 * PUTs `manifest` under every target's tag after bringing each target repository the content it lacks (once per
 * repository, from each content's own repository; nothing from the target's own), then HEADs the tag back: it must
 * name the manifest's digest. Returns each ref pinned by that digest; a failure throws publish's PublishError,
 * every ref sorted into confirmed, unknown and not pushed. `name` is the function reported.
 */
export async function pushToTargets(
  name: string,
  manifest: Pick<ManifestNode, "digest" | "bytes" | "mediaType">,
  contents: Content[],
  targets: PublishTarget[],
  effects: PromoteEffects,
): Promise<string[]> {
  const arrived = new Map<string, Promise<void>>();
  return pushAll(
    targets,
    async (t) => {
      const session = effects.session(t.image.host);
      const repository = t.image.repository;
      let content = arrived.get(t.image.name);
      if (!content) {
        content = (async () => {
          for (const c of contents.filter((c) => methodFor(c.from, t.image) !== "tag"))
            await bring(
              c.node,
              { session: effects.session(c.from.host), repository: c.from.repository },
              {
                session,
                repository,
              },
            );
        })();
        arrived.set(t.image.name, content);
      }
      await content;
      await putManifest(session, repository, t.tag, manifest.bytes, manifest.mediaType);
      const head = await headManifest(session, repository, t.tag);
      if (head?.digest !== manifest.digest)
        throw new Error(mismatch(`${t.ref} as read back`, manifest.digest, head?.digest ?? "nothing"));
      return `${t.ref}@${head.digest}`;
    },
    name,
  );
}

/** Reads every image in `from` (each by digest); any failure throws publish's PublishError: nothing was pushed. */
export async function readSources(
  name: string,
  from: PinnedImage[],
  targets: PublishTarget[],
  effects: PromoteEffects,
): Promise<SourceImage[]> {
  return Promise.all(
    from.map((f) =>
      readSource(effects.session(f.host), f).catch((e: unknown) => {
        throw new PublishError(
          `${name} could not read ${f.name}@${f.digest}, so it pushed nothing: ${errorMessage(e)}`,
          {
            confirmed: [],
            unknown: [],
            notPushed: targets.map((t) => t.ref),
          },
        );
      }),
    ),
  );
}

/**
 * Promotes `from` to every target; returns the source (digest, platforms) and each target's ref pinned by the
 * digest its registry answered. Each repository's first tag goes alone (its content arrives once), the others
 * follow.
 */
export async function promoteAll(
  from: PinnedImage,
  targets: PublishTarget[],
  effects: PromoteEffects,
): Promise<{ source: SourceImage; refs: string[] }> {
  const [source] = await readSources("promote", [from], targets, effects);
  const refs = await pushToTargets("promote", source!.root, [{ from, node: source!.root }], targets, effects);
  return { source: source!, refs };
}
