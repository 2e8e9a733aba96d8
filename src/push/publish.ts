import { maskUrlCredentials } from "../input/argument.js";
import { PublishError } from "../errors/index.js";
import type { ImageName } from "../input/image.js";
import { classifyPushError, errorMessage, type PushFailure } from "./retry.js";

export interface PublishTarget {
  image: ImageName;
  tag: string;
  /** `host/repository:tag`. */
  ref: string;
}

/** Every image × every tag, images in the order given. */
export function planPublish(images: ImageName[], tags: string[]): PublishTarget[] {
  return images.flatMap((image) => tags.map((tag) => ({ image, tag, ref: `${image.name}:${tag}` })));
}

/** What is known of one target after the pushes. */
export type PushOutcome =
  | { state: "confirmed"; pinned: string }
  | { state: "unknown"; reason: string }
  | { state: "not pushed"; reason: string }
  | { state: "not tried"; reason: string };

export interface PushReport {
  /** Digest-pinned refs the engine confirmed, in target order. */
  confirmed: string[];
  /** Refs the registry may or may not hold: the request may have reached it before it failed. */
  unknown: string[];
  /** Refs that certainly were not pushed (failed before the manifest was sent, or never tried). */
  notPushed: string[];
}

const NOT_TRIED = "not tried: the first push to this repository did not succeed";

/**
 * Pushes every target. Each repository's first tag goes alone (repositories side by side): it uploads the blobs.
 * Once every first push has settled, all other tags go in one burst, each by `tag` given its repository's
 * first pinned ref (by default another push): a publish's moving tags land together, after every upload, so two
 * concurrent publishes rarely leave a mixed tag set. Returns the digest-pinned refs in target order; when any
 * push fails, throws a PublishError that sorts every ref into confirmed, unknown and not pushed.
 */
export async function pushAll<T extends PublishTarget>(
  targets: T[],
  push: (target: T) => Promise<string>,
  /** The function the report names: "publish", "promote". */
  what = "publish",
  tag: (target: T, firstPinned: string) => Promise<string> = push,
): Promise<string[]> {
  const outcomes = new Map<T, PushOutcome>();
  const settle = (t: T, step: () => Promise<string>) =>
    step().then(
      (pinned) => void outcomes.set(t, { state: "confirmed", pinned }),
      (e: unknown) => void outcomes.set(t, failedOutcome(errorMessage(e))),
    );
  const groups = groupByRepository(targets);
  await Promise.all(groups.map(([first]) => first && settle(first, () => push(first))));
  await Promise.all(
    groups.flatMap(([first, ...rest]) => {
      const outcome = first && outcomes.get(first);
      if (outcome?.state !== "confirmed") return [];
      return rest.map((t) => settle(t, () => tag(t, outcome.pinned)));
    }),
  );
  const all = targets.map((t) => ({
    target: t,
    outcome: outcomes.get(t) ?? { state: "not tried", reason: NOT_TRIED },
  }));
  const confirmed = all.flatMap(({ outcome }) => (outcome.state === "confirmed" ? [outcome.pinned] : []));
  if (confirmed.length === targets.length) return confirmed;
  throw new PublishError(formatReport(all, what), {
    confirmed,
    unknown: all.filter((o) => o.outcome.state === "unknown").map((o) => o.target.ref),
    notPushed: all
      .filter((o) => o.outcome.state !== "confirmed" && o.outcome.state !== "unknown")
      .map((o) => o.target.ref),
  });
}

// The reason is reported to the user, so any credentials a URL in it carries are masked first.
function failedOutcome(message: string): PushOutcome {
  const reason = maskUrlCredentials(message);
  return classifyPushError(message).outcomeUnknown ? { state: "unknown", reason } : { state: "not pushed", reason };
}

function formatReport(all: { target: PublishTarget; outcome: PushOutcome }[], what: string): string {
  const count = (state: PushOutcome["state"]) => all.filter((o) => o.outcome.state === state).length;
  const failed = all.length - count("confirmed");
  const unknownNote = count("unknown")
    ? `; ${count("unknown")} unknown: the registry may hold them (re-run the same ${what} to settle them)`
    : "";
  const lines = all.map(({ target, outcome }) =>
    outcome.state === "confirmed"
      ? `  confirmed: ${outcome.pinned}`
      : `  ${outcome.state}: ${target.ref}: ${outcome.reason}`,
  );
  return [`${what} failed for ${failed} of ${all.length} refs${unknownNote}`, ...lines].join("\n");
}

function groupByRepository<T extends PublishTarget>(targets: T[]): T[][] {
  const groups = new Map<string, T[]>();
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

/** The digest part of a pinned ref; "" when it has none. */
export function digestOf(pinned: string): string {
  const at = pinned.lastIndexOf("@");
  return at >= 0 ? pinned.slice(at + 1) : "";
}

/** The message for one failed push: auth failures say whether the credentials were refused or lack permission. */
export function describePushFailure(
  target: PublishTarget,
  failure: PushFailure,
  message: string,
  credentials: "given" | "none",
): string {
  const host = target.image.host;
  if (failure.kind === "unauthorized" && credentials === "none") {
    return `no credentials for registry ${host}: pass --username and --password, or with-registry-auth --address ${host} (${message})`;
  }
  if (failure.kind === "unauthorized") {
    return `registry ${host} refused the credentials (401): check the username and the password or token given for ${host} (--username/--password or with-registry-auth); a token must not have expired; Azure ACR also answers 401 when the identity lacks the AcrPush role (${message})`;
  }
  if (failure.kind === "expired") {
    return `registry ${host} says the token has expired: get a fresh one and run again (an Amazon ECR token from "aws ecr get-login-password" lasts 12 hours; a GitLab job token ends with its job) (${message})`;
  }
  if (failure.kind === "missing-repository") {
    return `registry ${host} has no repository ${target.image.repository}: create it first (Amazon ECR: aws ecr create-repository --repository-name ${target.image.repository}) (${message})`;
  }
  if (failure.kind === "pull-quota") {
    return `registry ${host} answered with Docker Hub's pull rate limit, which retrying does not lift: authenticate pulls (with-registry-auth --address docker.io with a Docker Hub token) or pull base images through a mirror (${message})`;
  }
  if (failure.kind === "forbidden") {
    return `registry ${host} accepted the credentials but denied pushing to ${target.image.repository} (403): the token lacks push permission on that repository — a fork's or Dependabot's pull request token is read-only (build with --push=false there), GHCR needs "packages: write" or a token with write:packages, Amazon ECR needs the repository to exist first (${message})`;
  }
  return message;
}
