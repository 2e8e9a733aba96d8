// Rung 1 (types) covers the signatures; this file is push-error classification and the retry policy.
import { describe, expect, it } from "vitest";

import {
  classifyPushError,
  isTransientPushError,
  retryAfterMs,
  retryDelayMs,
  withPushRetry,
  type RetryPolicy,
} from "../../src/retry.js";
import { PUSH_ERRORS } from "../fixtures/push-errors.js";

describe("classifyPushError", () => {
  it.each(PUSH_ERRORS)("$name is $kind", ({ text, kind }) => {
    expect(classifyPushError(text)).toBe(kind);
    expect(isTransientPushError(text)).toBe(kind === "transient" || kind === "rate-limit");
  });
});

describe("retry delays", () => {
  const policy: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000 };
  const now = Date.parse("2026-11-25T01:00:00Z");
  it.each([
    { rule: "first retry waits the base delay", attempt: 1, text: "503 Service Unavailable", want: 1000 },
    { rule: "then doubles", attempt: 2, text: "503 Service Unavailable", want: 2000 },
    { rule: "and doubles again", attempt: 3, text: "503 Service Unavailable", want: 4000 },
    { rule: "capped", attempt: 10, text: "503 Service Unavailable", want: 30_000 },
    { rule: "Retry-After seconds win", attempt: 1, text: "429 Too Many Requests Retry-After: 7", want: 7000 },
    {
      rule: "Retry-After date, from now",
      attempt: 3,
      text: "429 Too Many Requests (Retry-After: 2026-11-25T01:00:02Z)",
      want: 2000,
    },
    { rule: "Retry-After in the past: no wait", attempt: 1, text: "(Retry-After: 2026-11-25T00:00:00Z)", want: 0 },
    { rule: "Retry-After capped", attempt: 1, text: "Retry-After: 600", want: 30_000 },
  ])("$rule", ({ attempt, text, want }) => {
    expect(retryDelayMs(attempt, text, policy, now)).toBe(want);
  });

  it("an unreadable Retry-After is ignored", () => {
    expect(retryAfterMs("Retry-After: soon")).toBeUndefined();
  });
});

describe("withPushRetry", () => {
  const policy: RetryPolicy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000 };

  function flaky(failures: string[]) {
    const calls: number[] = [];
    const attempt = async () => {
      calls.push(calls.length + 1);
      const failure = failures[calls.length - 1];
      if (failure) throw new Error(failure);
      return "ok";
    };
    return { attempt, calls };
  }

  it.each([
    {
      rule: "two 503s then success: 3 attempts, waits 1 s and 2 s",
      failures: ["503 Service Unavailable", "503 Service Unavailable"],
      ok: true,
      attempts: 3,
      waits: [1000, 2000],
    },
    { rule: "429 then success", failures: ["429 Too Many Requests"], ok: true, attempts: 2, waits: [1000] },
    { rule: "401 is never retried", failures: ["401 Unauthorized"], ok: false, attempts: 1, waits: [] },
    { rule: "403 is never retried", failures: ["403 Forbidden"], ok: false, attempts: 1, waits: [] },
    { rule: "a fatal error is not retried", failures: ["manifest invalid"], ok: false, attempts: 1, waits: [] },
    {
      rule: "gives up after retries",
      failures: Array(5).fill("503 Service Unavailable"),
      ok: false,
      attempts: 4,
      waits: [1000, 2000, 4000],
    },
  ])("$rule", async ({ failures, ok, attempts, waits }) => {
    const { attempt, calls } = flaky(failures);
    const slept: number[] = [];
    const run = withPushRetry(attempt, policy, { sleep: async (ms) => void slept.push(ms) });
    if (ok) await expect(run).resolves.toBe("ok");
    else await expect(run).rejects.toThrow();
    expect(calls).toHaveLength(attempts);
    expect(slept).toEqual(waits);
  });

  it("retries 0 means one attempt", async () => {
    const { attempt, calls } = flaky(["503 Service Unavailable"]);
    await expect(withPushRetry(attempt, { ...policy, retries: 0 }, { sleep: async () => {} })).rejects.toThrow();
    expect(calls).toHaveLength(1);
  });
});
