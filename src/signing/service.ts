/**
 * One JSON request to a Sigstore service (Fulcio, Rekor): bounded, retried by src/push/retry.ts's policy on
 * 5xx, 429 and network failures, and failed with a SigningError that names the service, its status and its
 * message (the OIDC token masked), and the fix.
 */
import { InvalidInputError, SigningError } from "../errors/index.js";
import { DEFAULT_RETRY_POLICY, errorMessage, withPushRetry, type RetryPolicy } from "../push/retry.js";
import { maskToken } from "./oidc.js";

export type Service = "Fulcio" | "Rekor";

export interface ServiceOptions {
  fetch?: typeof fetch;
  policy?: RetryPolicy;
  /** Waits between retries; tests pass one that records instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

/** Sigstore answers in seconds; an attempt that takes a minute has failed. */
export const SIGNING_RETRY_POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attemptTimeoutMs: 60_000 };

export interface ServiceAnswer {
  status: number;
  headers: Headers;
  json: unknown;
}

/** A failed attempt: its text in containerd's form, so the shared classifier decides whether to retry it. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly said?: string,
  ) {
    super(message);
  }
}

/** The service's base address, checked before any request; `flag` names the argument in the error. */
export function serviceBase(url: string, flag: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`${flag} "${url}": not a URL; give the service's address, e.g. https://host`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new InvalidInputError(`${flag} "${url}": not an http(s) URL; give the service's https address`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new InvalidInputError(`${flag}: give the bare address, without credentials, query or fragment`);
  return parsed.toString().replace(/\/+$/, "");
}

/** The message in a service's error body: grpc-gateway's and go-swagger's `{"code","message"}`, or its text. */
export function serviceMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown };
    if (typeof parsed.message === "string") return parsed.message.slice(0, 300);
    if (typeof parsed.error === "string") return parsed.error.slice(0, 300);
  } catch {
    // Not JSON: proxies and mocks answer text.
  }
  return body.replace(/\s+/g, " ").trim().slice(0, 300);
}

const FIXES: Record<Service, (status: number | undefined, flag: string) => string> = {
  Fulcio: (status, flag) =>
    status === 401 || status === 403
      ? "Fulcio did not accept the OIDC token: mint a fresh one with audience sigstore in the same job"
      : status === 400
        ? `Fulcio could not certify this token: check that its audience is sigstore and that the Fulcio at ${flag} trusts its issuer`
        : status === 404
          ? `no Fulcio v2 API there: ${flag} takes the base address, e.g. https://fulcio.sigstore.dev`
          : `Fulcio failed or did not answer after every retry: run again later, or check ${flag}`,
  Rekor: (status, flag) =>
    status === 401 || status === 403
      ? `Rekor refused to log the entry: check ${flag} (a private Rekor may need access of its own)`
      : status === 400 || status === 422
        ? `Rekor refused the dsse entry: check that ${flag} is a Rekor v1 log that takes dsse 0.0.1 entries`
        : status === 404
          ? `no Rekor v1 API there: ${flag} takes the base address, e.g. https://rekor.sigstore.dev`
          : `Rekor failed or did not answer after every retry: run again later, or check ${flag}`,
};

/** The SigningError a caller sees for `service`'s failure to do `what`. */
export function signingError(
  service: Service,
  what: string,
  flag: string,
  token: string,
  status: number | undefined,
  said: string,
): SigningError {
  const answer = status === undefined ? said : `${status}${said ? ` ${JSON.stringify(said)}` : ""}`;
  return new SigningError(
    maskToken(`${service} failed to ${what}: ${answer} (${FIXES[service](status, flag)})`, token),
    service,
    status,
  );
}

/**
 * Sends `method url` with a JSON body (or none) and returns the parsed answer when its status is in `ok`.
 * `token` is only masked out of errors here; the caller puts it in the body where the service needs it.
 */
export async function callService(
  service: Service,
  what: string,
  flag: string,
  token: string,
  req: { method: "GET" | "POST"; url: string; body?: unknown; ok: number[] },
  options: ServiceOptions = {},
): Promise<ServiceAnswer> {
  const policy = options.policy ?? SIGNING_RETRY_POLICY;
  const doFetch = options.fetch ?? fetch;
  const attempt = async (): Promise<ServiceAnswer> => {
    let res: Response;
    let text: string;
    try {
      res = await doFetch(req.url, {
        method: req.method,
        headers: {
          Accept: "application/json",
          ...(req.body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal: AbortSignal.timeout(policy.attemptTimeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
      const why =
        e instanceof Error && /^(TimeoutError|AbortError)$/.test(e.name)
          ? `request timed out after ${policy.attemptTimeoutMs / 1000} s`
          : (cause?.code ?? cause?.message ?? errorMessage(e));
      throw new AttemptFailure(`failed to do request: ${req.method} "${req.url}": ${why}`, undefined, why);
    }
    if (!req.ok.includes(res.status))
      throw new AttemptFailure(
        `unexpected status from ${req.method} request to ${req.url}: ${res.status} ${res.statusText}\n${text}`,
        res.status,
        serviceMessage(text),
      );
    try {
      return {
        status: res.status,
        headers: res.headers,
        json: text === "" ? undefined : (JSON.parse(text) as unknown),
      };
    } catch {
      throw new AttemptFailure(
        `${service} answered ${res.status} with a body that is not JSON`,
        res.status,
        "its answer is not JSON",
      );
    }
  };
  try {
    return await withPushRetry(attempt, policy, {
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      // Each fetch is bounded by its own AbortSignal, which cancels it; the retry loop's timer would only abandon it.
      timer: () => () => undefined,
    });
  } catch (e) {
    if (e instanceof AttemptFailure) throw signingError(service, what, flag, token, e.status, e.said ?? e.message);
    throw signingError(service, what, flag, token, undefined, errorMessage(e));
  }
}
