// Rung 1 (types) covers the signatures; this file is the bounded map used for per-tag git lookups.
import { describe, expect, it } from "vitest";

import { mapWithLimit } from "../../src/push/concurrency.js";

describe("mapWithLimit", () => {
  it.each([
    { items: [], limit: 4 },
    { items: [1], limit: 4 },
    { items: [1, 2, 3, 4, 5, 6, 7], limit: 3 },
    { items: [1, 2, 3], limit: 10 },
  ])("keeps order and never exceeds $limit in flight for $items.length items", async ({ items, limit }) => {
    let inFlight = 0;
    let most = 0;
    const out = await mapWithLimit(items, limit, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual(items.map((n) => n * 10));
    expect(most).toBeLessThanOrEqual(limit);
    expect(most).toBe(Math.min(limit, items.length));
  });

  it("passes a failure on", async () => {
    await expect(mapWithLimit([1, 2], 2, async (n) => (n === 2 ? Promise.reject(new Error("x")) : n))).rejects.toThrow(
      "x",
    );
  });
});
