/**
 * How a failed push or registry request is treated: what went wrong, whether another try can help, how long to
 * wait, and whether the registry may hold the ref anyway. Texts are containerd v2.2's pusher as Dagger v0.21
 * surfaces them, with no prefix of Dagger's own (test/fixtures/push-errors.ts; test/engine/CONFORMANCE.md);
 * src/registry writes its failures in the same format, so one classifier serves both
 * (test/fixtures/registry-errors.ts holds the registries' rate-limit texts).
 */
export type PushFailureKind =
  "unauthorized" | "expired" | "forbidden" | "missing-repository" | "rate-limit" | "pull-quota" | "transient" | "fatal";

export interface PushFailure {
  kind: PushFailureKind;
  /** The request may have reached the registry and stored the manifest: the ref's state is unknown. */
  outcomeUnknown: boolean;
  /** HTTP status containerd reported, when it reported one. */
  status?: number;
  /** The wait the registry asked for (GHCR's `retry-after: 10.3ms` in the text, or a Retry-After header). */
  retryAfterMs?: number;
}

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest one attempt may take before it counts as a transient failure whose outcome is unknown. */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRIES = 3;
export const DEFAULT_PUSH_TIMEOUT_SECONDS = 300;

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: DEFAULT_RETRIES,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  attemptTimeoutMs: DEFAULT_PUSH_TIMEOUT_SECONDS * 1000,
};

// containerd: `unexpected status from <METHOD> request to <url>: <code> <reason as the registry sent it>`.
const STATUS = /unexpected status from ([A-Z]+) request to (\S+): (\d{3})\b/;
// containerd: `failed to do request: <Method> "<url>": <net error>`.
const REQUEST = /failed to do request: ([A-Za-z]+) "([^"]+)"/;

// Texts that say more than their status: an expired token (ECR answers 403 "denied: Your authorization token has
// expired"), a repository that does not exist (ECR's 404 NAME_UNKNOWN). Checked before the status code.
// Docker Hub's pull quota is not lifted by retrying; GHCR's secondary rate limit is a 403 that is no permission problem.
const SPECIFIC_PATTERNS: { kind: PushFailureKind; pattern: RegExp }[] = [
  { kind: "pull-quota", pattern: /pull rate limit/i },
  { kind: "rate-limit", pattern: /secondary rate limit/i },
  { kind: "expired", pattern: /token has expired|token is expired|expired token/i },
  { kind: "missing-repository", pattern: /\bname unknown\b|NAME_UNKNOWN|repository with name '[^']*' does not exist/i },
];

// Rows are checked in order, after the status code: a 401 stays a 401 whatever else the text says. A read-only
// token shows as `insufficient_scope: authorization failed`, a permission problem, so "forbidden" goes first.
const TEXT_PATTERNS: { kind: PushFailureKind; pattern: RegExp }[] = [
  { kind: "forbidden", pattern: /\bdenied:|insufficient_scope|requested access to the resource is denied/i },
  {
    kind: "unauthorized",
    pattern:
      /no basic auth credentials|failed to authorize|authorization failed|authentication required|\bunauthorized:/i,
  },
  { kind: "rate-limit", pattern: /\btoomanyrequests\b/i },
  {
    kind: "transient",
    pattern:
      /connection reset by peer|connection refused|broken pipe|: EOF\b|unexpected EOF|i\/o timeout|TLS handshake timeout|timeout awaiting response headers|context deadline exceeded|push timed out|request timed out|\bECONNRESET\b|\bECONNREFUSED\b|\bUND_ERR_SOCKET\b|other side closed/i,
  },
];

function kindOfStatus(status: number): PushFailureKind | undefined {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 429) return "rate-limit";
  if (status === 408 || (status >= 500 && status <= 599)) return "transient";
  return undefined;
}

// containerd's content.Copy wraps the pusher's digest check with the ref of what it pushed (helpers.go:205-211).
const MANIFEST_DIGEST_MISMATCH = /failed commit on ref "(?:manifest|index)-sha256:[0-9a-f]+": got digest /;

const isManifestUrl = (url: string): boolean => /\/manifests\/[^/]+$/.test(url.split("?")[0] ?? "");

/** Classifies an engine's push error text. */
export function classifyPushError(message: string): PushFailure {
  const status = STATUS.exec(message);
  const code = status ? Number(status[3]) : undefined;
  const kind =
    SPECIFIC_PATTERNS.find((row) => row.pattern.test(message))?.kind ??
    (code !== undefined ? kindOfStatus(code) : undefined) ??
    TEXT_PATTERNS.find((row) => row.pattern.test(message))?.kind ??
    "fatal";
  const url = status?.[2] ?? REQUEST.exec(message)?.[2] ?? "";
  const method = (status?.[1] ?? REQUEST.exec(message)?.[1] ?? "").toUpperCase();
  // A manifest PUT that failed after it was sent, or a push we stopped waiting for, may have been stored; a
  // manifest the registry accepted under another digest than the one sent (containerd: "got digest X,
  // expected Y") holds the tag with something dockyard did not send.
  const outcomeUnknown =
    (kind === "transient" && ((method === "PUT" && isManifestUrl(url)) || /push timed out/i.test(message))) ||
    MANIFEST_DIGEST_MISMATCH.test(message);
  const retryAfterMs = kind === "rate-limit" ? parseRetryAfter(message) : undefined;
  return {
    kind,
    outcomeUnknown,
    ...(code !== undefined ? { status: code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000 };

/**
 * The wait in a `retry-after: <Go duration or seconds>` text, in whole ms (rounded up); undefined when absent.
 * GHCR: `toomanyrequests: retry-after: 10.305464ms, allowed: 2000/minute`; a header is written `retry-after: 3s`.
 */
export function parseRetryAfter(message: string): number | undefined {
  const m = /retry-after:\s*((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m)?)+)/i.exec(message);
  if (!m?.[1]) return undefined;
  let ms = 0;
  for (const part of m[1].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m)?/g))
    ms += Number(part[1]) * (DURATION_UNITS[part[2] ?? "s"] ?? 1000);
  return Number.isFinite(ms) ? Math.ceil(ms) : undefined;
}

export function isRetryable(failure: PushFailure): boolean {
  return failure.kind === "rate-limit" || failure.kind === "transient";
}

/**
 * Wait before attempt `attempt` (1 = first retry): the registry's own retry-after when it gave one, else
 * exponential from the base delay; capped either way.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  failure?: PushFailure,
): number {
  const wanted = failure?.retryAfterMs ?? policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(wanted, policy.maxDelayMs);
}

export interface RetryHooks {
  sleep: (ms: number) => Promise<void>;
  /** Starts a timer that rejects after `ms`; returns a cancel function. */
  timer?: (ms: number, onTimeout: () => void) => () => void;
  onRetry?: (attempt: number, delayMs: number, message: string) => void;
  /** An attempt outlived its bound: its request is abandoned, not cancelled (the SDK cannot cancel one). */
  onAbandon?: () => void;
}

export function pushTimeoutMessage(ms: number): string {
  return `push timed out after ${ms / 1000} s (--push-timeout): the registry may or may not hold the ref`;
}

/** Runs one attempt, failing it with a transient, outcome-unknown error when it outlives the policy's bound. */
function bounded<T>(attempt: () => Promise<T>, ms: number, hooks: RetryHooks): Promise<T> {
  const timer = hooks.timer ?? defaultTimer;
  return new Promise<T>((resolve, reject) => {
    const cancel = timer(ms, () => {
      hooks.onAbandon?.();
      reject(new Error(pushTimeoutMessage(ms)));
    });
    attempt().then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e: unknown) => {
        cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function defaultTimer(ms: number, onTimeout: () => void): () => void {
  const t = setTimeout(onTimeout, ms);
  return () => clearTimeout(t);
}

/** Runs `attempt` until it succeeds, fails for good, or `policy.retries` more tries are spent. */
export async function withPushRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  for (let tryNo = 0; ; tryNo++) {
    try {
      return await bounded(attempt, policy.attemptTimeoutMs, hooks);
    } catch (e) {
      const message = errorMessage(e);
      const failure = classifyPushError(message);
      if (tryNo >= policy.retries || !isRetryable(failure)) throw e;
      const delay = retryDelayMs(tryNo + 1, policy, failure);
      hooks.onRetry?.(tryNo + 1, delay, message);
      await hooks.sleep(delay);
    }
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
