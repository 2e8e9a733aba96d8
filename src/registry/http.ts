/**
 * One registry host as a session: every request authenticated (Basic, or a Bearer token per scope fetched on
 * the registry's challenge and cached), bounded by the policy's timeout, retried by src/push/retry.ts's policy
 * (honouring a registry's retry-after), and failed with a RegistryError that quotes the registry and gives the
 * fix. It runs in the module's container: the engine's registry mirrors and insecure hosts do not apply here.
 */
import { DEFAULT_RETRY_POLICY, withPushRetry, type RetryHooks, type RetryPolicy } from "../push/retry.js";
import {
  basicAuthorization,
  parseChallenges,
  parseTokenAnswer,
  TokenCache,
  tokenUrl,
  type Credentials,
} from "./auth.js";
import { registryError, statusText } from "./errors.js";
import { checkRepository, registryBaseUrl } from "./reference.js";

export interface SessionOptions {
  /** The registry host as image references write it: "ghcr.io", "docker.io", "127.0.0.1:5000". */
  host: string;
  credentials?: Credentials;
  /** Speak http, not https (a loopback test registry). */
  plainHttp?: boolean;
  policy?: RetryPolicy;
  /** Waits between retries; tests pass one that records instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  onRetry?: RetryHooks["onRetry"];
  fetch?: typeof fetch;
  now?: () => number;
}

export interface RegistryRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  repository: string;
  /** After `/v2/<repository>/`, or a whole URL on this registry (an upload Location, a Link). */
  path: string;
  /** Scope actions; a mount adds `repository:<from>:pull`. */
  scope: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
  /** Statuses that are answers, not failures. */
  ok: number[];
}

export class RegistrySession {
  readonly baseUrl: string;
  readonly policy: RetryPolicy;
  private readonly tokens: TokenCache;
  private basic = false;
  private readonly preparing = new Map<string, Promise<void>>();

  constructor(readonly options: SessionOptions) {
    this.baseUrl = registryBaseUrl(options.host, options.plainHttp);
    this.policy = options.policy ?? DEFAULT_RETRY_POLICY;
    this.tokens = new TokenCache(options.now);
  }

  get host(): string {
    return this.options.host;
  }

  /** `<repository>`'s pull or pull,push scope, as the token spec writes it. */
  static scope(repository: string, push: boolean): string {
    return `repository:${repository}:${push ? "pull,push" : "pull"}`;
  }

  /** The URL of `path`; a whole URL must stay on this registry (credentials never go elsewhere). */
  url(repository: string, path: string): string {
    const url = new URL(path, `${this.baseUrl}/v2/${checkRepository(repository)}/`);
    if (url.origin !== new URL(this.baseUrl).origin)
      throw new Error(`registry ${this.host} pointed to another host (${url.origin}); not followed`);
    return url.toString();
  }

  /**
   * Sends the request and reads its answer with `read`, both inside one bounded, retried attempt. A streamed body
   * is sent once: it cannot be replayed, so neither retried nor re-sent after a challenge.
   */
  async send<T>(req: RegistryRequest, read: (res: Response) => Promise<T>, what: string): Promise<T> {
    const url = this.url(req.repository, req.path);
    const streamed = req.body instanceof ReadableStream;
    const policy = streamed ? { ...this.policy, retries: 0 } : this.policy;
    try {
      return await withPushRetry(() => this.attempt(req, url, read), policy, {
        sleep: this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        // Each fetch is bounded by its own AbortSignal, which cancels it; the retry loop's timer would only abandon it.
        timer: () => () => undefined,
        ...(this.options.onRetry ? { onRetry: this.options.onRetry } : {}),
      });
    } catch (e) {
      throw registryError(what, this.host, req.repository, e);
    }
  }

  /**
   * Learns the registry's auth before the first real request needs it (Basic, or a Bearer token for the
   * repository's pull,push scope), so that this round trip, and a fresh process's first fetch, overlap a push.
   * Best effort: a failure here is left for the real request to report.
   */
  async prepare(repository: string): Promise<void> {
    const scope = RegistrySession.scope(checkRepository(repository), true);
    if (this.authorization(scope)) return;
    // One round trip per scope even when asked again while it is in flight.
    let learning = this.preparing.get(scope);
    if (!learning) {
      learning = this.learnAuth(scope).finally(() => this.preparing.delete(scope));
      this.preparing.set(scope, learning);
    }
    return learning;
  }

  private async learnAuth(scope: string): Promise<void> {
    const signal = AbortSignal.timeout(this.policy.attemptTimeoutMs);
    const url = `${this.baseUrl}/v2/`;
    const res = await this.guard("GET", url, () => (this.options.fetch ?? fetch)(url, { signal }));
    await this.guard("GET", url, () => res.arrayBuffer());
    if (res.status === 401) await this.answerChallenge(res, scope, signal, false);
  }

  private async attempt<T>(req: RegistryRequest, url: string, read: (res: Response) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.policy.attemptTimeoutMs);
    const sent = this.authorization(req.scope);
    let res = await this.fetchOnce(req, url, signal, sent);
    if (res.status === 401 && !(req.body instanceof ReadableStream)) {
      const authorization = await this.answerChallenge(res, req.scope, signal, sent?.startsWith("Basic ") ?? false);
      if (authorization) {
        await this.guard(req.method, url, () => res.arrayBuffer());
        res = await this.fetchOnce(req, url, signal, authorization);
      }
    }
    if (!req.ok.includes(res.status)) {
      const body = await this.guard(req.method, url, () => res.text());
      throw new Error(statusText(req.method, url, res, body));
    }
    return this.guard(req.method, url, () => read(res));
  }

  private authorization(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return `Bearer ${token}`;
    return this.basic && this.options.credentials ? basicAuthorization(this.options.credentials) : undefined;
  }

  /** The Authorization header the 401's challenge asks for; undefined when none can be given (the 401 stands). */
  private async answerChallenge(
    res: Response,
    scope: string,
    signal: AbortSignal,
    sentBasic: boolean,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(res.headers.get("www-authenticate") ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const credentials = this.options.credentials;
    if (!bearer) {
      // Refused only when this request carried Basic: a concurrent first request may have switched it on meanwhile.
      if (!challenges.some((c) => c.scheme === "basic") || !credentials || sentBasic) return undefined;
      this.basic = true;
      return basicAuthorization(credentials);
    }
    const url = tokenUrl(bearer, scope);
    const answer = await this.guard("GET", url, () =>
      (this.options.fetch ?? fetch)(url, {
        headers: credentials ? { Authorization: basicAuthorization(credentials) } : {},
        signal,
      }),
    );
    const body = await this.guard("GET", url, () => answer.text());
    if (!answer.ok) throw new Error(statusText("GET", url, answer, body));
    const { token, expiresInS } = parseTokenAnswer(body);
    this.tokens.set(scope, token, expiresInS);
    return `Bearer ${token}`;
  }

  private fetchOnce(req: RegistryRequest, url: string, signal: AbortSignal, authorization?: string) {
    const headers = { ...req.headers, ...(authorization ? { Authorization: authorization } : {}) };
    const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, signal, redirect: "follow" };
    if (req.body !== undefined) init.body = req.body;
    if (req.body instanceof ReadableStream) init.duplex = "half";
    return this.guard(req.method, url, () => (this.options.fetch ?? fetch)(url, init));
  }

  /** Network failures and timeouts in containerd's `failed to do request` form, which the classifier reads. */
  private async guard<T>(method: string, url: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      const network = e instanceof TypeError || (e instanceof Error && /^(TimeoutError|AbortError)$/.test(e.name));
      if (!network) throw e;
      const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
      const why =
        e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")
          ? `request timed out after ${this.policy.attemptTimeoutMs / 1000} s`
          : (cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e)));
      throw new Error(`failed to do request: ${method} "${url}": ${why}`);
    }
  }
}
