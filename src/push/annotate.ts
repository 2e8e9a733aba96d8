/**
 * Index annotations, which Dagger v0.21 never writes (`ExportRequest.IndexAnnotations` is set by nothing): after
 * an image's first push, its index is read by digest, given the annotations and PUT under the first tag. That is
 * a new index (its children unchanged) with a new digest, which every other tag then carries; the first index
 * stays in the registry, untagged.
 */
import type { KeyValue } from "../input/keyvalue.js";
import { getManifest, putManifest } from "../registry/manifests.js";
import type { RegistrySession } from "../registry/http.js";
import { isIndexType } from "../promote/copy.js";
import { unreachableAsSuch, type ManifestFanOut } from "./fanout.js";
import { digestOf, pinnedRef, type PublishTarget } from "./publish.js";

/**
 * The index's bytes with `annotations` merged into its own (a given key replaces the one it had), every other
 * field, its children included, as it was; undefined when `bytes` is not an index (a single-platform image).
 */
export function annotateIndex(
  bytes: Uint8Array,
  mediaType: string,
  annotations: readonly KeyValue[],
): Uint8Array | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const index = json as Record<string, unknown>;
  if (!isIndexType(mediaType) && !Array.isArray(index.manifests)) return undefined;
  const had = typeof index.annotations === "object" && index.annotations !== null ? index.annotations : {};
  const added = Object.fromEntries(annotations.map(({ name, value }) => [name, value]));
  return Buffer.from(JSON.stringify({ ...index, annotations: { ...had, ...added } }));
}

/** Rewrites each image's pushed index with the annotations, once per repository. */
export class IndexAnnotator {
  constructor(
    private readonly session: (host: string) => RegistrySession,
    private readonly annotations: readonly KeyValue[],
    /** Given the rewritten index, so the other tags are PUT without reading it back. */
    private readonly fanOut?: ManifestFanOut,
  ) {}

  /**
   * `pinned` (the first push of `target`) re-pinned at the annotated index, now under `target.tag`; unchanged
   * when there is nothing to add or the pushed manifest is not an index. UnreachableRegistry when the module's
   * container cannot reach the registry.
   */
  async annotate(target: PublishTarget, pinned: string): Promise<string> {
    if (this.annotations.length === 0) return pinned;
    const { host, repository } = target.image;
    const s = this.session(host);
    const pushed = await unreachableAsSuch(getManifest(s, repository, digestOf(pinned)));
    const bytes = annotateIndex(pushed.bytes, pushed.mediaType, this.annotations);
    if (!bytes) {
      this.fanOut?.remember(target, pushed);
      return pinned;
    }
    const digest = await putManifest(s, repository, target.tag, bytes, pushed.mediaType);
    this.fanOut?.remember(target, { digest, mediaType: pushed.mediaType, size: bytes.length, bytes });
    return pinnedRef(target.ref, digest);
  }
}
