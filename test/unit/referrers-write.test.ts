// Unit: writing an OCI 1.1 referrer — the artifact manifest's bytes, the fallback index merge, bundleArtifact's
// annotations (what cosign v3 reads), and attachReferrer's requests against an in-memory registry on `fetch`.
import { createHash } from "node:crypto";

import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import {
  attachReferrer,
  EMPTY_CONFIG,
  mergeReferrersIndex,
  pushBlob,
  referrerManifest,
  RegistrySession,
  type Descriptor,
} from "../../src/registry/index.js";
import { BUNDLE_V03_MEDIA_TYPE, bundleArtifact, type SigstoreBundle } from "../../src/signing/index.js";

const sha = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const IMAGE: Descriptor = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: sha("image"),
  size: 512,
};
const EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const blobOf = (s: string) => ({ mediaType: "application/x.test", digest: sha(s), size: s.length });

describe("the OCI empty config", () => {
  it("is `{}`, whose digest the image spec gives", () => {
    expect(text(EMPTY_CONFIG.bytes)).toBe("{}");
    expect(sha(EMPTY_CONFIG.bytes)).toBe(EMPTY_DIGEST);
  });
});

describe("referrerManifest: the artifact manifest's bytes", () => {
  const config = { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_DIGEST, size: 2 };
  it.each([
    {
      rule: "annotations given: kept as given",
      annotations: { "org.opencontainers.image.created": "2026-12-05T18:00:00Z", a: "b" } as Record<string, string>,
      want: { "org.opencontainers.image.created": "2026-12-05T18:00:00Z", a: "b" } as
        Record<string, string> | undefined,
    },
    { rule: "no annotations: no field (no created time made up)", annotations: undefined, want: undefined },
    { rule: "empty annotations: no field", annotations: {}, want: undefined },
  ])("$rule", ({ annotations, want }) => {
    const layer = blobOf("bundle");
    const bytes = referrerManifest(
      IMAGE,
      {
        artifactType: "application/x.test.v1+json",
        blob: { mediaType: layer.mediaType, bytes: new Uint8Array() },
        ...(annotations ? { annotations } : {}),
      },
      config,
      layer,
    );
    expect(JSON.parse(text(bytes))).toEqual({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/x.test.v1+json",
      config,
      layers: [layer],
      subject: IMAGE,
      ...(want ? { annotations: want } : {}),
    });
  });
});

describe("mergeReferrersIndex: the fallback index's read-modify-write", () => {
  const mine: Descriptor = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: sha("mine"),
    size: 300,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    annotations: { "dev.sigstore.bundle.content": "dsse-envelope" },
  };
  const other: Descriptor = { ...mine, digest: sha("other"), artifactType: "application/spdx+json" };
  const index = (manifests: Descriptor[], extra: Record<string, unknown> = {}) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests,
        ...extra,
      }),
    );
  it.each([
    { rule: "no index yet: a new one listing it", existing: undefined, want: [mine] },
    { rule: "an empty index: it is added", existing: index([]), want: [mine] },
    { rule: "other referrers: kept, it is added after them", existing: index([other]), want: [other, mine] },
    { rule: "already listed: unchanged (nothing to write)", existing: index([other, mine]), want: undefined },
  ])("$rule", ({ existing, want }) => {
    const merged = mergeReferrersIndex(existing, mine);
    if (want === undefined) return expect(merged).toBeUndefined();
    expect(merged).toBeDefined();
    expect(JSON.parse(text(merged!))).toEqual({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: want,
    });
  });

  it("keeps the index's own fields (annotations another tool wrote)", () => {
    const merged = mergeReferrersIndex(index([other], { annotations: { x: "y" } }), mine);
    expect(JSON.parse(text(merged!))).toMatchObject({ annotations: { x: "y" }, manifests: [other, mine] });
  });

  it("refuses a tag that holds an image, not an index", () => {
    const image = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IMAGE.mediaType, layers: [] }));
    expect(() => mergeReferrersIndex(image, mine)).toThrow(/not an OCI index/);
  });
});

const BUNDLE = {
  mediaType: BUNDLE_V03_MEDIA_TYPE,
  verificationMaterial: {
    certificate: { rawBytes: "AAAA" },
    tlogEntries: [],
    timestampVerificationData: { rfc3161Timestamps: [] },
  },
  dsseEnvelope: { payload: "e30=", payloadType: "application/vnd.in-toto+json", signatures: [{ sig: "AAAA" }] },
} as unknown as SigstoreBundle;

describe("bundleArtifact: a bundle as the referrer cosign v3 reads", () => {
  it.each([
    { predicateType: "https://sigstore.dev/cosign/sign/v1", created: "2026-12-05T18:00:00Z" },
    { predicateType: "https://slsa.dev/provenance/v1", created: "2026-12-05T18:00:00.123+01:00" },
  ])("$predicateType at $created", ({ predicateType, created }) => {
    const artifact = bundleArtifact(BUNDLE, predicateType, created);
    expect(artifact.artifactType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(artifact.blob.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(JSON.parse(text(artifact.blob.bytes))).toEqual(BUNDLE);
    expect(artifact.annotations).toEqual({
      "dev.sigstore.bundle.content": "dsse-envelope",
      "dev.sigstore.bundle.predicateType": predicateType,
      "org.opencontainers.image.created": created,
    });
  });

  it.each([
    { rule: "an empty predicate type", predicateType: "", created: "2026-12-05T18:00:00Z", why: /predicate type/ },
    { rule: "a date without a time", predicateType: "p", created: "2026-12-05", why: /created "2026-12-05"/ },
    { rule: "no time zone", predicateType: "p", created: "2026-12-05T18:00:00", why: /RFC 3339/ },
    { rule: "month 13", predicateType: "p", created: "2026-13-05T18:00:00Z", why: /RFC 3339/ },
  ])("refuses $rule", ({ predicateType, created, why }) => {
    expect(() => bundleArtifact(BUNDLE, predicateType, created)).toThrow(InvalidInputError);
    expect(() => bundleArtifact(BUNDLE, predicateType, created)).toThrow(why);
  });
});

/** An in-memory registry on `fetch`: blobs and manifests by digest or tag; `ociSubject` answers the header. */
function memoryRegistry(ociSubject: boolean) {
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, { bytes: Uint8Array; type: string }>();
  const log: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const path = url.pathname.replace(/^\/v2\/acme\/app\//, "");
    log.push(`${method} ${path}`);
    const body = init?.body ? new Uint8Array(init.body as Uint8Array) : new Uint8Array();
    if (path.startsWith("blobs/uploads/")) {
      if (method === "POST")
        return new Response(null, { status: 202, headers: { Location: "/v2/acme/app/blobs/uploads/u1" } });
      const digest = url.searchParams.get("digest") ?? "";
      if (sha(body) !== digest) return new Response('{"errors":[{"code":"DIGEST_INVALID"}]}', { status: 400 });
      blobs.set(digest, body);
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
    }
    if (path.startsWith("blobs/")) {
      const b = blobs.get(path.slice(6));
      return b
        ? new Response(method === "HEAD" ? null : b, { headers: { "Content-Length": String(b.length) } })
        : new Response(null, { status: 404 });
    }
    const ref = path.slice("manifests/".length);
    if (method === "PUT") {
      const type = (init?.headers as Record<string, string>)["Content-Type"] ?? "";
      manifests.set(ref, { bytes: body, type });
      const subject = (JSON.parse(text(body)) as { subject?: { digest: string } }).subject;
      const headers: Record<string, string> = { "Docker-Content-Digest": sha(body) };
      if (ociSubject && subject) headers["OCI-Subject"] = subject.digest;
      return new Response(null, { status: 201, headers });
    }
    const m = manifests.get(ref);
    if (!m) return new Response(null, { status: 404 });
    const headers = {
      "Content-Type": m.type,
      "Docker-Content-Digest": sha(m.bytes),
      "Content-Length": String(m.bytes.length),
    };
    return new Response(method === "HEAD" ? null : m.bytes, { headers });
  };
  const session = new RegistrySession({ host: "r.test", fetch: fetch as typeof globalThis.fetch });
  return { session, blobs, manifests, log };
}

describe("pushBlob", () => {
  it.each([
    { rule: "absent: HEAD, POST, PUT by digest", before: false, want: ["HEAD", "POST", "PUT"] },
    { rule: "present: HEAD only", before: true, want: ["HEAD"] },
  ])("$rule", async ({ before, want }) => {
    const r = memoryRegistry(false);
    const bytes = new TextEncoder().encode("hello");
    if (before) r.blobs.set(sha(bytes), bytes);
    expect(await pushBlob(r.session, "acme/app", bytes)).toEqual({ digest: sha(bytes), size: 5 });
    expect(r.log.map((l) => l.split(" ")[0])).toEqual(want);
    expect(r.blobs.get(sha(bytes))).toEqual(bytes);
  });

  it("fails as a digest mismatch when the registry says it stored other bytes", async () => {
    const other = sha("other");
    const fetch = (async (_u: unknown, init?: RequestInit) => {
      if (init?.method === "HEAD") return new Response(null, { status: 404 });
      if (init?.method === "POST")
        return new Response(null, { status: 202, headers: { Location: "/v2/acme/app/blobs/uploads/u1" } });
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": other } });
    }) as typeof globalThis.fetch;
    const session = new RegistrySession({ host: "r.test", fetch });
    await expect(pushBlob(session, "acme/app", new Uint8Array([1]))).rejects.toThrow(/digest mismatch/);
  });

  it("refuses an upload Location on another host", async () => {
    const fetch = () =>
      Promise.resolve(new Response(null, { status: 202, headers: { Location: "https://evil.example/upload" } }));
    const session = new RegistrySession({
      host: "r.test",
      fetch: (async (_u: unknown, init?: RequestInit) =>
        init?.method === "HEAD" ? new Response(null, { status: 404 }) : fetch()) as typeof globalThis.fetch,
    });
    await expect(pushBlob(session, "acme/app", new Uint8Array([1]))).rejects.toThrow(/another host/);
  });
});

describe("attachReferrer: the spec's two paths", () => {
  const artifact = bundleArtifact(BUNDLE, "https://sigstore.dev/cosign/sign/v1", "2026-12-05T18:00:00Z");
  const tag = `sha256-${IMAGE.digest.slice(7)}`;
  it.each([
    { rule: "the registry answers OCI-Subject: no fallback tag", ociSubject: true, fallbackTag: undefined },
    { rule: "no OCI-Subject: the fallback index lists it", ociSubject: false, fallbackTag: tag },
  ])("$rule", async ({ ociSubject, fallbackTag }) => {
    const r = memoryRegistry(ociSubject);
    const attached = await attachReferrer(r.session, "acme/app", IMAGE, artifact);
    expect(attached.fallbackTag).toBe(fallbackTag);
    expect(attached.artifactType).toBe(BUNDLE_V03_MEDIA_TYPE);
    const stored = r.manifests.get(attached.digest);
    expect(stored && sha(stored.bytes)).toBe(attached.digest);
    expect(stored?.bytes.length).toBe(attached.size);
    expect(r.blobs.has(EMPTY_DIGEST)).toBe(true);
    expect(r.blobs.get(sha(artifact.blob.bytes))).toEqual(artifact.blob.bytes);
    const index = r.manifests.get(tag);
    if (fallbackTag === undefined) return expect(index).toBeUndefined();
    expect(index?.type).toBe("application/vnd.oci.image.index.v1+json");
    expect(JSON.parse(text(index!.bytes)).manifests).toEqual([
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: attached.digest,
        size: attached.size,
        artifactType: BUNDLE_V03_MEDIA_TYPE,
        annotations: artifact.annotations,
      },
    ]);
    // Attaching again writes no second index: the digest is listed already.
    const puts = r.log.filter((l) => l === `PUT manifests/${tag}`).length;
    await attachReferrer(r.session, "acme/app", IMAGE, artifact);
    expect(r.log.filter((l) => l === `PUT manifests/${tag}`)).toHaveLength(puts);
  });

  it.each([
    { rule: "a subject digest that is not one", subject: { ...IMAGE, digest: "sha256:abc" }, why: /not a digest/ },
    { rule: "a subject size of 0", subject: { ...IMAGE, size: 0 }, why: /subject size 0/ },
    {
      rule: "a subject media type that is not one",
      subject: { ...IMAGE, mediaType: "oci" },
      why: /subject media type "oci"/,
    },
    { rule: "an artifact type that is not one", subject: IMAGE, type: "bundle", why: /artifact type "bundle"/ },
  ])("refuses $rule before any request", async ({ subject, type, why }) => {
    const r = memoryRegistry(false);
    await expect(
      attachReferrer(r.session, "acme/app", subject, { ...artifact, artifactType: type ?? artifact.artifactType }),
    ).rejects.toThrow(why);
    expect(r.log).toEqual([]);
  });
});
