import { InvalidInputError, PublishError } from "./errors/index.js";
import { parseImageName, type ImageName } from "./image.js";
import { errorMessage } from "./retry.js";

export interface PublishTarget {
  image: ImageName;
  tag: string;
  /** `host/repository:tag`. */
  ref: string;
}

/** Parses every image name, refusing an empty list and the same image twice. */
export function parseImageList(images: string[]): ImageName[] {
  if (images.length === 0) {
    throw new InvalidInputError(`images: give at least one image name (try --images ghcr.io/acme/app)`);
  }
  const parsed = images.map(parseImageName);
  const seen = new Set<string>();
  for (const [i, p] of parsed.entries()) {
    if (seen.has(p.name)) throw new InvalidInputError(`image "${images[i]}": given twice (as ${p.name})`);
    seen.add(p.name);
  }
  return parsed;
}

/** Every image × every tag, images in the order given. */
export function planPublish(images: ImageName[], tags: string[]): PublishTarget[] {
  return images.flatMap((image) => tags.map((tag) => ({ image, tag, ref: `${image.name}:${tag}` })));
}

/** Credentials check: `username` and `password` go together. */
export function checkCredentialPair(username: string | undefined, hasPassword: boolean): void {
  if (username && !hasPassword) {
    throw new InvalidInputError(`username "${username}": also pass --password (e.g. --password env:REGISTRY_TOKEN)`);
  }
  if (!username && hasPassword) {
    throw new InvalidInputError(`password: also pass --username for the registry account`);
  }
}

/**
 * Pushes every target. Each repository gets its first tag alone, then its other tags at once: the first push
 * uploads the blobs, the others only add manifests (concurrent first pushes upload every layer again and race
 * in the registry). Repositories go concurrently. Returns the digest-pinned refs in target order; when any push
 * fails, throws a PublishError listing what was pushed and what was not.
 */
export async function pushAll(
  targets: PublishTarget[],
  push: (target: PublishTarget) => Promise<string>,
): Promise<string[]> {
  // A target with no outcome was never tried: its repository's first push failed.
  const outcomes = new Map<PublishTarget, { value: string } | { reason: string }>();
  const settle = (t: PublishTarget) =>
    push(t).then(
      (value) => void outcomes.set(t, { value }),
      (e: unknown) => void outcomes.set(t, { reason: errorMessage(e) }),
    );
  await Promise.all(
    groupByRepository(targets).map(async ([first, ...rest]) => {
      if (!first) return;
      await settle(first);
      if ("value" in (outcomes.get(first) ?? {})) await Promise.all(rest.map(settle));
    }),
  );
  const pushed: string[] = [];
  const failed: { ref: string; reason: string }[] = [];
  for (const t of targets) {
    const outcome = outcomes.get(t) ?? { reason: SKIPPED };
    if ("value" in outcome) pushed.push(outcome.value);
    else failed.push({ ref: t.ref, reason: outcome.reason });
  }
  if (failed.length === 0) return pushed;
  const lines = [
    `publish failed for ${failed.length} of ${targets.length} refs`,
    ...failed.map((f) => `  not pushed: ${f.ref}: ${f.reason}`),
    ...(pushed.length ? pushed.map((p) => `  pushed: ${p}`) : ["  pushed: none"]),
  ];
  throw new PublishError(
    lines.join("\n"),
    pushed,
    failed.map((f) => f.ref),
  );
}

const SKIPPED = "not tried: the first push to this repository failed";

function groupByRepository(targets: PublishTarget[]): PublishTarget[][] {
  const groups = new Map<string, PublishTarget[]>();
  for (const t of targets) {
    const group = groups.get(t.image.name);
    if (group) group.push(t);
    else groups.set(t.image.name, [t]);
  }
  return [...groups.values()];
}

/** `host/repo:tag@sha256:...` from what `Container.publish` returns (already pinned, or a bare digest). */
export function pinnedRef(ref: string, published: string): string {
  if (published.includes("@sha256:")) return `${ref}@${published.split("@").pop()}`;
  if (published.startsWith("sha256:")) return `${ref}@${published}`;
  return published;
}

/** The message for one failed push: auth failures name the registry and say what to check. */
export function describePushFailure(target: PublishTarget, kind: string, message: string): string {
  if (kind === "auth") {
    return `authentication failed for registry ${target.image.host}: check the username and password given for ${target.image.host} (--username/--password or with-registry-auth) (${message})`;
  }
  return message;
}
