// Rung 3 (engine double): attachReferrer against Debian's docker-registry 2.8.2 on loopback (no referrers API, so
// the referrers tag schema), with htpasswd and with token auth, skopeo as the independent reader; and end to end:
// signImage against Sigstore's mock Fulcio and Rekor → bundleArtifact → attachReferrer → read back → the bundle
// verifies with @sigstore/verify for the signer's identity and issuer.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  attachReferrer,
  getBlob,
  getManifest,
  listReferrers,
  referrersTag,
  RegistrySession,
  type ReferrerArtifact,
} from "../../src/registry/index.js";
import {
  BUNDLE_V03_MEDIA_TYPE,
  bundleArtifact,
  COSIGN_SIGN_PREDICATE_TYPE,
  signImage,
} from "../../src/signing/index.js";
import { testJwt, useSigstore } from "../fixtures/sigstore.js";
import { writeLayout, type LayoutImage } from "../infra/oci-layout.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { rawRead, skopeo } from "../infra/skopeo.js";

const USERS = { ci: "ci-pass-a7c2" };
const CREDS = { username: "ci", password: USERS.ci };
const SKOPEO_CREDS = `ci:${USERS.ci}`;
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

const artifact = (n: number): ReferrerArtifact => ({
  artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
  blob: { mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", bytes: Buffer.from(`{"bundle":${n}}`) },
  annotations: {
    "dev.sigstore.bundle.content": "dsse-envelope",
    "org.opencontainers.image.created": "2026-12-05T18:00:00Z",
  },
});

let layoutDir: string;
let image: LayoutImage;
const registries: Record<string, Registry> = {};

beforeAll(async () => {
  layoutDir = await mkdtemp(path.join(os.tmpdir(), "dockyard-referrers-"));
  image = await writeLayout(layoutDir, "v1", "signed by dockyard\n");
  [registries.htpasswd, registries.token] = await Promise.all([
    startRegistry({ users: USERS }),
    startRegistry({ users: USERS, tokenAuth: {} }),
  ]);
  for (const registry of Object.values(registries))
    for (const repository of ["acme/app", "acme/signed"])
      await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        SKOPEO_CREDS,
        `oci:${layoutDir}:v1`,
        `docker://${registry.host}/${repository}:v1`,
      );
});

afterAll(async () => {
  await Promise.all(Object.values(registries).map((r) => r.stop()));
  await rm(layoutDir, { recursive: true, force: true });
});

describe.each(["htpasswd", "token"])("attachReferrer on docker-registry 2.8.2 with %s auth (tag schema)", (auth) => {
  const registry = () => registries[auth]!;
  const session = () =>
    new RegistrySession({ host: registry().host, plainHttp: true, credentials: CREDS, sleep: () => Promise.resolve() });
  const subject = () => ({ mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifest.length });
  const tag = () => referrersTag(image.manifestDigest);
  const attached: string[] = [];

  it.each([
    { rule: "the first artifact: stored by digest, the fallback index lists it", n: 1, listed: [1] },
    { rule: "a second artifact: the index keeps both", n: 2, listed: [1, 2] },
    { rule: "the first again: listed once", n: 1, listed: [1, 2] },
  ])("$rule", async ({ n, listed }) => {
    const s = session();
    const a = await attachReferrer(s, "acme/app", subject(), artifact(n));
    if (!attached.includes(a.digest)) attached.push(a.digest);
    expect(a).toMatchObject({ mediaType: OCI_MANIFEST, artifactType: BUNDLE_V03_MEDIA_TYPE, fallbackTag: tag() });
    expect(tag()).toBe(`sha256-${image.manifestDigest.slice(7)}`);

    // skopeo reads the artifact manifest by digest: the bytes we hashed, subject = the image, one bundle layer.
    const raw = await rawRead(`${registry().host}/acme/app@${a.digest}`, SKOPEO_CREDS);
    expect(sha256(raw)).toBe(a.digest);
    expect(raw.length).toBe(a.size);
    const manifest = JSON.parse(text(raw)) as Record<string, unknown> & { layers: { digest: string }[] };
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03_MEDIA_TYPE,
      config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
      subject: subject(),
    });
    expect(text(await getBlob(s, "acme/app", manifest.layers[0]!.digest))).toBe(`{"bundle":${n}}`);

    // skopeo reads the fallback tag: an OCI index listing each artifact once, with its type and annotations.
    const index = JSON.parse(text(await rawRead(`${registry().host}/acme/app:${tag()}`, SKOPEO_CREDS))) as {
      mediaType: string;
      manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[];
    };
    expect(index.mediaType).toBe(OCI_INDEX);
    expect(index.manifests.map((d) => d.digest)).toEqual(attached);
    expect(index.manifests.every((d) => d.artifactType === BUNDLE_V03_MEDIA_TYPE)).toBe(true);
    expect(index.manifests[0]?.annotations).toEqual(artifact(1).annotations);

    // listReferrers, as any reader would: the API's 404, then the tag schema.
    const found = await listReferrers(s, "acme/app", image.manifestDigest, BUNDLE_V03_MEDIA_TYPE);
    expect(found.source).toBe("tag-schema");
    const bodies = await Promise.all(
      found.descriptors.map(async (d) => {
        const m = JSON.parse(text((await getManifest(s, "acme/app", d.digest)).bytes)) as {
          layers: { digest: string }[];
        };
        return text(await getBlob(s, "acme/app", m.layers[0]!.digest));
      }),
    );
    expect(bodies).toEqual(listed.map((k) => `{"bundle":${k}}`));
  });
});

describe("end to end: sign with the mock Sigstore, attach on docker-registry 2.8.2, read back, verify", () => {
  const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
  const ISS = "https://token.actions.githubusercontent.com";
  const sigstore = useSigstore();

  const verify = (bundle: unknown, identity: string, issuer: string) =>
    // No SCT to check: see test/fixtures/sigstore.ts (the mock's CT log writes SCTs @sigstore/core cannot parse).
    new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 }).verify(
      toSignedEntity(bundleFromJSON(bundle)),
      { subjectAlternativeName: identity, extensions: { issuer } },
    );

  it.each(["htpasswd", "token"])("with %s auth", async (auth) => {
    const registry = registries[auth]!;
    const s = new RegistrySession({ host: registry.host, plainHttp: true, credentials: CREDS });
    const now = Date.now();
    const { bundle } = await signImage({
      image: `${registry.host}/acme/signed`,
      digest: image.manifestDigest,
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      predicate: {},
      oidcToken: testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: Math.floor(now / 1000) + 600 }),
      fulcioUrl: sigstore.url,
      rekorUrl: sigstore.url,
      now: () => now,
      sleep: () => Promise.resolve(),
    });
    const created = new Date(now).toISOString().replace(/\.\d+Z$/, "Z");
    const subject = { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifest.length };
    const attached = await attachReferrer(
      s,
      "acme/signed",
      subject,
      bundleArtifact(bundle, COSIGN_SIGN_PREDICATE_TYPE, created),
    );

    // Read back as a verifier would: referrers of the digest by artifact type, the manifest, its bundle layer.
    const found = await listReferrers(s, "acme/signed", image.manifestDigest, BUNDLE_V03_MEDIA_TYPE);
    expect(found.descriptors).toEqual([
      {
        mediaType: OCI_MANIFEST,
        digest: attached.digest,
        size: attached.size,
        artifactType: BUNDLE_V03_MEDIA_TYPE,
        annotations: {
          "dev.sigstore.bundle.content": "dsse-envelope",
          "dev.sigstore.bundle.predicateType": COSIGN_SIGN_PREDICATE_TYPE,
          "org.opencontainers.image.created": created,
        },
      },
    ]);
    const manifest = JSON.parse(text((await getManifest(s, "acme/signed", attached.digest)).bytes)) as {
      layers: { mediaType: string; digest: string }[];
    };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([BUNDLE_V03_MEDIA_TYPE]);
    const stored = JSON.parse(text(await getBlob(s, "acme/signed", manifest.layers[0]!.digest))) as unknown;
    const statement = JSON.parse(
      Buffer.from((stored as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, "base64").toString("utf8"),
    ) as { subject: { digest: { sha256: string } }[] };
    expect(statement.subject[0]?.digest.sha256).toBe(image.manifestDigest.slice(7));
    const signer = verify(stored, SUB, ISS);
    expect(signer.identity?.subjectAlternativeName).toBe(SUB);
    expect(signer.identity?.extensions?.issuer).toBe(ISS);
    expect(() => verify(stored, "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", ISS)).toThrow();
  });
});
