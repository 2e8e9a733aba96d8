/** How a failed push should be treated. */
export type PushFailureKind = "auth" | "rate-limit" | "transient" | "fatal";

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000 };

// Rows are checked in order: an auth failure stays an auth failure whatever else the text says.
// Statuses are matched with their reason phrase ("503 Service Unavailable", as Go prints resp.Status),
// so a tag or port holding "503" is not mistaken for one. Texts: test/fixtures/push-errors.ts.
const FAILURE_PATTERNS: { kind: PushFailureKind; pattern: RegExp }[] = [
  {
    kind: "auth",
    pattern:
      /\b401 Unauthorized\b|\b403 Forbidden\b|no basic auth credentials|authorization failed|failed to authorize|access (?:to the resource )?(?:is )?denied|push access denied|authentication required|\bunauthorized:/i,
  },
  { kind: "rate-limit", pattern: /\b429 Too Many Requests\b|\btoomanyrequests\b|rate limit exceeded/i },
  {
    kind: "transient",
    pattern:
      /\b(?:408 Request Timeout|500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)\b|connection reset by peer|connection refused|broken pipe|: EOF\b|unexpected EOF|i\/o timeout|TLS handshake timeout|timeout awaiting response headers/i,
  },
];

/** Classifies an engine's push error text: only rate limits and transient faults are worth another try. */
export function classifyPushError(message: string): PushFailureKind {
  return FAILURE_PATTERNS.find((row) => row.pattern.test(message))?.kind ?? "fatal";
}

export function isTransientPushError(message: string): boolean {
  const kind = classifyPushError(message);
  return kind === "rate-limit" || kind === "transient";
}

/**
 * A `Retry-After` the error text carries, in ms from `now`: seconds, or a date as containerd 2.x prints it
 * (`(Retry-After: 2026-11-25T01:02:03Z)`); undefined when absent.
 */
export function retryAfterMs(message: string, now: number = Date.now()): number | undefined {
  const m = /retry-after:?\s*([^)\n]+)/i.exec(message);
  const value = m?.[1]?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Wait before attempt `attempt` (1 = first retry): Retry-After when given, else exponential, capped. */
export function retryDelayMs(
  attempt: number,
  message: string,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  now: number = Date.now(),
): number {
  const hinted = retryAfterMs(message, now);
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(hinted ?? backoff, policy.maxDelayMs);
}

export interface RetryHooks {
  sleep: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number, message: string) => void;
}

/** Runs `attempt` until it succeeds, fails for good, or `policy.retries` more tries are spent. */
export async function withPushRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  for (let tryNo = 0; ; tryNo++) {
    try {
      return await attempt();
    } catch (e) {
      const message = errorMessage(e);
      if (tryNo >= policy.retries || !isTransientPushError(message)) throw e;
      const delay = retryDelayMs(tryNo + 1, message, policy);
      hooks.onRetry?.(tryNo + 1, delay, message);
      await hooks.sleep(delay);
    }
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
