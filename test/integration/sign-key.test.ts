// Rung 3 (engine double): `publish --sign --signing-key` and `sign --signing-key` called as the module through the
// double (docker backend, Secrets read with Secret.plaintext), pushing to Debian's docker-registry 2.8.2 on loopback
// (the referrers tag-schema fallback); no Fulcio; Rekor is Sigstore's mock on loopback, or none with --tlog=false.
// Every bundle is read back as a referrer and verified by @sigstore/verify against the key's public key.
import { createPublicKey } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { join } from "node:path";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { writeIndexLayout, type LayoutIndex } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { pushLayout } from "../infra/skopeo.js";
import { KEY_PASSWORD, p256Key, pemBody } from "../fixtures/signing-keys.js";
import { REKOR_PATH, useSigstore } from "../fixtures/sigstore.js";
import { getBlob, getManifest, listReferrers, RegistrySession } from "../../src/registry/index.js";
import {
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  parseSigningKey,
  SLSA_PROVENANCE_PREDICATE_TYPE,
} from "../../src/signing/index.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 key signing suite (docker backend)");

const PASSWORD = "ci-pass-3c8d";
const KEY = p256Key();
const FINGERPRINT = parseSigningKey(KEY.pkcs8).fingerprint;

/** Every form of the key a leak could take: each PEM whole, its base64 body and a line of it, the password. */
function keyForms(): string[] {
  const pems = [KEY.pkcs8, KEY.sec1, KEY.encrypted];
  const forms = [...pems, ...pems.map(pemBody), ...pems.map((p) => pemBody(p).slice(0, 48)), KEY_PASSWORD];
  return [...forms, ...forms.map((f) => Buffer.from(f).toString("base64"))];
}
function expectNoKey(text: string) {
  for (const form of keyForms()) expect(text).not.toContain(form);
}

describe.skipIf(!docker)("key-based signing through the module, verified by @sigstore/verify", () => {
  let world: DockerWorld;
  let registry: Registry;
  let proxy: FaultProxy;
  const sigstore = useSigstore();
  let layout: string;
  let prebuilt: LayoutIndex;

  beforeAll(async () => {
    layout = await mkdtemp(path.join(os.tmpdir(), "dockyard-sign-key-"));
    [world, registry, prebuilt] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      writeIndexLayout(layout, "v1", ["amd64", "arm64"]),
    ]);
    proxy = await startFaultProxy(registry.port);
    await pushLayout(layout, "v1", `${registry.host}/acme/prebuilt:v1`, `ci:${PASSWORD}`);
  });

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await world?.stop();
    await rm(layout, { recursive: true, force: true });
  });

  beforeEach(() => {
    world.double.reset();
  });

  const session = () =>
    new RegistrySession({ host: registry.host, plainHttp: true, credentials: { username: "ci", password: PASSWORD } });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });
  const publishDir = () => gitFixture(join(REPO_ROOT, "test/fixtures/multiarch")).dir;

  /** @sigstore/verify with the key as the only trust for its hint; a Rekor entry required when `tlog`. */
  function verifyWithKey(bundle: unknown, tlog: boolean) {
    const trust = toTrustMaterial(sigstore.trustedRoot, (hint) => {
      if (hint !== FINGERPRINT) throw new VerificationError({ code: "PUBLIC_KEY_ERROR", message: `no key ${hint}` });
      return { publicKey: createPublicKey(KEY.publicPem), validFor: () => true };
    });
    const verifier = new Verifier(trust, {
      ctlogThreshold: 0,
      tlogThreshold: tlog ? 1 : 0,
      timestampThreshold: tlog ? 1 : 0,
    });
    return verifier.verify(toSignedEntity(bundleFromJSON(bundle)));
  }

  /**
   * For each `name@subject=referrer;tag=…`: the referrer listed for the subject holds a bundle of `predicateType`
   * that names the key by its hint (no certificate), has a Rekor entry exactly when `tlog`, verifies against the key
   * and whose statement names this repository and subject. Returns every stored byte, for the canary.
   */
  async function expectKeySigned(repository: string, lines: string[], predicateType: string, tlog: boolean) {
    const s = session();
    let stored = "";
    for (const line of lines) {
      const m = /^([^@]+)@(sha256:[0-9a-f]{64})=(sha256:[0-9a-f]{64});tag=(sha256-[0-9a-f]{64})$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, name, subject, referrer] = m!;
      const listed = await listReferrers(s, repository, subject!, BUNDLE_V03_MEDIA_TYPE);
      expect(listed.descriptors.map((d) => d.digest)).toContain(referrer);
      const manifest = await getManifest(s, repository, referrer!);
      const body = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as {
        layers: { digest: string }[];
        annotations: Record<string, string>;
      };
      expect(body.annotations["dev.sigstore.bundle.predicateType"]).toBe(predicateType);
      const bytes = await getBlob(s, repository, body.layers[0]!.digest);
      const bundle = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
        verificationMaterial: Record<string, unknown> & { tlogEntries: unknown[] };
        dsseEnvelope: { payload: string };
      };
      expect(bundle.verificationMaterial.publicKey).toEqual({ hint: FINGERPRINT });
      expect(bundle.verificationMaterial.certificate).toBeUndefined();
      expect(bundle.verificationMaterial.tlogEntries).toHaveLength(tlog ? 1 : 0);
      verifyWithKey(bundle, tlog);
      // With a Rekor entry, a verifier that requires one refuses nothing; without, it refuses: the entry counts.
      if (!tlog) expect(() => verifyWithKey(bundle, true)).toThrow(/tlog|timestamp/i);
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as {
        subject: unknown;
        predicateType: string;
      };
      expect(statement.subject).toEqual([{ name, digest: { sha256: subject!.slice(7) } }]);
      expect(statement.predicateType).toBe(predicateType);
      stored += Buffer.from(manifest.bytes).toString("utf8") + Buffer.from(bytes).toString("utf8");
    }
    return stored;
  }

  it("publish --sign --signing-key (PKCS#8), two platforms: index and platforms verify against the key; 3 Rekor entries, no Fulcio", async () => {
    const result = await world.double
      .module({ args: { source: world.double.hostDirectory(publishDir()) } })
      .call(
        "publish",
        {
          images: [`${registry.host}/acme/keyed`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          sign: true,
          signingKey: world.double.cliSecret(KEY.pkcs8),
          rekorUrl: sigstore.url,
        },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    const pub = publicationData(result);
    expect(pub).toMatchObject({
      pushed: true,
      verified: true,
      signerIdentity: "",
      signerIssuer: "",
      signerKeyFingerprint: FINGERPRINT,
    });
    expect(pub.signatures).toHaveLength(3);
    const signed = pub.signatures!.map((l) => /@(sha256:[0-9a-f]{64})=/.exec(l)![1]);
    expect(signed.sort()).toEqual([...pub.platformDigests.map((p) => p.split("=")[1]), pub.digest].sort());
    const stored = await expectKeySigned("acme/keyed", pub.signatures!, COSIGN_SIGN_PREDICATE_TYPE, true);
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [REKOR_PATH]: 3 });
    expect(result.githubOutput).toContain(`signer-key-fingerprint=${FINGERPRINT}\n`);
    expect(result.dotenv).toContain(`IMAGE_SIGNER_KEY_FINGERPRINT=${FINGERPRINT}\n`);
    expect(result.markdown).toContain(`| signed | 3 signature(s) by the key \`${FINGERPRINT}\``);
    expectNoKey(JSON.stringify(result) + stored);
    expectNoKey(JSON.stringify(world.double.journal));
  });

  it("publish --sign --signing-key (encrypted PKCS#8) --signing-key-password --tlog=false --provenance: no Sigstore request at all; signatures and provenance verify against the key", async () => {
    const result = await world.double
      .module({ args: { source: world.double.hostDirectory(publishDir()) } })
      .call(
        "publish",
        {
          images: [`${registry.host}/acme/airgapped`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          sign: true,
          signingKey: world.double.cliSecret(KEY.encrypted),
          signingKeyPassword: world.double.cliSecret(KEY_PASSWORD),
          tlog: false,
          // Unreachable on purpose: with --tlog=false nothing may contact it.
          rekorUrl: "http://127.0.0.1:9",
          provenance: true,
        },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    const pub = publicationData(result);
    expect(pub).toMatchObject({ signerIdentity: "", signerKeyFingerprint: FINGERPRINT });
    expect(pub.signatures).toHaveLength(3);
    expect(pub.provenanceAttestations).toHaveLength(3);
    let stored = await expectKeySigned("acme/airgapped", pub.signatures!, COSIGN_SIGN_PREDICATE_TYPE, false);
    stored += await expectKeySigned(
      "acme/airgapped",
      pub.provenanceAttestations!,
      SLSA_PROVENANCE_PREDICATE_TYPE,
      false,
    );
    expect(sigstore.total()).toBe(0);
    expectNoKey(JSON.stringify(result) + stored);
    expectNoKey(JSON.stringify(world.double.journal));
  });

  it("sign --signing-key (SEC1) of an index already pushed: the index and both platforms verify; the Signatures name the key", async () => {
    const result = await world.double
      .module()
      .call(
        "sign",
        {
          image: `${registry.host}/acme/prebuilt@${prebuilt.indexDigest}`,
          ...auth(),
          signingKey: world.double.cliSecret(KEY.sec1),
          rekorUrl: sigstore.url,
        },
        { returns: "Signatures" },
      )
      .result<{ signatures: string[]; signerIdentity: string; signerKeyFingerprint: string; json: string }>();
    expect(result).toMatchObject({ signerIdentity: "", signerKeyFingerprint: FINGERPRINT });
    expect(JSON.parse(result.json)).toMatchObject({ signerKeyFingerprint: FINGERPRINT });
    expect(result.signatures.map((l) => /@(sha256:[0-9a-f]{64})=/.exec(l)![1]).sort()).toEqual(
      [...prebuilt.images.map((i) => i.manifestDigest), prebuilt.indexDigest].sort(),
    );
    const stored = await expectKeySigned("acme/prebuilt", result.signatures, COSIGN_SIGN_PREDICATE_TYPE, true);
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [REKOR_PATH]: 3 });
    expectNoKey(JSON.stringify(result) + stored);
    expectNoKey(JSON.stringify(world.double.journal));
  });

  it.each([
    {
      name: "a wrong --signing-key-password",
      args: { signingKey: KEY.encrypted, signingKeyPassword: `${KEY_PASSWORD}-wrong` },
      why: /--signing-key-password does not decrypt --signing-key/,
    },
    {
      name: "--oidc-token and --signing-key",
      args: { signingKey: KEY.pkcs8, oidcToken: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" },
      why: /--oidc-token and --signing-key both given: pick one/,
    },
  ])(
    "publish with $name is refused before anything: no build, no registry request, no Sigstore request, no key in the error",
    async ({ args, why }) => {
      const mark = proxy.requests.length;
      const secrets = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, world.double.cliSecret(v)]));
      const err = await world.double
        .module({ args: { source: world.double.hostDirectory(publishDir()) } })
        .call("publish", {
          images: [`${proxy.host}/acme/refused`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          sign: true,
          rekorUrl: sigstore.url,
          ...secrets,
        })
        .result()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(FunctionCallError);
      const e = err as FunctionCallError;
      expect(e.message).toMatch(why);
      expect(world.double.builds).toBe(0);
      expect(
        world.double.journal.filter((j) => j.field === "Directory.dockerBuild" || j.field === "Container.publish"),
      ).toEqual([]);
      expect(proxy.requests.slice(mark)).toEqual([]);
      expect(sigstore.total()).toBe(0);
      expectNoKey(`${e.message}\n${e.stdout}\n${e.stderr}`);
      expectNoKey(JSON.stringify(world.double.journal));
    },
  );
});
