/**
 * What refers to a manifest (its `subject`): the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`,
 * `artifactType` filter, OCI distribution spec v1.1 "Listing Referrers"), and where a registry answers 404
 * (distribution 2.8 and 3.x have no such API) the spec's "Referrers Tag Schema": an index tagged `<alg>-<hex>`.
 * Writing one (attachReferrer): an artifact manifest with `subject` ("Pushing Manifests with Subject"), and the
 * fallback index updated when the registry does not answer `OCI-Subject`.
 */
import { InvalidInputError } from "../errors/index.js";
import { pushBlob } from "./blobs.js";
import { digestOf } from "./digest.js";
import { checkDigest, checkRepository } from "./reference.js";
import { RegistrySession } from "./http.js";
import { getManifest, headManifest, MEDIA_TYPES, putManifest, putManifestWithHeaders } from "./manifests.js";
import { nextLink } from "./tags.js";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface Referrers {
  descriptors: Descriptor[];
  /** "api": the registry's referrers API; "tag-schema": its fallback tag (or none, when the tag is absent). */
  source: "api" | "tag-schema";
}

/** The fallback tag for `digest`: `sha256:ab…` → `sha256-ab…`, cut to a tag's 128 characters. */
export function referrersTag(digest: string): string {
  return checkDigest(digest).replace(":", "-").slice(0, 128);
}

function descriptorsOf(body: string): Descriptor[] {
  const index = JSON.parse(body) as { manifests?: unknown };
  return Array.isArray(index.manifests) ? (index.manifests as Descriptor[]) : [];
}

export async function listReferrers(
  s: RegistrySession,
  repository: string,
  digest: string,
  artifactType?: string,
): Promise<Referrers> {
  checkRepository(repository);
  checkDigest(digest);
  const scope = RegistrySession.scope(repository, false);
  const query = artifactType ? `?${new URLSearchParams({ artifactType }).toString()}` : "";
  const keep = (d: Descriptor) => artifactType === undefined || d.artifactType === artifactType;
  const found: Descriptor[] = [];
  let path: string | undefined = `referrers/${digest}${query}`;
  for (let page = 0; path !== undefined && page < 1000; page++) {
    const answer: { list: Descriptor[]; next?: string } | undefined = await s.send(
      { method: "GET", repository, path, scope, headers: { Accept: MEDIA_TYPES.ociIndex }, ok: [200, 404] },
      async (res) => {
        const body = await res.text();
        if (res.status === 404) return undefined;
        const next = nextLink(res.headers.get("link"));
        return { list: descriptorsOf(body), ...(next !== undefined ? { next } : {}) };
      },
      `list referrers of ${repository}@${digest}`,
    );
    if (answer === undefined) {
      if (page > 0) break;
      return { descriptors: await fallback(s, repository, digest, keep), source: "tag-schema" };
    }
    found.push(...answer.list);
    path = answer.next;
  }
  // A registry that applied the filter says so (OCI-Filters-Applied); filtering again is harmless either way.
  return { descriptors: found.filter(keep), source: "api" };
}

async function fallback(s: RegistrySession, repository: string, digest: string, keep: (d: Descriptor) => boolean) {
  const tag = referrersTag(digest);
  if ((await headManifest(s, repository, tag)) === undefined) return [];
  const index = await getManifest(s, repository, tag);
  return descriptorsOf(Buffer.from(index.bytes).toString("utf8")).filter(keep);
}

/** The OCI empty descriptor's media type and bytes (image-spec v1.1 "Guidance for an Empty Descriptor"). */
export const EMPTY_CONFIG = { mediaType: "application/vnd.oci.empty.v1+json", bytes: new TextEncoder().encode("{}") };

export interface ReferrerArtifact {
  artifactType: string;
  blob: { mediaType: string; bytes: Uint8Array };
  annotations?: Record<string, string>;
}

export interface AttachedReferrer {
  digest: string;
  size: number;
  mediaType: string;
  artifactType: string;
  /** the fallback tag written, when the registry has no referrers API */
  fallbackTag?: string;
}

const MEDIA_TYPE = /^[a-z0-9][\w.+-]*\/[\w.+-]+$/i;

function checkMediaType(mediaType: string, what: string): void {
  if (!MEDIA_TYPE.test(mediaType))
    throw new InvalidInputError(`${what} "${mediaType}" is not a media type (e.g. "${MEDIA_TYPES.ociManifest}")`);
}

/**
 * The artifact manifest's exact bytes: an OCI image manifest whose config is the empty descriptor, whose one layer
 * is the artifact's blob and whose `subject` is the image (image-spec v1.1 "Guidelines for Artifact Usage").
 */
export function referrerManifest(
  subject: Descriptor,
  artifact: ReferrerArtifact,
  config: Descriptor,
  layer: Descriptor,
): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: artifact.artifactType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(artifact.annotations && Object.keys(artifact.annotations).length ? { annotations: artifact.annotations } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/**
 * The fallback index with `descriptor` added: a new OCI index when there is none, undefined when it lists that
 * digest already (nothing to write); other descriptors and the index's own fields are kept.
 */
export function mergeReferrersIndex(existing: Uint8Array | undefined, descriptor: Descriptor): Uint8Array | undefined {
  const index: Record<string, unknown> =
    existing === undefined
      ? { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }
      : (JSON.parse(Buffer.from(existing).toString("utf8")) as Record<string, unknown>);
  if (index.mediaType !== undefined && index.mediaType !== MEDIA_TYPES.ociIndex)
    throw new Error(`the referrers tag holds a ${String(index.mediaType)}, not an OCI index; delete or move that tag`);
  const manifests = Array.isArray(index.manifests) ? (index.manifests as Descriptor[]) : [];
  if (manifests.some((d) => d.digest === descriptor.digest)) return undefined;
  return new TextEncoder().encode(JSON.stringify({ ...index, manifests: [...manifests, descriptor] }));
}

/**
 * Attaches `artifact` to `subject` (an image or index of `repository`) as an OCI 1.1 referrer: the empty config
 * and the blob, then the artifact manifest by digest; where the registry does not answer `OCI-Subject` with the
 * subject's digest, the artifact is added to the `<alg>-<hex>` fallback index as well.
 */
export async function attachReferrer(
  s: RegistrySession,
  repository: string,
  subject: { digest: string; mediaType: string; size: number },
  artifact: ReferrerArtifact,
): Promise<AttachedReferrer> {
  checkRepository(repository);
  checkDigest(subject.digest);
  checkMediaType(subject.mediaType, "subject media type");
  if (!(Number.isInteger(subject.size) && subject.size > 0))
    throw new InvalidInputError(`subject size ${subject.size}: give the manifest's size in bytes (above 0)`);
  checkMediaType(artifact.artifactType, "artifact type");
  checkMediaType(artifact.blob.mediaType, "artifact blob media type");
  const config = { mediaType: EMPTY_CONFIG.mediaType, ...(await pushBlob(s, repository, EMPTY_CONFIG.bytes)) };
  const layer = { mediaType: artifact.blob.mediaType, ...(await pushBlob(s, repository, artifact.blob.bytes)) };
  const bytes = referrerManifest(subject, artifact, config, layer);
  const put = await putManifestWithHeaders(s, repository, digestOf(bytes), bytes, MEDIA_TYPES.ociManifest);
  const attached: AttachedReferrer = {
    digest: put.digest,
    size: bytes.length,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: artifact.artifactType,
  };
  if (put.headers.get("oci-subject") === subject.digest) return attached;
  const tag = referrersTag(subject.digest);
  const existing = (await headManifest(s, repository, tag)) ? (await getManifest(s, repository, tag)).bytes : undefined;
  const descriptor: Descriptor = {
    mediaType: attached.mediaType,
    digest: attached.digest,
    size: attached.size,
    artifactType: attached.artifactType,
    ...(artifact.annotations && Object.keys(artifact.annotations).length ? { annotations: artifact.annotations } : {}),
  };
  // Read-modify-write: two writers racing on one subject can drop each other's entry (the spec has no lock).
  const merged = mergeReferrersIndex(existing, descriptor);
  if (merged !== undefined) await putManifest(s, repository, tag, merged, MEDIA_TYPES.ociIndex);
  return { ...attached, fallbackTag: tag };
}
