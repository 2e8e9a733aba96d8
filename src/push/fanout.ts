/**
 * Every tag of a repository but its first, as a manifest PUT of the exact bytes the first push stored: all tags
 * carry one digest and each costs one request, where a Dagger push per tag re-sends the whole image
 * (`Container.publish` always re-assembles manifests). It runs in the module's container, which may not reach a
 * registry the engine reaches (the engine's mirrors, insecure hosts and its own localhost do not apply here):
 * then the caller pushes those tags with Dagger instead.
 */
import { getManifest, putManifest, type Manifest } from "../registry/manifests.js";
import type { RegistrySession } from "../registry/http.js";
import { digestOf, pinnedRef, type PublishTarget } from "./publish.js";

/** Whether a push needs dockyard's registry client, and the repositories it will contact (their auth learnt early). */
export interface ClientReach {
  needed: boolean;
  contacted: { host: string; repository: string }[];
}

/**
 * The client is needed for the read-back, a second tag in any repository, the index rewrite or signing; it
 * contacts every repository for the first three, else only those with a second tag.
 */
export function clientReach(
  req: { verify: boolean; images: readonly { host: string; repository: string; name: string }[] },
  targets: readonly PublishTarget[],
  rewritesIndex: boolean,
  signed: boolean,
): ClientReach {
  const hasTwoTags = (name: string) => targets.filter((t) => t.image.name === name).length > 1;
  const all = req.verify || rewritesIndex || signed;
  const contacted = req.images
    .filter((i) => all || hasTwoTags(i.name))
    .map(({ host, repository }) => ({ host, repository }));
  return { needed: contacted.length > 0, contacted };
}

/** A failure with no HTTP answer (name lookup, connection, TLS, timeout): the module cannot reach the registry. */
export function isUnreachable(message: string): boolean {
  return /failed to do request:/.test(message) && !/unexpected status from/.test(message);
}

/** Thrown when the first push's manifest cannot be read because the registry is out of the module's reach. */
export class UnreachableRegistry extends Error {
  override readonly name = "UnreachableRegistry";
}

export class ManifestFanOut {
  private readonly read = new Map<string, Promise<Manifest>>();
  /** The first read of each digest, whichever repository it came from: a digest names one sequence of bytes. */
  private readonly byDigest = new Map<string, Promise<Manifest>>();

  constructor(private readonly session: (host: string) => RegistrySession) {}

  /** Tags `target` with the manifest its repository's first push (`firstPinned`) stored; returns the pinned ref. */
  async tag(target: PublishTarget, firstPinned: string): Promise<string> {
    const digest = digestOf(firstPinned);
    const manifest = await this.manifest(target, digest);
    const { host, repository } = target.image;
    // Its manifest may have been read from another repository: this PUT is then the first request to its host.
    await unreachableAsSuch(
      putManifest(this.session(host), repository, target.tag, manifest.bytes, manifest.mediaType),
    );
    return pinnedRef(target.ref, digest);
  }

  /** Starts reading the first push's manifest now; the tags, which wait for every repository's first push, reuse it. */
  readAhead(target: PublishTarget, firstPinned: string): void {
    // A failure is the tag's to report: it awaits the same read.
    this.manifest(target, digestOf(firstPinned)).catch(() => undefined);
  }

  /** Hands over a manifest already in hand (the rewritten index), so tagging with it reads nothing. */
  remember(target: PublishTarget, manifest: Manifest): void {
    const known = Promise.resolve(manifest);
    this.read.set(`${target.image.name}@${manifest.digest}`, known);
    if (!this.byDigest.has(manifest.digest)) this.byDigest.set(manifest.digest, known);
  }

  /**
   * The first push's manifest, read once per digest (the body's digest checked): a repository whose first push
   * stored the digest another repository's already did reuses that read, and reads its own only if that one fails.
   */
  private manifest(target: PublishTarget, digest: string): Promise<Manifest> {
    const key = `${target.image.name}@${digest}`;
    let manifest = this.read.get(key);
    if (!manifest) {
      const other = this.byDigest.get(digest);
      manifest = other ? other.catch(() => this.readOwn(target, digest)) : this.readOwn(target, digest);
      this.read.set(key, manifest);
      if (!other) this.byDigest.set(digest, manifest);
    }
    return manifest;
  }

  private readOwn(target: PublishTarget, digest: string): Promise<Manifest> {
    const { host, repository } = target.image;
    return unreachableAsSuch(getManifest(this.session(host), repository, digest));
  }
}

/** A request's failure to reach the registry at all becomes an UnreachableRegistry; any other stays as it is. */
export function unreachableAsSuch<T>(request: Promise<T>): Promise<T> {
  return request.catch((e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    throw isUnreachable(message) ? new UnreachableRegistry(message) : e;
  });
}
