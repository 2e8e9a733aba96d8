// Unit: src/registry's pure parts — the WWW-Authenticate challenge, the token answer and cache, Link headers,
// digests, the registry's error body, and argument checks that refuse bad input before any request.
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import { parseChallenges, parseTokenAnswer, TokenCache, tokenUrl } from "../../src/registry/auth.js";
import { digestOf, digestProblem, verifyingStream } from "../../src/registry/digest.js";
import { registryErrorText } from "../../src/registry/errors.js";
import {
  copyBlob,
  getManifest,
  headBlob,
  listReferrers,
  listTags,
  mountBlob,
  putManifest,
  RegistrySession,
} from "../../src/registry/index.js";
import { nextLink } from "../../src/registry/tags.js";

describe("parseChallenges (RFC 7235 §2.1) on the headers registries send", () => {
  it.each([
    {
      registry: "Docker Hub",
      header:
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      want: [
        {
          scheme: "bearer",
          params: {
            realm: "https://auth.docker.io/token",
            service: "registry.docker.io",
            scope: "repository:library/alpine:pull",
          },
        },
      ],
    },
    {
      registry: "GitLab, a comma inside the quoted scope",
      header:
        'Bearer realm="https://gitlab.com/jwt/auth",service="container_registry",scope="repository:group/project:push,pull"',
      want: [
        {
          scheme: "bearer",
          params: {
            realm: "https://gitlab.com/jwt/auth",
            service: "container_registry",
            scope: "repository:group/project:push,pull",
          },
        },
      ],
    },
    {
      registry: "distribution, two scopes and an error",
      header:
        'Bearer realm="https://r/token",service="r",scope="repository:a:pull,push repository:b:pull",error="insufficient_scope"',
      want: [
        {
          scheme: "bearer",
          params: {
            realm: "https://r/token",
            service: "r",
            scope: "repository:a:pull,push repository:b:pull",
            error: "insufficient_scope",
          },
        },
      ],
    },
    {
      registry: "Amazon ECR's Basic",
      header: 'Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
      want: [
        {
          scheme: "basic",
          params: { realm: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", service: "ecr.amazonaws.com" },
        },
      ],
    },
    {
      registry: "two challenges, spaces around = and commas, a token value, an escaped quote",
      header: 'Basic realm="x, y" , Bearer realm = "https://a/t",service=svc, scope="p\\"q"',
      want: [
        { scheme: "basic", params: { realm: "x, y" } },
        { scheme: "bearer", params: { realm: "https://a/t", service: "svc", scope: 'p"q' } },
      ],
    },
    { registry: "a scheme alone, any case", header: "BASIC", want: [{ scheme: "basic", params: {} }] },
    { registry: "nothing", header: "", want: [] },
  ])("$registry", ({ header, want }) => expect(parseChallenges(header)).toEqual(want));
});

describe("the token endpoint", () => {
  it.each([
    {
      rule: "service and each space-separated scope as its own parameter",
      params: {
        realm: "https://auth.example/token?x=1",
        service: "reg",
        scope: "repository:a:pull,push repository:b:pull",
      },
      want: "https://auth.example/token?x=1&service=reg&scope=repository%3Aa%3Apull%2Cpush&scope=repository%3Ab%3Apull",
    },
    {
      rule: "the request's own scope when the challenge names none",
      params: { realm: "https://auth.example/token" },
      want: "https://auth.example/token?scope=repository%3Aacme%2Fapp%3Apull",
    },
  ])("$rule", ({ params, want }) =>
    expect(tokenUrl({ scheme: "bearer", params: params as Record<string, string> }, "repository:acme/app:pull")).toBe(
      want,
    ),
  );

  it("refuses a realm that is not an http(s) URL", () =>
    expect(() => tokenUrl({ scheme: "bearer", params: { realm: "file:///etc/passwd" } }, "")).toThrow(/realm/));

  it.each([
    { body: '{"token":"t1","expires_in":300}', want: { token: "t1", expiresInS: 300 } },
    { body: '{"access_token":"t2"}', want: { token: "t2", expiresInS: 60 } },
    { body: '{"token":"","access_token":"t3","expires_in":0}', want: { token: "t3", expiresInS: 60 } },
  ])("answer $body", ({ body, want }) => expect(parseTokenAnswer(body)).toEqual(want));

  it.each(["{}", "not json", '{"token":42}'])("answer %s holds no token", (body) =>
    expect(() => parseTokenAnswer(body)).toThrow(/token endpoint/),
  );

  it("a cached token is used until shortly before it expires, per scope", () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    cache.set("repository:a:pull", "ta", 60);
    expect([cache.get("repository:a:pull"), cache.get("repository:a:pull,push")]).toEqual(["ta", undefined]);
    cache.set("repository:b:pull,push", "tb", 60);
    // A pull,push token serves the repository's pulls, never another repository's.
    expect([
      cache.get("repository:b:pull"),
      cache.get("repository:b:push"),
      cache.get("repository:a:pull,push"),
    ]).toEqual(["tb", undefined, undefined]);
    now = 54_000;
    expect(cache.get("repository:a:pull")).toBe("ta");
    now = 55_000;
    expect(cache.get("repository:a:pull")).toBeUndefined();
  });
});

describe("nextLink (RFC 8288)", () => {
  it.each([
    { header: '</v2/a/tags/list?n=2&last=b>; rel="next"', want: "/v2/a/tags/list?n=2&last=b" },
    { header: "</v2/a/tags/list?last=b>; rel=next", want: "/v2/a/tags/list?last=b" },
    { header: '<https://r/v2/a/tags/list?last=b>; type="x"; rel="prev next"', want: "https://r/v2/a/tags/list?last=b" },
    { header: '</first>; rel="prev", </second>; rel="next"', want: "/second" },
    { header: '</only>; rel="prev"', want: undefined },
    { header: null, want: undefined },
  ])("$header", ({ header, want }) => expect(nextLink(header)).toBe(want));
});

describe("digests", () => {
  const bytes = Buffer.from('{"schemaVersion":2}');
  const sha256 = digestOf(bytes);
  const sha512 = digestOf(bytes, "sha512");
  it.each([
    { rule: "sha256 matches", expected: sha256, ok: true },
    { rule: "sha512 matches", expected: sha512, ok: true },
    { rule: "another sha256", expected: `sha256:${"0".repeat(64)}`, ok: false },
  ])("$rule", ({ expected, ok }) => {
    const problem = digestProblem(bytes, expected, "m");
    expect(problem === undefined).toBe(ok);
    if (!ok) expect(problem).toBe(`digest mismatch: m hashes to ${sha256}, expected ${expected}`);
  });

  it.each([
    { rule: "passes bytes that hash to the digest", expected: sha256, fails: false },
    { rule: "fails at the end of bytes that do not", expected: `sha256:${"1".repeat(64)}`, fails: true },
  ])("verifyingStream $rule", async ({ expected, fails }) => {
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 5));
        c.enqueue(bytes.subarray(5));
        c.close();
      },
    });
    const read = new Response(source.pipeThrough(verifyingStream(expected, "blob"))).arrayBuffer();
    if (fails) await expect(read).rejects.toThrow(/digest mismatch: blob/);
    else expect(Buffer.from(await read)).toEqual(bytes);
  });
});

describe("registryErrorText: the registry's body as containerd prints it", () => {
  it.each([
    {
      body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}',
      want: "manifest unknown: manifest unknown",
    },
    {
      body: '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"},{"code":"DENIED"}]}',
      want: "name unknown: repository name not known to registry\ndenied",
    },
    { body: "<html>\n<h1>Secondary rate limit</h1>\n</html>", want: "<html> <h1>Secondary rate limit</h1> </html>" },
    { body: "", want: "" },
  ])("$body", ({ body, want }) => expect(registryErrorText(body)).toBe(want));
});

describe("bad input is refused before any request", () => {
  const D = `sha256:${"a".repeat(64)}`;
  let calls = 0;
  const session = new RegistrySession({
    host: "ghcr.io",
    fetch: () => {
      calls++;
      return Promise.resolve(new Response(null, { status: 500 }));
    },
  });
  it.each([
    {
      rule: "an uppercase repository",
      call: () => getManifest(session, "Acme/App", "v1"),
      why: /repository "Acme\/App"/,
    },
    {
      rule: "a repository with a leading slash",
      call: () => listTags(session, "/acme", 10),
      why: /repository "\/acme"/,
    },
    { rule: "a tag with a space", call: () => getManifest(session, "acme/app", "v 1"), why: /tag "v 1"/ },
    { rule: "an uppercase digest", call: () => headBlob(session, "acme/app", D.toUpperCase()), why: /not a digest/ },
    {
      rule: "an md5 digest",
      call: () => listReferrers(session, "acme/app", `md5:${"a".repeat(32)}`),
      why: /not a digest/,
    },
    {
      rule: "a mount from a bad repository",
      call: () => mountBlob(session, "acme/app", D, "a//b"),
      why: /repository "a\/\/b"/,
    },
    {
      rule: "a PUT by a digest the bytes do not have",
      call: () => putManifest(session, "acme/app", D, Buffer.from("{}")),
      why: /digest mismatch.*put it by tag/,
    },
    {
      rule: "a PUT with no media type",
      call: () => putManifest(session, "acme/app", "v1", Buffer.from("{}")),
      why: /media type ""/,
    },
    {
      rule: "a zero chunk size",
      call: () => copyBlob(session, "a", session, "b", D, { chunkBytes: 0 }),
      why: /chunkBytes 0/,
    },
    { rule: "a page size of 0", call: () => listTags(session, "acme/app", 0), why: /pageSize 0/ },
  ])("$rule", async ({ call, why }) => {
    await expect(call()).rejects.toThrow(why);
    expect(calls).toBe(0);
  });

  it.each(["GHCR.io", "ghcr.io:99999", "", "ghcr.io/acme"])("registry host %j", (host) => {
    expect(() => new RegistrySession({ host })).toThrow(InvalidInputError);
  });

  it("a Link or Location to another host is not followed (credentials stay on the registry)", () => {
    expect(() => session.url("acme/app", "https://evil.example/v2/acme/app/tags/list")).toThrow(/another host/);
    expect(session.url("acme/app", "/v2/acme/app/tags/list?last=b")).toBe(
      "https://ghcr.io/v2/acme/app/tags/list?last=b",
    );
    expect(new RegistrySession({ host: "docker.io" }).url("library/alpine", "tags/list")).toBe(
      "https://registry-1.docker.io/v2/library/alpine/tags/list",
    );
  });
});

describe("Basic auth on a registry's challenge, for concurrent first requests", () => {
  const D = `sha256:${"a".repeat(64)}`;
  const good = `Basic ${Buffer.from("ci:pw").toString("base64")}`;
  /** A registry that answers 200 to the right Basic header, else 401 with a Basic challenge; it counts requests. */
  const registry = () => {
    const seen: (string | undefined)[] = [];
    const fetch = (_url: string | URL | Request, init?: RequestInit) => {
      const auth = (init?.headers as Record<string, string> | undefined)?.Authorization;
      seen.push(auth);
      return Promise.resolve(
        auth === good
          ? new Response(null, { status: 200, headers: { "Content-Length": "7" } })
          : new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Basic realm="registry"' } }),
      );
    };
    return { seen, fetch: fetch as typeof globalThis.fetch };
  };
  it.each([
    { rule: "the right credentials: both answered, each after one challenge", password: "pw", sizes: [7, 7] },
    { rule: "wrong credentials: each refused after one Basic try, no loop", password: "no", sizes: [] },
  ])("$rule", async ({ password, sizes }) => {
    const r = registry();
    const session = new RegistrySession({ host: "r.test", credentials: { username: "ci", password }, fetch: r.fetch });
    const heads = await Promise.allSettled([headBlob(session, "acme/a", D), headBlob(session, "acme/b", D)]);
    expect(heads.flatMap((h) => (h.status === "fulfilled" ? [h.value] : []))).toEqual(sizes);
    // Two unauthenticated first requests, then one Basic try each: a concurrent switch to Basic refuses neither.
    expect(r.seen).toHaveLength(4);
    expect(r.seen.filter((a) => a === undefined)).toHaveLength(2);
  });
});

describe("prepare: a host's auth learnt before the first real request", () => {
  const D = `sha256:${"a".repeat(64)}`;
  const good = `Basic ${Buffer.from("ci:pw").toString("base64")}`;
  /** A registry at r.test with Basic or Bearer auth (its token endpoint at t.test); it records every request. */
  const registry = (scheme: "basic" | "bearer") => {
    const seen: string[] = [];
    const fetch = (url: string | URL | Request, init?: RequestInit) => {
      const u = new URL(String(url));
      const auth = (init?.headers as Record<string, string> | undefined)?.Authorization;
      seen.push(`${init?.method ?? "GET"} ${u.host}${u.pathname}${u.search} ${auth ?? "-"}`);
      if (u.host === "t.test")
        return Promise.resolve(Response.json({ token: `tok-${u.searchParams.get("scope")}`, expires_in: 300 }));
      const ok = scheme === "basic" ? auth === good : auth?.startsWith("Bearer tok-");
      if (ok) return Promise.resolve(new Response(null, { status: 200, headers: { "Content-Length": "7" } }));
      const challenge =
        scheme === "basic"
          ? 'Basic realm="registry"'
          : // The base endpoint asks for no repository, so its challenge names no scope.
            `Bearer realm="https://t.test/token",service="r.test"${u.pathname === "/v2/" ? "" : ',scope="repository:acme/a:pull"'}`;
      return Promise.resolve(new Response(null, { status: 401, headers: { "WWW-Authenticate": challenge } }));
    };
    const session = new RegistrySession({
      host: "r.test",
      credentials: { username: "ci", password: "pw" },
      fetch: fetch as typeof globalThis.fetch,
    });
    return { seen, session };
  };

  it.each([
    {
      scheme: "basic" as const,
      want: ["GET r.test/v2/ -", `HEAD r.test/v2/acme/a/blobs/${D} ${good}`],
    },
    {
      scheme: "bearer" as const,
      want: [
        "GET r.test/v2/ -",
        `GET t.test/token?service=r.test&scope=repository%3Aacme%2Fa%3Apull%2Cpush ${good}`,
        `HEAD r.test/v2/acme/a/blobs/${D} Bearer tok-repository:acme/a:pull,push`,
      ],
    },
  ])("$scheme: the first pull goes authenticated, with no challenge of its own", async ({ scheme, want }) => {
    const r = registry(scheme);
    await r.session.prepare("acme/a");
    expect(await headBlob(r.session, "acme/a", D)).toBe(7);
    expect(r.seen).toEqual(want);
  });

  it("a second prepare of the same repository sends nothing", async () => {
    const r = registry("bearer");
    await r.session.prepare("acme/a");
    const before = r.seen.length;
    await r.session.prepare("acme/a");
    expect(r.seen).toHaveLength(before);
  });

  it.each(["basic" as const, "bearer" as const])(
    "%s: a prepare asked again while the first is in flight shares its round trip",
    async (scheme) => {
      const r = registry(scheme);
      await Promise.all([r.session.prepare("acme/a"), r.session.prepare("acme/a")]);
      expect(r.seen.filter((line) => line.startsWith("GET r.test/v2/ "))).toHaveLength(1);
      expect(r.seen.filter((line) => line.includes("t.test/token"))).toHaveLength(scheme === "bearer" ? 1 : 0);
    },
  );

  it("refuses a bad repository before any request", async () => {
    const r = registry("basic");
    await expect(r.session.prepare("Acme/A")).rejects.toThrow(InvalidInputError);
    expect(r.seen).toEqual([]);
  });
});
