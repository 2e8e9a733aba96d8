/**
 * What refers to a manifest (its `subject`): the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`,
 * `artifactType` filter, OCI distribution spec v1.1 "Listing Referrers"), and where a registry answers 404
 * (distribution 2.8 and 3.x have no such API) the spec's "Referrers Tag Schema": an index tagged `<alg>-<hex>`.
 */
import { checkDigest, checkRepository } from "./reference.js";
import { RegistrySession } from "./http.js";
import { getManifest, headManifest, MEDIA_TYPES } from "./manifests.js";
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
