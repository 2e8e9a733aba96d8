// Rung 3 (engine double): `verify` called as the module through the double (docker backend; the password a Secret
// read with Secret.plaintext, --trusted-root a File read with File.contents) against Debian's docker-registry 2.8.2
// on loopback (no referrers API: the sha256-<hex> fallback tag), after `publish --sign --provenance` (and `sign`)
// with Sigstore's mock Fulcio and Rekor (@sigstore/mock 0.11) on loopback. verify makes no Sigstore request.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { join } from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { writeIndexLayout, type LayoutIndex } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { pushLayout } from "../infra/skopeo.js";
import { mockSigstore, testJwt, useSigstore } from "../fixtures/sigstore.js";
import {
  getBlob,
  getManifest,
  MEDIA_TYPES,
  pushBlob,
  putManifest,
  putManifestWithHeaders,
  referrersTag,
  RegistrySession,
  digestOf,
} from "../../src/registry/index.js";
import { COSIGN_SIGN_PREDICATE_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE } from "../../src/signing/index.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 verify suite (docker backend)");

const PASSWORD = "ci-pass-canary-4b9e";
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const TOKEN_CANARY = "canary-oidc-0c7d-never-echoed";
const TOKEN = testJwt({
  iss: ISS,
  sub: SUB,
  aud: "sigstore",
  exp: Math.floor(Date.now() / 1000) + 3600,
  jti: TOKEN_CANARY,
});
// A budget, not an assertion: a two-platform build, a push and six Rekor entries on a shared 2-core machine.
const PUBLISH_BUDGET_MS = 360_000;

interface VerificationResult {
  image: string;
  digest: string;
  platformDigests: string[];
  commit: string;
  signatures: string[];
  signerIdentity: string;
  signerIssuer: string;
  attestations: string[];
  json: string;
}

describe.skipIf(!docker)("verify --signature through the module, against the mock Sigstore's bundles", () => {
  let world: DockerWorld;
  let registry: Registry;
  const sigstore = useSigstore();
  let dir: string;
  let prebuilt: LayoutIndex;
  let roots: Record<"good" | "otherCa", string>;
  /** publish --sign --provenance's result, made once by the first test. */
  let published: { digest: string; commit: string; platformDigests: string[]; tag: string } | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-verify-"));
    [world, registry, prebuilt] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      writeIndexLayout(path.join(dir, "layout"), "v1", ["amd64", "arm64"]),
    ]);
    for (const repo of ["unsigned", "tampered"])
      await pushLayout(path.join(dir, "layout"), "v1", `${registry.host}/acme/${repo}:v1`, `ci:${PASSWORD}`);
    // A root whose CA is another mock Fulcio's, with the same Rekor key: only the certificate chain can fail.
    const other = await mockSigstore("http://127.0.0.1:9");
    const rootDir = path.join(dir, "roots");
    await mkdir(rootDir);
    await writeFile(path.join(rootDir, "good.json"), JSON.stringify(sigstore.trustedRootJson));
    await writeFile(
      path.join(rootDir, "other-ca.json"),
      JSON.stringify({
        ...sigstore.trustedRootJson,
        certificateAuthorities: other.trustedRootJson.certificateAuthorities,
      }),
    );
    const files = world.double.hostDirectory(rootDir);
    const fileId = async (name: string) => {
      const { body } = await world.double.query(
        `{ node(id: "${files}") { ... on Directory { file(path: "${name}") { id } } } }`,
      );
      expect(body.errors).toBeUndefined();
      return (body.data as { node: { file: { id: string } } }).node.file.id;
    };
    roots = { good: await fileId("good.json"), otherCa: await fileId("other-ca.json") };
  });

  afterAll(async () => {
    await registry?.stop();
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    world.double.reset();
  });

  const session = () =>
    new RegistrySession({ host: registry.host, plainHttp: true, credentials: { username: "ci", password: PASSWORD } });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });
  const policy = (over: Record<string, unknown> = {}) => ({
    signature: true,
    certificateIdentity: SUB,
    certificateOidcIssuer: ISS,
    trustedRoot: roots.good,
    ...over,
  });
  const verify = (image: string, args: Record<string, unknown>) =>
    world.double
      .module()
      .call("verify", { image, ...auth(), ...args }, { returns: "Verification" })
      .result<VerificationResult>();
  const failure = async (image: string, args: Record<string, unknown>) => {
    const err = await verify(image, args).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    expectNoSecret(`${e.message}\n${e.stdout}\n${e.stderr}\n${JSON.stringify(world.double.journal)}`);
    return e.message;
  };
  function expectNoSecret(text: string) {
    const forms = [PASSWORD, TOKEN, ...TOKEN.split("."), TOKEN_CANARY].flatMap((f) => [
      f,
      Buffer.from(f).toString("base64"),
      Buffer.from(f).toString("base64url"),
    ]);
    for (const form of forms.filter((f) => f.length >= 8)) expect(text).not.toContain(form);
  }

  /** publish --sign --provenance of the two-platform fixture, once: what every later test verifies. */
  async function publishSigned() {
    if (published) return published;
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const result = await world.double
      .module({ args: { source: world.double.hostDirectory(g.dir) } })
      .call(
        "publish",
        {
          images: [`${registry.host}/acme/signed`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          sign: true,
          oidcToken: world.double.cliSecret(TOKEN),
          fulcioUrl: sigstore.url,
          rekorUrl: sigstore.url,
          provenance: true,
        },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    const pub = publicationData(result);
    expect(pub).toMatchObject({ pushed: true, verified: true, signerIdentity: SUB });
    expect(pub.signatures).toHaveLength(3);
    const tag = pub.refs[0]!.split("@")[0]!.split(":").pop()!;
    published = { digest: pub.digest, commit: pub.commit, platformDigests: pub.platformDigests, tag };
    return published;
  }

  it(
    "publish --sign --provenance, two platforms: verify --signature --commit passes by digest and by tag; 3 signatures, 3 provenance attestations",
    async () => {
      const pub = await publishSigned();
      const image = `${registry.host}/acme/signed`;
      const before = sigstore.total();
      const byDigest = await verify(`${image}@${pub.digest}`, policy({ commit: pub.commit }));
      expect(byDigest).toMatchObject({
        image: `${image}@${pub.digest}`,
        digest: pub.digest,
        commit: pub.commit,
        signerIdentity: SUB,
        signerIssuer: ISS,
      });
      expect([...byDigest.platformDigests].sort()).toEqual([...pub.platformDigests].sort());
      // One signature per manifest: each platform, then the index.
      const subjects = (lines: string[]) => lines.map((l) => /@(sha256:[0-9a-f]{64})=sha256:/.exec(l)![1]!).sort();
      const manifests = [...pub.platformDigests.map((p) => p.split("=")[1]!), pub.digest].sort();
      expect(byDigest.signatures).toHaveLength(3);
      expect(subjects(byDigest.signatures)).toEqual(manifests);
      expect(byDigest.attestations).toHaveLength(3);
      expect(subjects(byDigest.attestations)).toEqual(manifests);
      for (const a of byDigest.attestations) expect(a).toMatch(`;predicate-type=${SLSA_PROVENANCE_PREDICATE_TYPE}`);
      expect(JSON.stringify(byDigest)).not.toContain(COSIGN_SIGN_PREDICATE_TYPE);
      expect(JSON.parse(byDigest.json)).toMatchObject({ digest: pub.digest, signerIdentity: SUB });
      const byTag = await verify(`${image}:${pub.tag}`, policy());
      expect(byTag.digest).toBe(pub.digest);
      expect(byTag.signatures.sort()).toEqual(byDigest.signatures.sort());
      // Read-back only, without --signature: no bundle read, nothing reported.
      const plain = await verify(`${image}@${pub.digest}`, { commit: pub.commit });
      expect(plain).toMatchObject({ signatures: [], attestations: [], signerIdentity: "" });
      expect(sigstore.total()).toBe(before);
      expectNoSecret(JSON.stringify([byDigest, byTag, plain]) + JSON.stringify(world.double.journal));
    },
    PUBLISH_BUDGET_MS,
  );

  it.each([
    {
      name: "a wrong identity",
      args: { certificateIdentity: "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main" },
      check: "identity",
      says: /the certificate's identity is "https:\/\/github\.com\/acme\/app\/\.github\/workflows\/release\.yml@refs\/heads\/main", not ".*other\.yml/,
      fix: /fix: --certificate-identity must be the signer's identity exactly/,
    },
    {
      name: "a wrong issuer",
      args: { certificateOidcIssuer: "https://gitlab.com" },
      check: "issuer",
      says: /the certificate's OIDC issuer is "https:\/\/token\.actions\.githubusercontent\.com", not "https:\/\/gitlab\.com"/,
      fix: /fix: --certificate-oidc-issuer must be the signer's OIDC issuer exactly/,
    },
    {
      name: "a trusted root without the mock's CA",
      args: { otherCa: true },
      check: "certificate-chain",
      says: /the certificate was not issued by a certificate authority of the trusted root/,
      fix: /fix: --trusted-root must be the trusted_root\.json of the Sigstore instance that signed/,
    },
  ])(
    "$name: every manifest fails with [$check], its own message and fix",
    async ({ args, check, says, fix }) => {
      const pub = await publishSigned();
      const image = `${registry.host}/acme/signed@${pub.digest}`;
      const { otherCa, ...over } = args as Record<string, unknown>;
      const message = await failure(image, policy({ ...over, ...(otherCa ? { trustedRoot: roots.otherCa } : {}) }));
      expect(message).toContain(`verify ${image}: 3 manifest(s) failed, so nothing is verified`);
      for (const m of [pub.digest, ...pub.platformDigests.map((p) => p.split("=")[1]!)])
        expect(message).toMatch(new RegExp(`${registry.host}/acme/signed@${m}: \\[${check}\\] referrer sha256:`));
      expect(message).toMatch(says);
      expect(message).toMatch(fix);
    },
    PUBLISH_BUDGET_MS,
  );

  it(
    "--commit of another commit fails each platform with [revision]",
    async () => {
      const pub = await publishSigned();
      const wrong = "5c4d3e2f1a0b9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
      const message = await failure(`${registry.host}/acme/signed@${pub.digest}`, policy({ commit: wrong }));
      expect(message).toContain("2 manifest(s) failed");
      expect(message).toMatch(
        new RegExp(
          `\\[revision\\] its config's org\\.opencontainers\\.image\\.revision is "${pub.commit}", expected ${wrong}`,
        ),
      );
      expect(message).toMatch(/fix: the image was not built from --commit/);
      expect(message).not.toMatch(/\[identity\]|\[unsigned\]/);
    },
    PUBLISH_BUDGET_MS,
  );

  it("an unsigned image fails with [unsigned] for the index and each platform, and says how to sign", async () => {
    const image = `${registry.host}/acme/unsigned@${prebuilt.indexDigest}`;
    const message = await failure(image, policy());
    expect(message).toContain(`verify ${image}: 3 manifest(s) failed`);
    expect(message).toContain(`${image}: [unsigned] no Sigstore bundle refers to it`);
    expect(message).toContain(`fix: sign it once you trust what it is: dockyard sign --image ${image}`);
    // The read-back alone passes: the image is intact, only unsigned.
    const plain = await verify(image, {});
    expect(plain.platformDigests).toHaveLength(2);
  });

  it("a tampered bundle (the stored referrer rewritten) fails that manifest with [tlog-body]; the others pass", async () => {
    const image = `${registry.host}/acme/tampered@${prebuilt.indexDigest}`;
    const signed = await world.double
      .module()
      .call(
        "sign",
        {
          image,
          ...auth(),
          oidcToken: world.double.cliSecret(TOKEN),
          fulcioUrl: sigstore.url,
          rekorUrl: sigstore.url,
        },
        { returns: "Signatures" },
      )
      .result<{ signatures: string[] }>();
    expect(signed.signatures).toHaveLength(3);
    expect((await verify(image, policy())).signatures).toHaveLength(3);
    // Rewrite the index's referrer: the same bundle with another envelope signature, listed in place of the original.
    const s = session();
    const repository = "acme/tampered";
    const tag = referrersTag(prebuilt.indexDigest);
    const index = JSON.parse(Buffer.from((await getManifest(s, repository, tag)).bytes).toString("utf8")) as {
      manifests: { digest: string; size: number }[];
    };
    const [original] = index.manifests;
    const manifest = JSON.parse(
      Buffer.from((await getManifest(s, repository, original!.digest)).bytes).toString("utf8"),
    ) as {
      layers: { digest: string; size: number }[];
    };
    const bundle = JSON.parse(
      Buffer.from(await getBlob(s, repository, manifest.layers[0]!.digest)).toString("utf8"),
    ) as {
      dsseEnvelope: { signatures: { sig: string }[] };
    };
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, "base64");
    sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 0x01, sig.length - 1);
    bundle.dsseEnvelope.signatures[0]!.sig = sig.toString("base64");
    const layer = await pushBlob(s, repository, new TextEncoder().encode(JSON.stringify(bundle)));
    const altered = new TextEncoder().encode(
      JSON.stringify({ ...manifest, layers: [{ ...manifest.layers[0], ...layer }] }),
    );
    const put = await putManifestWithHeaders(s, repository, digestOf(altered), altered, MEDIA_TYPES.ociManifest);
    const rewritten = {
      ...index,
      manifests: [{ ...original, digest: put.digest, size: altered.length }, ...index.manifests.slice(1)],
    };
    await putManifest(s, repository, tag, new TextEncoder().encode(JSON.stringify(rewritten)), MEDIA_TYPES.ociIndex);

    const message = await failure(image, policy());
    expect(message).toContain(`verify ${image}: 1 manifest(s) failed`);
    expect(message).toContain(
      `${image}: [tlog-body] referrer ${put.digest}: the envelope's signature is not the one logged in Rekor: the bundle was altered after signing`,
    );
    expect(message).toMatch(/fix: what the registry stores is not what was signed and logged: do not use this image/);
  });
});
