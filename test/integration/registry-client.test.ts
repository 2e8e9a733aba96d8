// Rung 3 (engine double): src/registry against Debian's docker-registry 2.8.2 on loopback, with htpasswd and with
// token auth (test/infra/token-server.ts), skopeo as the independent reader, and a fault proxy for what registries send.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  copyBlob,
  getManifest,
  headBlob,
  headManifest,
  listReferrers,
  listTags,
  mountBlob,
  putManifest,
} from "../../src/registry/index.js";
import { RegistryError, RegistrySession, referrersTag } from "../../src/registry/index.js";
import { on, startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { writeLayout, type LayoutImage } from "../infra/oci-layout.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { REGISTRY_ERRORS } from "../fixtures/registry-errors.js";

const run = promisify(execFile);
const USERS = { ci: "ci-pass-5d1e" };
const CREDS = { username: "ci", password: USERS.ci };
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const noSleep = { sleep: () => Promise.resolve() };
// The registry's challenge lists its scopes, and a scope's actions, in Go map order: sorted, one order per test.
const sortActions = (scopes: string[]) =>
  scopes.map((scope) => scope.replace(/[^:]*$/, (actions) => actions.split(",").sort().join(","))).sort();

async function skopeo(...args: string[]): Promise<Buffer> {
  const { stdout } = await run("skopeo", args, { encoding: "buffer", maxBuffer: 1 << 24 });
  return stdout;
}
const rawOf = (registry: Registry, ref: string) =>
  skopeo("inspect", "--raw", "--tls-verify=false", "--creds", `ci:${USERS.ci}`, `docker://${registry.host}/${ref}`);

let layoutDir: string;
let image: LayoutImage;
const registries: Record<string, Registry> = {};

beforeAll(async () => {
  layoutDir = await mkdtemp(path.join(os.tmpdir(), "dockyard-layout-"));
  image = await writeLayout(layoutDir, "v1", "hello from dockyard\n");
  [registries.htpasswd, registries.token] = await Promise.all([
    startRegistry({ users: USERS }),
    startRegistry({ users: USERS, tokenAuth: {} }),
  ]);
  for (const registry of Object.values(registries))
    await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `ci:${USERS.ci}`,
      `oci:${layoutDir}:v1`,
      `docker://${registry.host}/acme/app:v1`,
    );
});

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
  await rm(layoutDir, { recursive: true, force: true });
});

describe.each(["htpasswd", "token"])("against docker-registry 2.8.2 with %s auth", (auth) => {
  const registry = () => registries[auth]!;
  const session = () => new RegistrySession({ host: registry().host, plainHttp: true, credentials: CREDS, ...noSleep });

  it("HEAD and GET by tag and by digest answer skopeo's bytes and their digest", async () => {
    const raw = await rawOf(registry(), "acme/app:v1");
    const s = await session();
    for (const ref of ["v1", sha256(raw)]) {
      expect(await headManifest(s, "acme/app", ref)).toEqual({
        digest: sha256(raw),
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        size: raw.length,
      });
      const got = await getManifest(s, "acme/app", ref);
      expect({ digest: got.digest, bytes: Buffer.from(got.bytes) }).toEqual({ digest: sha256(raw), bytes: raw });
    }
    expect(await headManifest(s, "acme/app", "absent")).toBeUndefined();
  });

  it("a PUT of the same bytes under another tag keeps the digest (skopeo reads the same bytes)", async () => {
    const s = await session();
    const { bytes, mediaType } = await getManifest(s, "acme/app", "v1");
    expect(await putManifest(s, "acme/app", "retagged", bytes, mediaType)).toBe(image.manifestDigest);
    expect(await rawOf(registry(), "acme/app:retagged")).toEqual(Buffer.from(bytes));
  });

  it("an OCI index PUT by digest is stored as sent; tags/list lists every tag", async () => {
    const s = await session();
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: image.manifestDigest,
            size: image.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
        annotations: { "org.opencontainers.image.description": "dockyard test" },
      }),
    );
    expect(await putManifest(s, "acme/app", sha256(index), index)).toBe(sha256(index));
    expect(await putManifest(s, "acme/app", "multi", index)).toBe(sha256(index));
    expect(await rawOf(registry(), "acme/app:multi")).toEqual(index);
    expect((await listTags(s, "acme/app")).sort()).toEqual(["multi", "retagged", "v1"]);
    expect(await listTags(s, "acme/none")).toEqual([]);
  });

  it("blobs: HEAD, a mount into another repository (201), skopeo reads the mounted image", async () => {
    const s = await session();
    expect(await headBlob(s, "acme/app", image.layerDigest)).toBe(image.layerSize);
    expect(await headBlob(s, "acme/other", image.layerDigest)).toBeUndefined();
    expect(await mountBlob(s, "acme/other", image.layerDigest, "acme/app")).toBe(true);
    expect(await copyBlob(s, "acme/app", s, "acme/other", image.configDigest)).toBe("mounted");
    expect(await copyBlob(s, "acme/app", s, "acme/other", image.configDigest)).toBe("present");
    await putManifest(s, "acme/other", "v1", image.manifest);
    const inspected = JSON.parse(
      (
        await skopeo(
          "inspect",
          "--tls-verify=false",
          "--creds",
          `ci:${USERS.ci}`,
          `docker://${registry().host}/acme/other:v1`,
        )
      ).toString(),
    ) as { Digest: string };
    expect(inspected.Digest).toBe(image.manifestDigest);
  });

  it("referrers: 2.8.2 answers 404 to the API, so the tag-schema index is read, filtered by artifactType", async () => {
    const s = await session();
    const artifact = (artifactType: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType,
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: image.configDigest, size: 2 },
          layers: [],
          subject: {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: image.manifestDigest,
            size: image.manifest.length,
          },
        }),
      );
    expect(await listReferrers(s, "acme/app", image.manifestDigest)).toEqual({ descriptors: [], source: "tag-schema" });
    const sbom = artifact("application/spdx+json");
    const sig = artifact("application/vnd.dev.sigstore.bundle.v0.3+json");
    const descriptors = [sbom, sig].map((b, i) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: sha256(b),
      size: b.length,
      artifactType: i === 0 ? "application/spdx+json" : "application/vnd.dev.sigstore.bundle.v0.3+json",
    }));
    for (const b of [sbom, sig]) await putManifest(s, "acme/app", sha256(b), b);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: descriptors,
      }),
    );
    await putManifest(s, "acme/app", referrersTag(image.manifestDigest), index);
    expect(await listReferrers(s, "acme/app", image.manifestDigest)).toEqual({ descriptors, source: "tag-schema" });
    expect(await listReferrers(s, "acme/app", image.manifestDigest, "application/spdx+json")).toEqual({
      descriptors: [descriptors[0]],
      source: "tag-schema",
    });
  });

  it.each([
    { rule: "a wrong password", credentials: { username: "ci", password: "wrong-pass-77" } },
    { rule: "no credentials", credentials: undefined },
  ])("$rule fails as unauthorized, the password in no message", async ({ credentials }) => {
    const s = new RegistrySession({
      host: registry().host,
      plainHttp: true,
      ...(credentials ? { credentials } : {}),
      ...noSleep,
    });
    const error = await getManifest(s, "acme/app", "v1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).failure.kind).toBe("unauthorized");
    expect((error as Error).message).toMatch(/check the username and password or token given for 127\.0\.0\.1/);
    expect((error as Error).message).not.toMatch(/wrong-pass-77|Basic |Bearer /);
  });
});

describe("token auth specifics", () => {
  it("one token per scope, cached for its expires_in; the token or access_token field", async () => {
    const registry = registries.token!;
    const server = registry.tokenServer!;
    for (const field of ["token", "access_token"] as const) {
      server.field = field;
      const s = new RegistrySession({ host: registry.host, plainHttp: true, credentials: CREDS, ...noSleep });
      const before = server.requests.length;
      await getManifest(s, "acme/app", "v1");
      await headManifest(s, "acme/app", "v1");
      await listTags(s, "acme/app");
      await putManifest(s, "acme/app", `by-${field.replace("_", "-")}`, image.manifest);
      expect(
        server.requests.slice(before).map((r) => ({ user: r.user, scopes: sortActions(r.scopes), outcome: r.outcome })),
      ).toEqual([
        { user: "ci", scopes: ["repository:acme/app:pull"], outcome: "granted" },
        { user: "ci", scopes: ["repository:acme/app:pull,push"], outcome: "granted" },
      ]);
    }
    server.field = "token";
  });

  it("a mount asks for push on the target and pull on the source in one token", async () => {
    const registry = registries.token!;
    const s = new RegistrySession({ host: registry.host, plainHttp: true, credentials: CREDS, ...noSleep });
    const before = registry.tokenServer!.requests.length;
    expect(await mountBlob(s, "acme/mounted", image.layerDigest, "acme/app")).toBe(true);
    expect(registry.tokenServer!.requests.slice(before).map((r) => sortActions(r.scopes))).toEqual([
      ["repository:acme/app:pull", "repository:acme/mounted:pull,push"],
    ]);
  });
});

describe("a streamed copy between two registries", () => {
  it.each([
    { rule: "monolithic PUT", chunkBytes: undefined, repository: "copied/mono" },
    { rule: "PATCH chunks of 100 bytes then PUT", chunkBytes: 100, repository: "copied/chunked" },
  ])("$rule: blobs then the manifest, skopeo reads it from the target", async ({ chunkBytes, repository }) => {
    const source = new RegistrySession({
      host: registries.htpasswd!.host,
      plainHttp: true,
      credentials: CREDS,
      ...noSleep,
    });
    const target = new RegistrySession({
      host: registries.token!.host,
      plainHttp: true,
      credentials: CREDS,
      ...noSleep,
    });
    for (const digest of [image.configDigest, image.layerDigest])
      expect(await copyBlob(source, "acme/app", target, repository, digest, chunkBytes ? { chunkBytes } : {})).toBe(
        "uploaded",
      );
    expect(await copyBlob(source, "acme/app", target, repository, image.layerDigest)).toBe("present");
    const { bytes, mediaType } = await getManifest(source, "acme/app", image.manifestDigest);
    await putManifest(target, repository, "v1", bytes, mediaType);
    const inspected = JSON.parse(
      (
        await skopeo(
          "inspect",
          "--tls-verify=false",
          "--creds",
          `ci:${USERS.ci}`,
          `docker://${registries.token!.host}/${repository}:v1`,
        )
      ).toString(),
    ) as { Digest: string; Layers: string[] };
    expect(inspected).toMatchObject({ Digest: image.manifestDigest, Layers: [image.layerDigest] });
  });
});

describe("a source that serves other bytes than its digest", () => {
  // The source's fetch flips the blob's first byte, as a corrupting cache or proxy would.
  const corrupting: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (!String(input instanceof Request ? input.url : input).includes("/blobs/sha256:") || init?.method !== "GET")
      return res;
    const bytes = new Uint8Array(await res.arrayBuffer());
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    return new Response(bytes, { status: res.status, headers: res.headers });
  };
  it.each([
    { rule: "monolithic PUT", chunkBytes: undefined, repository: "corrupt/mono" },
    { rule: "PATCH chunks", chunkBytes: 100, repository: "corrupt/chunked" },
  ])("$rule: fails as a digest mismatch and the target stores nothing", async ({ chunkBytes, repository }) => {
    const source = new RegistrySession({
      host: registries.htpasswd!.host,
      plainHttp: true,
      credentials: CREDS,
      fetch: corrupting,
      ...noSleep,
    });
    const target = new RegistrySession({
      host: registries.token!.host,
      plainHttp: true,
      credentials: CREDS,
      ...noSleep,
    });
    const error = (await copyBlob(
      source,
      "acme/app",
      target,
      repository,
      image.layerDigest,
      chunkBytes ? { chunkBytes } : {},
    ).catch((e: unknown) => e)) as RegistryError;
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.message).toMatch(
      /digest mismatch: blob acme\/app@sha256:[0-9a-f]{64} hashes to sha256:[0-9a-f]{64}, expected/,
    );
    expect(await headBlob(target, repository, image.layerDigest)).toBeUndefined();
  });
});

describe("a registry that leaves Docker-Content-Digest out", () => {
  it("a HEAD by tag is answered from the body's digest", async () => {
    const stripping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(res.headers);
      headers.delete("docker-content-digest");
      return new Response(init?.method === "HEAD" ? null : await res.arrayBuffer(), { status: res.status, headers });
    };
    const s = new RegistrySession({
      host: registries.htpasswd!.host,
      plainHttp: true,
      credentials: CREDS,
      fetch: stripping,
      ...noSleep,
    });
    expect(await headManifest(s, "acme/app", "v1")).toEqual({
      digest: image.manifestDigest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: image.manifest.length,
    });
  });
});

describe("what registries send, through a fault proxy in front of the htpasswd registry", () => {
  let proxy: FaultProxy;
  const slept: number[] = [];
  // Warmed by one request, so the session already sends Basic credentials and a fault hits the request under test.
  const session = async (retries = 3, attemptTimeoutMs = 30_000) => {
    const s = new RegistrySession({
      host: proxy.host,
      plainHttp: true,
      credentials: CREDS,
      policy: { retries, baseDelayMs: 1000, maxDelayMs: 30_000, attemptTimeoutMs },
      sleep: (ms) => (slept.push(ms), Promise.resolve()),
    });
    await headBlob(s, "acme/app", image.layerDigest);
    return s;
  };
  beforeAll(async () => {
    proxy = await startFaultProxy(registries.htpasswd!.port);
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it.each(REGISTRY_ERRORS)("$name ($status): $kind", async ({ status, reason, errors, kind, retryAfterMs }) => {
    proxy.clear();
    slept.length = 0;
    const manifests = on("GET", "/manifests/v1");
    const before = proxy.count(manifests);
    proxy.failNext(1, { status, reason, errors }, manifests);
    if (kind === "rate-limit") {
      const got = await getManifest(await session(), "acme/app", "v1");
      expect(got.digest).toBe(image.manifestDigest);
      expect({ requests: proxy.count(manifests) - before, slept }).toEqual({
        requests: 2,
        slept: [retryAfterMs ?? 1000],
      });
    } else {
      const error = (await getManifest(await session(), "acme/app", "v1").catch((e: unknown) => e)) as RegistryError;
      expect({ kind: error.failure.kind, requests: proxy.count(manifests) - before, slept }).toEqual({
        kind,
        requests: 1,
        slept: [],
      });
      expect(error.message).toMatch(/toomanyrequests: You have reached your .*pull rate limit.*authenticate pulls/);
    }
  });

  it("a retry-after longer than the policy's cap waits the cap", async () => {
    proxy.clear();
    slept.length = 0;
    proxy.failNext(
      1,
      { status: 429, errors: [{ code: "TOOMANYREQUESTS", message: "retry-after: 2m0s, allowed: 2000/minute" }] },
      on("GET", "/manifests/v1"),
    );
    expect(await getManifest(await session(), "acme/app", "v1")).toMatchObject({ digest: image.manifestDigest });
    expect(slept).toEqual([30_000]);
  });

  it("a Retry-After header is honoured as seconds", async () => {
    proxy.clear();
    slept.length = 0;
    proxy.failNext(1, { status: 429, retryAfter: 7 }, on("HEAD", "/manifests/v1"));
    await headManifest(await session(), "acme/app", "v1");
    expect(slept).toEqual([7000]);
  });

  it("a body that does not hash to the registry's digest fails as a mismatch, not retried", async () => {
    proxy.clear();
    const wrong = `sha256:${"0".repeat(64)}`;
    const gets = on("GET", "/manifests/v1");
    const before = proxy.count(gets);
    proxy.failNext(1, { wrongDigest: wrong }, gets);
    const error = (await getManifest(await session(), "acme/app", "v1").catch((e: unknown) => e)) as RegistryError;
    expect(error.message).toMatch(
      /digest mismatch: acme\/app:v1 hashes to sha256:[0-9a-f]{64}, expected sha256:0{64}.*do not trust/,
    );
    expect(proxy.count(gets) - before).toBe(1);
  });

  it("every request is bounded: a registry that never answers fails as timed out, outcome unknown for a manifest PUT", async () => {
    proxy.clear();
    proxy.failNext(1, "hang", on("PUT", "/manifests/"));
    const error = (await putManifest(await session(0, 500), "acme/app", "hung", image.manifest).catch(
      (e: unknown) => e,
    )) as RegistryError;
    expect({ kind: error.failure.kind, unknown: error.failure.outcomeUnknown }).toEqual({
      kind: "transient",
      unknown: true,
    });
    expect(error.message).toMatch(/request timed out after 0\.5 s/);
  });

  it("a 503 then success is retried with the policy's backoff", async () => {
    proxy.clear();
    slept.length = 0;
    proxy.failNext(2, { status: 503, reason: "Service Unavailable" }, on("GET", "/tags/list"));
    expect(await listTags(await session(), "acme/app")).toContain("v1");
    expect(slept).toEqual([1000, 2000]);
  });

  it.each(["drop"] as const)("a dropped connection (%s) is transient and retried", async (fault) => {
    proxy.clear();
    slept.length = 0;
    proxy.failNext(1, fault, on("GET", "/manifests/"));
    expect((await getManifest(await session(), "acme/app", "v1")).digest).toBe(image.manifestDigest);
    expect(slept).toEqual([1000]);
  });
});
