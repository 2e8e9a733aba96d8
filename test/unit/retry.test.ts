// Unit: push-error classification on containerd's real texts, the retry policy and the per-push bound (src/push/retry.ts).
import { describe, expect, it } from "vitest";

import {
  classifyPushError,
  isRetryable,
  parseRetryAfter,
  pushTimeoutMessage,
  retryDelayMs,
  withPushRetry,
  type RetryPolicy,
} from "../../src/push/retry.js";
import { PUSH_ERRORS } from "../fixtures/push-errors.js";
import { REGISTRY_ERRORS } from "../fixtures/registry-errors.js";

const URL = "http://127.0.0.1:5055/v2/acme/app";
const status = (method: string, path: string, s: string) =>
  `unexpected status from ${method} request to ${URL}${path}: ${s}`;

describe("classifyPushError: containerd v2.2 texts as Dagger v0.21 surfaces them", () => {
  it.each([
    {
      rule: "503, reason as the registry sent it",
      text: status("PUT", "/manifests/t", "503 Backend fetch failed"),
      kind: "transient",
      unknown: true,
    },
    {
      rule: "Cloudflare 520 with no reason",
      text: status("PUT", "/blobs/uploads/x?digest=sha256%3A01", "520 "),
      kind: "transient",
      unknown: false,
    },
    {
      rule: "502 on a blob: not pushed",
      text: status("PATCH", "/blobs/uploads/x", "502 Bad Gateway"),
      kind: "transient",
      unknown: false,
    },
    {
      rule: "500 on HEAD",
      text: status("HEAD", "/blobs/sha256:0a", "500 Internal Server Error"),
      kind: "transient",
      unknown: false,
    },
    { rule: "408", text: status("PUT", "/manifests/t", "408 Request Timeout"), kind: "transient", unknown: true },
    {
      rule: "blob commit wrapper",
      text: `failed commit on ref "layer-sha256:0a": ${status("PUT", "/blobs/uploads/x", "504 Gateway Timeout")}`,
      kind: "transient",
      unknown: false,
    },
    {
      rule: "EOF on the manifest",
      text: `failed to do request: Put "${URL}/manifests/t": EOF`,
      kind: "transient",
      unknown: true,
    },
    {
      rule: "reset on a blob",
      text: `failed to do request: Put "${URL}/blobs/uploads/x": read tcp 127.0.0.1:1->127.0.0.1:5055: read: connection reset by peer`,
      kind: "transient",
      unknown: false,
    },
    { rule: "our own bound", text: pushTimeoutMessage(300_000), kind: "transient", unknown: true },
    {
      rule: "429 with a registry code line",
      text: `${status("PUT", "/manifests/t", "429 Too Many Requests")}\ntoomanyrequests: slow down`,
      kind: "rate-limit",
      unknown: false,
    },
    {
      rule: "401 with the registry's line",
      text: `${status("HEAD", "/blobs/sha256:0a", "401 Unauthorized")}\nunauthorized: authentication required`,
      kind: "unauthorized",
      unknown: false,
    },
    {
      rule: "no credentials at all",
      text: "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
      kind: "unauthorized",
      unknown: false,
    },
    {
      rule: "403 with the registry's denied line",
      text: `${status("PUT", "/manifests/t", "403 Forbidden")}\ndenied: requested access to the resource is denied`,
      kind: "forbidden",
      unknown: false,
    },
    {
      rule: "a manifest stored under another digest: not retried, outcome unknown",
      text: `failed commit on ref "manifest-sha256:${"a".repeat(64)}": got digest sha256:${"b".repeat(64)}, expected sha256:${"a".repeat(64)}`,
      kind: "fatal",
      unknown: true,
    },
    {
      rule: "a layer stored under another digest: no tag moved",
      text: `failed commit on ref "layer-sha256:${"a".repeat(64)}": got digest sha256:${"b".repeat(64)}, expected sha256:${"a".repeat(64)}`,
      kind: "fatal",
      unknown: false,
    },
    { rule: "404: not retried", text: status("PUT", "/manifests/t", "404 Not Found"), kind: "fatal", unknown: false },
    {
      rule: "a read-only token: insufficient_scope is a permission problem",
      text: "push access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
      kind: "forbidden",
      unknown: false,
    },
    {
      rule: "an expired ECR token, though ECR answers 403",
      text: `${status("PUT", "/manifests/t", "403 Forbidden")}\ndenied: Your authorization token has expired. Reauthenticate and try again.`,
      kind: "expired",
      unknown: false,
    },
    {
      rule: "a repository ECR does not hold (404 NAME_UNKNOWN)",
      text: `${status("POST", "/blobs/uploads/", "404 Not Found")}\nname unknown: The repository with name 'acme/app' does not exist in the registry with id '123456789012'`,
      kind: "missing-repository",
      unknown: false,
    },
    {
      rule: "a tag holding 503 is not a status",
      text: "invalid reference format: app:503 Service",
      kind: "fatal",
      unknown: false,
    },
  ])("$rule: $kind", ({ text, kind, unknown }) => {
    const failure = classifyPushError(text);
    expect({ kind: failure.kind, unknown: failure.outcomeUnknown }).toEqual({ kind, unknown });
  });

  it.each(PUSH_ERRORS)("fixture $name is retried only when transient or rate-limited", ({ text }) => {
    const failure = classifyPushError(text);
    expect(isRetryable(failure)).toBe(failure.kind === "transient" || failure.kind === "rate-limit");
  });
});

describe("what registries send when they throttle (test/fixtures/registry-errors.ts)", () => {
  it.each(REGISTRY_ERRORS)("$name: $kind", ({ status: code, reason, errors, kind, retryAfterMs }) => {
    const lines = errors.map((e) => `${e.code.toLowerCase()}: ${e.message}`).join("\n");
    const failure = classifyPushError(`${status("GET", "/manifests/v1", `${code} ${reason}`)}\n${lines}`);
    expect({ kind: failure.kind, retryAfterMs: failure.retryAfterMs, retried: isRetryable(failure) }).toEqual({
      kind,
      retryAfterMs,
      retried: kind === "rate-limit",
    });
  });

  it.each([
    { text: "toomanyrequests: retry-after: 10.305464ms, allowed: 2000/minute", want: 11 },
    { text: "retry-after: 1.5s", want: 1500 },
    { text: "retry-after: 2m0s", want: 120_000 },
    { text: "retry-after: 250000ns", want: 1 },
    { text: "retry-after: 3", want: 3000 },
    { text: "Retry-After: 42µs", want: 1 },
    { text: "toomanyrequests: slow down", want: undefined },
    { text: "retry-after: soon", want: undefined },
  ])("parseRetryAfter($text) = $want", ({ text, want }) => expect(parseRetryAfter(text)).toBe(want));

  it("a 403 that is no rate limit stays forbidden", () => {
    expect(classifyPushError(status("PUT", "/manifests/t", "403 Forbidden\ndenied: permission_denied")).kind).toBe(
      "forbidden",
    );
  });
});

describe("retryDelayMs", () => {
  const policy: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000, attemptTimeoutMs: 1000 };
  it.each([
    { rule: "first retry waits the base delay", attempt: 1, want: 1000 },
    { rule: "then doubles", attempt: 2, want: 2000 },
    { rule: "and doubles again", attempt: 3, want: 4000 },
    { rule: "capped", attempt: 10, want: 30_000 },
  ])("$rule", ({ attempt, want }) => expect(retryDelayMs(attempt, policy)).toBe(want));

  it.each([
    { rule: "the registry's retry-after, not the backoff", retryAfterMs: 11, want: 11 },
    { rule: "a retry-after above the cap waits the cap", retryAfterMs: 120_000, want: 30_000 },
  ])("$rule", ({ retryAfterMs, want }) =>
    expect(retryDelayMs(3, policy, { kind: "rate-limit", outcomeUnknown: false, retryAfterMs })).toBe(want),
  );
});

describe("withPushRetry", () => {
  const policy: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000, attemptTimeoutMs: 5000 };
  const T503 = status("PUT", "/manifests/t", "503 Service Unavailable");

  /** An attempt that fails with the given texts in turn, then succeeds. */
  function flaky(texts: string[]) {
    let calls = 0;
    return {
      calls: () => calls,
      attempt: async () => {
        const text = texts[calls++];
        if (text !== undefined) throw new Error(text);
        return "ok";
      },
    };
  }

  it.each([
    { rule: "transient then success", texts: [T503, T503], result: "ok", calls: 3, sleeps: [1000, 2000] },
    {
      rule: "gives up after `retries` more tries",
      texts: [T503, T503, T503, T503],
      result: T503,
      calls: 4,
      sleeps: [1000, 2000, 4000],
    },
    {
      rule: "401 is never retried",
      texts: [status("PUT", "/manifests/t", "401 Unauthorized")],
      result: /401/,
      calls: 1,
      sleeps: [],
    },
    {
      rule: "GHCR's retry-after is waited, then the push is tried again",
      texts: [
        `${status("PUT", "/manifests/t", "429 Too Many Requests")}\ntoomanyrequests: retry-after: 10.3ms, allowed: 2000/minute`,
      ],
      result: "ok",
      calls: 2,
      sleeps: [11],
    },
    {
      rule: "GHCR's secondary rate limit (403) is retried",
      texts: [`${status("PUT", "/manifests/t", "403 Forbidden")}\ndenied: You have exceeded a secondary rate limit`],
      result: "ok",
      calls: 2,
      sleeps: [1000],
    },
    {
      rule: "Docker Hub's pull quota is never retried",
      texts: [
        `${status("GET", "/manifests/t", "429 Too Many Requests")}\ntoomanyrequests: You have reached your pull rate limit.`,
      ],
      result: /pull rate limit/,
      calls: 1,
      sleeps: [],
    },
    {
      rule: "403 is never retried",
      texts: [status("PUT", "/manifests/t", "403 Forbidden")],
      result: /403/,
      calls: 1,
      sleeps: [],
    },
  ])("$rule", async ({ texts, result, calls, sleeps }) => {
    const f = flaky(texts);
    const slept: number[] = [];
    const out = await withPushRetry(f.attempt, policy, { sleep: async (ms) => void slept.push(ms) }).catch(
      (e: Error) => e.message,
    );
    if (result instanceof RegExp) expect(out).toMatch(result);
    else expect(out).toBe(result);
    expect(f.calls()).toBe(calls);
    expect(slept).toEqual(sleeps);
  });

  it("an attempt that never answers is bounded, counted as transient and retried", async () => {
    const timers: { ms: number; fire: () => void }[] = [];
    let calls = 0;
    const attempt = () => {
      calls++;
      // The first attempt hangs; the second answers.
      return calls === 1 ? new Promise<string>(() => undefined) : Promise.resolve("ok");
    };
    let abandoned = 0;
    const run = withPushRetry(attempt, policy, {
      sleep: async () => undefined,
      onAbandon: () => void abandoned++,
      timer: (ms, fire) => {
        timers.push({ ms, fire });
        return () => undefined;
      },
    });
    await Promise.resolve();
    expect(timers.map((t) => t.ms)).toEqual([5000]);
    timers[0]!.fire();
    expect(await run).toBe("ok");
    expect(calls).toBe(2);
    expect(abandoned).toBe(1);
  });

  it("a push that never answers, with no retries left, fails with an outcome-unknown timeout", async () => {
    const run = withPushRetry(
      () => new Promise<string>(() => undefined),
      { ...policy, retries: 0 },
      {
        sleep: async () => undefined,
        timer: (_ms, fire) => {
          queueMicrotask(fire);
          return () => undefined;
        },
      },
    );
    await expect(run).rejects.toThrow(/push timed out after 5 s \(--push-timeout\)/);
  });
});
