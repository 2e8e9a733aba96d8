/**
 * Registry failures: the registry's own error body (`{"errors":[{"code","message"}]}`, OCI distribution spec
 * "Error Codes") turned into containerd's text form, so src/push/retry.ts classifies a request of ours exactly
 * as it classifies a push; then, once retries are spent, one message that quotes the registry and gives the fix.
 */
import { RegistryError } from "../errors/index.js";
import { maskUrlCredentials } from "../input/index.js";
import { classifyPushError, errorMessage, type PushFailure } from "../push/retry.js";

/** `<code>: <message>` per registry error, codes written as containerd prints them (`NAME_UNKNOWN` → `name unknown`). */
export function registryErrorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
    const lines = (parsed.errors ?? []).map((e) => {
      const code = typeof e.code === "string" ? e.code.toLowerCase().replace(/_/g, " ") : "unknown";
      return typeof e.message === "string" && e.message ? `${code}: ${e.message}` : code;
    });
    if (lines.length) return lines.join("\n");
  } catch {
    // Not JSON: GHCR's secondary rate limit and proxies answer text or HTML.
  }
  return body.replace(/\s+/g, " ").trim().slice(0, 300);
}

/** The status line as containerd writes it, plus the registry's errors and any Retry-After header. */
export function statusText(method: string, url: string, res: Response, body: string): string {
  const retryAfter = res.headers.get("retry-after");
  const said = registryErrorText(body);
  return [
    `unexpected status from ${method} request to ${url}: ${res.status} ${res.statusText}`,
    ...(said ? [said] : []),
    ...(retryAfter && /^\d+$/.test(retryAfter) ? [`retry-after: ${retryAfter}s`] : []),
  ].join("\n");
}

const FIXES: Record<PushFailure["kind"], (host: string, repository: string) => string> = {
  unauthorized: (host) =>
    `the registry refused the credentials or asked for some: check the username and password or token given for ${host}`,
  expired: (host) => `the token has run out: get a fresh one for ${host} and run again`,
  forbidden: (_, repo) => `the credentials are valid but may not do this on ${repo}: give a token with that permission`,
  "missing-repository": (host, repo) => `${host} has no repository ${repo}: check the name, or create it first`,
  "rate-limit": (host) => `${host} kept throttling after every retry: wait a while and run again`,
  "pull-quota": () =>
    "Docker Hub's pull rate limit, which retrying does not lift: authenticate pulls with a Docker Hub token, or pull through a mirror",
  transient: (host) => `${host} failed or did not answer in time after every retry: run again later`,
  fatal: () => "see the registry's answer above",
};

/** The error a caller sees: what was asked, what the registry said (credentials masked), and the fix. */
export function registryError(what: string, host: string, repository: string, cause: unknown): RegistryError {
  const text = errorMessage(cause);
  const failure = classifyPushError(text);
  const fix = /digest mismatch/.test(text)
    ? "the registry served or stored other bytes than asked for: do not trust this ref; check the registry"
    : FIXES[failure.kind](host, repository);
  return new RegistryError(`${what} on ${host}: ${maskUrlCredentials(text).replace(/\n/g, "; ")} (${fix})`, failure);
}
