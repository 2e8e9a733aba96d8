// Unit: tags after a repository's first by a PUT of the first push's manifest (src/push/fanout.ts), against a
// recorded-shape fetch double; what counts as a registry out of the module's reach.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";

import { IndexAnnotator } from "../../src/push/annotate.js";
import { clientReach, isUnreachable, ManifestFanOut, UnreachableRegistry } from "../../src/push/fanout.js";
import { planPublish } from "../../src/push/publish.js";
import { RegistrySession } from "../../src/registry/http.js";

const INDEX = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
const DIGEST = `sha256:${createHash("sha256").update(INDEX).digest("hex")}`;
const image = { host: "ghcr.io", repository: "acme/app", name: "ghcr.io/acme/app" };

describe("isUnreachable", () => {
  it.each([
    { message: 'failed to do request: GET "https://ghcr.io/v2/acme/app/manifests/x": ENOTFOUND', want: true },
    { message: 'failed to do request: GET "https://r.local/v2/": ECONNREFUSED', want: true },
    { message: 'failed to do request: GET "https://r.local/v2/": request timed out after 300 s', want: true },
    {
      message: "unexpected status from GET request to https://ghcr.io/v2/acme/app/manifests/x: 401 Unauthorized",
      want: false,
    },
    { message: "unexpected status from PUT request to https://ghcr.io/v2/a/manifests/t: 503", want: false },
  ])("$message: $want", ({ message, want }) => expect(isUnreachable(message)).toBe(want));
});

describe("clientReach: whether a push needs the client, and whose auth it learns before the build", () => {
  const other = { host: "quay.io", repository: "acme/app", name: "quay.io/acme/app" };
  const shaOnly = planPublish([image, other], ["1a2b3c4"]);
  const twoTagsInOne = [...planPublish([image], ["1a2b3c4", "main"]), ...planPublish([other], ["1a2b3c4"])];
  const both = ["ghcr.io/acme/app", "quay.io/acme/app"];
  it.each([
    {
      why: "one tag each, nothing else: a Dagger push each",
      targets: shaOnly,
      verify: false,
      rewrite: false,
      signed: false,
      want: [],
    },
    {
      why: "the read-back reads every repository",
      targets: shaOnly,
      verify: true,
      rewrite: false,
      signed: false,
      want: both,
    },
    {
      why: "the index rewrite touches every repository",
      targets: shaOnly,
      verify: false,
      rewrite: true,
      signed: false,
      want: both,
    },
    {
      why: "signing attaches in every repository",
      targets: shaOnly,
      verify: false,
      rewrite: false,
      signed: true,
      want: both,
    },
    {
      why: "a second tag: only its repository",
      targets: twoTagsInOne,
      verify: false,
      rewrite: false,
      signed: false,
      want: ["ghcr.io/acme/app"],
    },
  ])("$why", ({ targets, verify, rewrite, signed, want }) => {
    const reach = clientReach({ verify, images: [image, other] }, targets, rewrite, signed);
    expect(reach.contacted.map((c) => `${c.host}/${c.repository}`)).toEqual(want);
    expect(reach.needed).toBe(want.length > 0);
  });
});

describe("ManifestFanOut", () => {
  const [first, ...rest] = planPublish([image], ["1a2b3c4", "main", "latest"]);
  const firstPinned = `${first!.ref}@${DIGEST}`;

  function registry(answer: (method: string, url: string) => Response | Error) {
    const requests: string[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      const method = init.method ?? "GET";
      requests.push(`${method} ${new URL(url).pathname}`);
      const a = answer(method, url);
      if (a instanceof Error) throw a;
      return a;
    }) as unknown as typeof globalThis.fetch;
    const session = new RegistrySession({
      host: "ghcr.io",
      fetch,
      policy: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, attemptTimeoutMs: 1000 },
    });
    return { requests, session, fanOut: new ManifestFanOut(() => session) };
  }

  it("reads the first push's manifest once by digest, then PUTs the same bytes and media type to each tag", async () => {
    const { requests, fanOut } = registry((method) => {
      if (method === "GET")
        return new Response(INDEX, {
          headers: { "Content-Type": "application/vnd.oci.image.index.v1+json", "Docker-Content-Digest": DIGEST },
        });
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": DIGEST } });
    });
    const pinned = await Promise.all(rest.map((t) => fanOut.tag(t, firstPinned)));
    expect(pinned).toEqual([`ghcr.io/acme/app:main@${DIGEST}`, `ghcr.io/acme/app:latest@${DIGEST}`]);
    expect(requests).toEqual([
      `GET /v2/acme/app/manifests/${DIGEST}`,
      "PUT /v2/acme/app/manifests/main",
      "PUT /v2/acme/app/manifests/latest",
    ]);
  });

  it.each([
    { what: "a read that succeeds", fails: false },
    { what: "a read that fails, reported by the tag that needs it", fails: true },
  ])("readAhead reads once, before any tag asks: $what", async ({ fails }) => {
    const { requests, fanOut } = registry((method) => {
      if (method === "GET")
        return fails
          ? new Response("manifest unknown", { status: 404 })
          : new Response(INDEX, {
              headers: { "Content-Type": "application/vnd.oci.image.index.v1+json", "Docker-Content-Digest": DIGEST },
            });
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": DIGEST } });
    });
    fanOut.readAhead(first!, firstPinned);
    expect(requests).toEqual([`GET /v2/acme/app/manifests/${DIGEST}`]);
    const tagged = Promise.all(rest.map((t) => fanOut.tag(t, firstPinned)));
    if (fails) await expect(tagged).rejects.toThrow(/404/);
    else await tagged;
    expect(requests.filter((r) => r.startsWith("GET"))).toHaveLength(1);
    expect(requests.filter((r) => r.startsWith("PUT"))).toHaveLength(fails ? 0 : 2);
  });

  it.each([
    { what: "an index the annotations rewrite", annotations: [{ name: "org.example.k", value: "v" }], rewrites: true },
    { what: "a manifest that is not an index", annotations: [{ name: "org.example.k", value: "v" }], rewrites: false },
  ])("after the index rewrite of $what, the other tags are PUT with its bytes, read once", async (row) => {
    const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
    const pushed = row.rewrites ? INDEX : MANIFEST;
    const pushedDigest = `sha256:${createHash("sha256").update(pushed).digest("hex")}`;
    const { requests, session, fanOut } = registry((method) => {
      if (method === "GET")
        return new Response(pushed, {
          headers: { "Content-Type": JSON.parse(pushed.toString()).mediaType, "Docker-Content-Digest": pushedDigest },
        });
      return new Response(null, { status: 201 });
    });
    const annotator = new IndexAnnotator(() => session, row.annotations, fanOut);
    const firstAt = await annotator.annotate(first!, `${first!.ref}@${pushedDigest}`);
    const final = firstAt.split("@")[1]!;
    expect(final !== pushedDigest).toBe(row.rewrites);
    const pinned = await Promise.all(rest.map((t) => fanOut.tag(t, firstAt)));
    expect(pinned).toEqual(rest.map((t) => `${t.ref}@${final}`));
    // One GET in all, of what Dagger pushed; the rewritten index is never read back to tag with it.
    expect(requests.filter((q) => q.startsWith("GET "))).toEqual([`GET /v2/acme/app/manifests/${pushedDigest}`]);
    expect(requests.filter((q) => q.startsWith("PUT "))).toEqual([
      ...(row.rewrites ? ["PUT /v2/acme/app/manifests/1a2b3c4"] : []),
      "PUT /v2/acme/app/manifests/main",
      "PUT /v2/acme/app/manifests/latest",
    ]);
  });

  describe("two repositories whose first pushes stored one digest", () => {
    const quay = { host: "quay.io", repository: "acme/app", name: "quay.io/acme/app" };
    const targets = planPublish([image, quay], ["1a2b3c4", "main"]);
    const [ghcrFirst, ghcrMain, quayFirst, quayMain] = targets;
    const ok = () => new Response(null, { status: 201, headers: { "Docker-Content-Digest": DIGEST } });
    const manifest = () =>
      new Response(INDEX, {
        headers: { "Content-Type": "application/vnd.oci.image.index.v1+json", "Docker-Content-Digest": DIGEST },
      });
    const unreachable = () =>
      new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      });

    it.each([
      {
        rule: "the first read serves both: one GET in all",
        ghcr: { get: manifest, put: ok },
        quay: { get: manifest, put: ok },
        want: ["ghcr.io GET", "ghcr.io PUT main", "quay.io PUT main"],
        tagged: ["ghcr", "quay"],
      },
      {
        rule: "a first read that fails leaves the other repository to read its own",
        ghcr: { get: () => new Response("manifest unknown", { status: 404 }), put: ok },
        quay: { get: manifest, put: ok },
        want: ["ghcr.io GET", "quay.io GET", "quay.io PUT main"],
        tagged: ["quay"],
      },
      {
        rule: "a registry first met by a PUT, out of reach, is an UnreachableRegistry (the caller pushes instead)",
        ghcr: { get: manifest, put: ok },
        quay: { get: manifest, put: unreachable },
        want: ["ghcr.io GET", "ghcr.io PUT main", "quay.io PUT main"],
        tagged: ["ghcr"],
        quayUnreachable: true,
      },
    ])("$rule", async (row) => {
      const requests: string[] = [];
      const session = (host: string) => {
        const answers = host === "ghcr.io" ? row.ghcr : row.quay;
        const fetch = (async (url: string, init: RequestInit) => {
          const method = init.method ?? "GET";
          const tag = method === "PUT" ? ` ${new URL(url).pathname.split("/").pop()}` : "";
          requests.push(`${host} ${method}${tag}`);
          const a = method === "PUT" ? answers.put() : answers.get();
          if (a instanceof Error) throw a;
          return a;
        }) as unknown as typeof globalThis.fetch;
        const policy = { retries: 0, baseDelayMs: 0, maxDelayMs: 0, attemptTimeoutMs: 1000 };
        return new RegistrySession({ host, fetch, policy });
      };
      const sessions = new Map(["ghcr.io", "quay.io"].map((h) => [h, session(h)]));
      const fanOut = new ManifestFanOut((host) => sessions.get(host)!);
      fanOut.readAhead(ghcrFirst!, `${ghcrFirst!.ref}@${DIGEST}`);
      fanOut.readAhead(quayFirst!, `${quayFirst!.ref}@${DIGEST}`);
      const [ghcr, quay] = await Promise.allSettled([
        fanOut.tag(ghcrMain!, `${ghcrFirst!.ref}@${DIGEST}`),
        fanOut.tag(quayMain!, `${quayFirst!.ref}@${DIGEST}`),
      ]);
      expect(requests).toEqual(row.want);
      const tagged = [ghcr.status === "fulfilled" && "ghcr", quay.status === "fulfilled" && "quay"].filter(Boolean);
      expect(tagged).toEqual(row.tagged);
      if (ghcr.status === "fulfilled") expect(ghcr.value).toBe(`${ghcrMain!.ref}@${DIGEST}`);
      if (quay.status === "fulfilled") expect(quay.value).toBe(`${quayMain!.ref}@${DIGEST}`);
      if (row.quayUnreachable && quay.status === "rejected") expect(quay.reason).toBeInstanceOf(UnreachableRegistry);
    });
  });

  it("a registry out of reach is an UnreachableRegistry (the caller pushes instead); a refusal is not", async () => {
    const cause = Object.assign(new Error("getaddrinfo ENOTFOUND ghcr.io"), { code: "ENOTFOUND" });
    const away = registry(() => new TypeError("fetch failed", { cause }));
    await expect(away.fanOut.tag(rest[0]!, firstPinned)).rejects.toBeInstanceOf(UnreachableRegistry);
    const refused = registry(() => new Response('{"errors":[{"code":"DENIED","message":"denied"}]}', { status: 403 }));
    const e = await refused.fanOut.tag(rest[0]!, firstPinned).catch((x: unknown) => x);
    expect(e).not.toBeInstanceOf(UnreachableRegistry);
    expect(String(e)).toMatch(/403/);
  });
});
