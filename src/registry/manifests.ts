/**
 * Manifests and indexes by tag or digest: HEAD, GET and PUT with the OCI and Docker media types, every body's
 * digest checked against the digest asked for and the registry's `Docker-Content-Digest` (a registry that
 * answers other bytes, or stores a PUT under another digest, fails as a mismatch, never retried).
 */
import { InvalidInputError } from "../errors/index.js";
import { algorithmOf, digestOf, digestProblem, mismatch } from "./digest.js";
import { RegistrySession } from "./http.js";
import { checkManifestRef, checkRepository } from "./reference.js";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(", ");

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface Manifest extends ManifestHead {
  bytes: Uint8Array;
}

const isDigestRef = (ref: string) => ref.includes(":");

/** The manifest's media type: its own `mediaType` field, else the Content-Type the registry sent. */
function mediaTypeOf(bytes: Uint8Array, contentType: string | null): string {
  try {
    const field = (JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown }).mediaType;
    if (typeof field === "string" && field) return field;
  } catch {
    // Not JSON: the registry's Content-Type is all there is.
  }
  return (contentType ?? "").split(";")[0]?.trim() ?? "";
}

/** What a HEAD tells about `ref`; undefined when the registry has no such manifest (404). */
export async function headManifest(s: RegistrySession, repository: string, ref: string) {
  checkRepository(repository);
  checkManifestRef(ref);
  const req = { method: "HEAD", repository, path: `manifests/${ref}`, scope: RegistrySession.scope(repository, false) };
  return s.send(
    { ...req, method: "HEAD", headers: { Accept: MANIFEST_ACCEPT }, ok: [200, 404] },
    async (res): Promise<ManifestHead | undefined> => {
      if (res.status === 404) return undefined;
      const digest = res.headers.get("docker-content-digest") ?? (isDigestRef(ref) ? ref : undefined);
      // A registry may leave the digest out of a HEAD by tag: then only the body tells it.
      if (digest === undefined) return (({ bytes: _, ...head }) => head)(await getManifest(s, repository, ref));
      if (isDigestRef(ref) && algorithmOf(digest) === algorithmOf(ref) && digest !== ref)
        throw new Error(mismatch(`HEAD of ${repository}@${ref}`, ref, digest));
      const size = Number(res.headers.get("content-length") ?? "0");
      return { digest, mediaType: (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "", size };
    },
    `HEAD manifest ${repository}:${ref}`,
  );
}

/** The manifest's exact bytes; its digest checked against `ref` (a digest) and the registry's header. */
export async function getManifest(s: RegistrySession, repository: string, ref: string): Promise<Manifest> {
  checkRepository(repository);
  checkManifestRef(ref);
  const scope = RegistrySession.scope(repository, false);
  const what = `GET manifest ${repository}:${ref}`;
  return s.send(
    { method: "GET", repository, path: `manifests/${ref}`, scope, headers: { Accept: MANIFEST_ACCEPT }, ok: [200] },
    async (res) => {
      const bytes = new Uint8Array(await res.arrayBuffer());
      const header = res.headers.get("docker-content-digest");
      for (const expected of [isDigestRef(ref) ? ref : undefined, header ?? undefined]) {
        const problem = expected === undefined ? undefined : digestProblem(bytes, expected, `${repository}:${ref}`);
        if (problem) throw new Error(problem);
      }
      const digest = isDigestRef(ref) ? ref : (header ?? digestOf(bytes));
      return { digest, mediaType: mediaTypeOf(bytes, res.headers.get("content-type")), size: bytes.length, bytes };
    },
    what,
  );
}

/** Stores `bytes` as `ref` (a tag, or their digest); returns the digest, checked against what the registry says. */
export async function putManifest(
  s: RegistrySession,
  repository: string,
  ref: string,
  bytes: Uint8Array,
  mediaType = mediaTypeOf(bytes, null),
): Promise<string> {
  return (await putManifestWithHeaders(s, repository, ref, bytes, mediaType)).digest;
}

export interface PutManifestAnswer {
  digest: string;
  /** The registry's answer headers: `OCI-Subject` says it processed a manifest's `subject` (OCI distribution v1.1). */
  headers: Headers;
}

/** putManifest, also answering the registry's response headers. */
export async function putManifestWithHeaders(
  s: RegistrySession,
  repository: string,
  ref: string,
  bytes: Uint8Array,
  mediaType = mediaTypeOf(bytes, null),
): Promise<PutManifestAnswer> {
  checkRepository(repository);
  checkManifestRef(ref);
  const digest = digestOf(bytes, isDigestRef(ref) ? algorithmOf(ref) : "sha256");
  if (isDigestRef(ref) && digest !== ref)
    throw new InvalidInputError(
      `${mismatch(`the manifest to put as ${ref}`, ref, digest)} (put it by tag or by ${digest})`,
    );
  if (!/^application\/[\w.+-]+$/.test(mediaType)) {
    throw new InvalidInputError(
      `manifest media type "${mediaType}" is not a media type (e.g. "${MEDIA_TYPES.ociManifest}")`,
    );
  }
  const scope = RegistrySession.scope(repository, true);
  return s.send(
    {
      method: "PUT",
      repository,
      path: `manifests/${ref}`,
      scope,
      headers: { "Content-Type": mediaType },
      body: bytes,
      ok: [201],
    },
    async (res) => {
      await res.arrayBuffer();
      const stored = res.headers.get("docker-content-digest");
      if (stored && algorithmOf(stored) === algorithmOf(digest) && stored !== digest)
        throw new Error(mismatch(`the manifest ${repository}:${ref} as stored`, digest, stored));
      return { digest, headers: res.headers };
    },
    `PUT manifest ${repository}:${ref}`,
  );
}
