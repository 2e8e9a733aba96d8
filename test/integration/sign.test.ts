// Rung 3 (engine double): `publish --sign`, `promote --sign`, `merge --sign` and `sign` called as the module through
// the double (docker backend, Secrets read with Secret.plaintext), pushing to Debian's docker-registry 2.8.2 on
// loopback (no referrers API: the tag-schema fallback), signing with Sigstore's mock Fulcio and Rekor
// (@sigstore/mock 0.11) on loopback; every bundle read back as a referrer and verified by @sigstore/verify, the
// fallback index read by skopeo as well.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { join } from "node:path";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { writeIndexLayout, writeLayout, type LayoutImage, type LayoutIndex } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { pushLayout, rawRead } from "../infra/skopeo.js";
import { FULCIO_PATH, REKOR_PATH, testJwt, useSigstore } from "../fixtures/sigstore.js";
import { getBlob, getManifest, listReferrers, referrersTag, RegistrySession } from "../../src/registry/index.js";
import { BUNDLE_V03_MEDIA_TYPE, COSIGN_SIGN_PREDICATE_TYPE } from "../../src/signing/index.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 signing suite (docker backend)");

const PASSWORD = "ci-pass-5e2b";
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const CANARY = "canary-91ad4c-never-echoed";
const NOW_S = Math.floor(Date.now() / 1000);
const TOKEN = testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: NOW_S + 3600, jti: CANARY });
const EXPIRED = testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: NOW_S - 120, jti: CANARY });
/** The commit promote and merge tag with; merge's children carry it as their revision label, as publish --staging does. */
const COMMIT = "5c4d3e2f1a0b9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
const SHA = COMMIT.slice(0, 7);

/** Every form of a token a leak could take: whole, its parts, their decoded JSON, base64 and base64url of each. */
function tokenForms(token: string): string[] {
  const parts = token.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  const plain = [token, ...parts, ...decoded.filter((d) => d.includes(CANARY)), CANARY];
  return [
    ...plain,
    ...plain.map((f) => Buffer.from(f).toString("base64")),
    ...plain.map((f) => Buffer.from(f).toString("base64url")),
  ].filter((form) => form.length >= 8);
}
function expectNoToken(text: string, token = TOKEN) {
  for (const form of tokenForms(token)) expect(text).not.toContain(form);
}

describe.skipIf(!docker)("keyless signing through the module, verified by @sigstore/verify", () => {
  let world: DockerWorld;
  let registry: Registry;
  let proxy: FaultProxy;
  const sigstore = useSigstore();
  let layout: string;
  let prebuilt: LayoutIndex;
  let staged: LayoutImage[];

  beforeAll(async () => {
    layout = await mkdtemp(path.join(os.tmpdir(), "dockyard-sign-"));
    [world, registry, prebuilt] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      writeIndexLayout(layout, "v1", ["amd64", "arm64"]),
    ]);
    proxy = await startFaultProxy(registry.port);
    await pushLayout(layout, "v1", `${registry.host}/acme/prebuilt:v1`, `ci:${PASSWORD}`);
    await pushLayout(layout, "v1", `${registry.host}/acme/partial:v1`, `ci:${PASSWORD}`);
    await pushLayout(layout, "v1", `${registry.host}/acme/candidate:v1`, `ci:${PASSWORD}`);
    // Each runner's publish --staging of COMMIT, one platform each, in the repository merge assembles into.
    staged = [];
    for (const arch of ["amd64", "arm64"]) {
      const dir = path.join(layout, arch);
      const labels = { "org.opencontainers.image.revision": COMMIT };
      staged.push(await writeLayout(dir, "v1", `built on an ${arch} runner\n`, arch, labels));
      await pushLayout(dir, "v1", `${registry.host}/acme/merged:${SHA}-linux-${arch}`, `ci:${PASSWORD}`);
    }
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
  const signingArgs = (token = TOKEN) => ({
    sign: true,
    oidcToken: world.double.cliSecret(token),
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
  });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });

  function verifyBundle(bundle: unknown) {
    // No SCT to check: the mock's CT log writes SCTs @sigstore/core cannot parse (test/fixtures/sigstore.ts).
    const verifier = new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 });
    return verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: SUB,
      extensions: { issuer: ISS },
    });
  }

  /**
   * For each `name@subject=referrer;tag=…` reported: the referrer listed for the subject, its one layer a bundle
   * that verifies for the token's identity and issuer and whose statement names this repository and subject; the
   * fallback index read independently by skopeo. Returns every stored byte, for the canary.
   */
  async function expectSignaturesVerify(repository: string, signatures: string[]): Promise<string> {
    const s = session();
    let stored = "";
    for (const line of signatures) {
      const m = /^([^@]+)@(sha256:[0-9a-f]{64})=(sha256:[0-9a-f]{64});tag=(sha256-[0-9a-f]{64})$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, name, subject, referrer, tag] = m!;
      expect(name).toBe(`${registry.host}/${repository}`);
      expect(tag).toBe(referrersTag(subject!));
      const listed = await listReferrers(s, repository, subject!, BUNDLE_V03_MEDIA_TYPE);
      expect(listed.source).toBe("tag-schema");
      expect(listed.descriptors.map((d) => d.digest)).toContain(referrer);
      const manifest = await getManifest(s, repository, referrer!);
      const body = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as {
        artifactType: string;
        subject: { digest: string };
        layers: { digest: string; mediaType: string }[];
        annotations: Record<string, string>;
      };
      expect(body.artifactType).toBe(BUNDLE_V03_MEDIA_TYPE);
      expect(body.subject.digest).toBe(subject);
      expect(body.annotations["dev.sigstore.bundle.predicateType"]).toBe(COSIGN_SIGN_PREDICATE_TYPE);
      const bundleBytes = await getBlob(s, repository, body.layers[0]!.digest);
      const bundle = JSON.parse(Buffer.from(bundleBytes).toString("utf8")) as {
        dsseEnvelope: { payload: string };
      };
      const signer = verifyBundle(bundle);
      expect(signer.identity?.subjectAlternativeName).toBe(SUB);
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as {
        subject: { name: string; digest: { sha256: string } }[];
        predicateType: string;
      };
      expect(statement.subject).toEqual([{ name, digest: { sha256: subject!.slice(7) } }]);
      expect(statement.predicateType).toBe(COSIGN_SIGN_PREDICATE_TYPE);
      // skopeo, not our client, reads the fallback index: it lists this referrer.
      const fallback = (await rawRead(`${registry.host}/${repository}:${tag}`, `ci:${PASSWORD}`)).toString("utf8");
      expect(fallback).toContain(referrer);
      stored += Buffer.from(manifest.bytes).toString("utf8") + Buffer.from(bundleBytes).toString("utf8") + fallback;
    }
    return stored;
  }

  it("publish --sign, two platforms: the index and each platform manifest carry a referrer that verifies; one certificate", async () => {
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const result = await world.double
      .module({ args: { source: world.double.hostDirectory(g.dir) } })
      .call(
        "publish",
        {
          images: [`${registry.host}/acme/signed`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          ...signingArgs(),
        },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    const pub = publicationData(result);
    expect(pub).toMatchObject({ pushed: true, verified: true, signerIdentity: SUB, signerIssuer: ISS });
    expect(pub.signatures).toHaveLength(3);
    const signed = pub.signatures!.map((l) => /@(sha256:[0-9a-f]{64})=/.exec(l)![1]);
    const platformDigests = pub.platformDigests.map((p) => p.split("=")[1]);
    expect(signed.sort()).toEqual([...platformDigests, pub.digest].sort());
    const stored = await expectSignaturesVerify("acme/signed", pub.signatures!);
    // One Fulcio certificate for the call, one Rekor entry per signature.
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 3 });
    expect(result.githubOutput).toContain(`signer-identity=${SUB}`);
    expect(result.dotenv).toContain(`IMAGE_SIGNER_ISSUER=${ISS}`);
    expect(result.markdown).toMatch(/\| signed \| 3 signature/);
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  /** `dagger call promote|merge … --sign` through the double, with --commit and --ref (no source needed). */
  const copyCall = (fn: "promote" | "merge", args: Record<string, unknown>, token = TOKEN) =>
    world.double
      .module()
      .call(
        fn,
        { commit: COMMIT, ref: "refs/heads/main", ...auth(), ...signingArgs(token), ...args },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
  /** The signed digests among `signatures` naming `repository`. */
  const signedIn = (repository: string, signatures: string[]) =>
    signatures.filter((l) => l.startsWith(`${registry.host}/${repository}@`));
  const signedDigest = (line: string) => /@(sha256:[0-9a-f]{64})=/.exec(line)![1];

  it("promote --sign, two platforms to two repositories: in each, the index and both platforms verify; one certificate", async () => {
    const result = await copyCall("promote", {
      from: `${registry.host}/acme/candidate@${prebuilt.indexDigest}`,
      images: [`${registry.host}/acme/promoted`, `${registry.host}/acme/released`],
    });
    const pub = publicationData(result);
    expect(pub).toMatchObject({ digest: prebuilt.indexDigest, pushed: true, verified: true, built: false });
    expect(pub).toMatchObject({ signerIdentity: SUB, signerIssuer: ISS });
    expect(pub.signatures).toHaveLength(6);
    const expected = [...prebuilt.images.map((i) => i.manifestDigest), prebuilt.indexDigest].sort();
    let stored = "";
    for (const repository of ["acme/promoted", "acme/released"]) {
      const lines = signedIn(repository, pub.signatures!);
      expect(lines.map(signedDigest).sort()).toEqual(expected);
      stored += await expectSignaturesVerify(repository, lines);
    }
    // One Fulcio certificate for the call, one Rekor entry per signature; the source is left unsigned.
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 6 });
    const source = await listReferrers(session(), "acme/candidate", prebuilt.indexDigest, BUNDLE_V03_MEDIA_TYPE);
    expect(source.descriptors).toEqual([]);
    expect(result.githubOutput).toContain(`signer-identity=${SUB}`);
    expect(result.dotenv).toContain(`IMAGE_SIGNER_ISSUER=${ISS}`);
    expect(result.markdown).toMatch(/\| signed \| 6 signature/);
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  it("merge --sign: the index it assembles and both staged platforms verify; one certificate", async () => {
    const result = await copyCall("merge", {
      from: staged.map((c) => `${registry.host}/acme/merged@${c.manifestDigest}`),
      images: [`${registry.host}/acme/merged`],
    });
    const pub = publicationData(result);
    expect(pub).toMatchObject({ pushed: true, verified: true, signerIdentity: SUB, signerIssuer: ISS });
    expect(pub.platformDigests.map((p) => p.split("=")[1]).sort()).toEqual(staged.map((c) => c.manifestDigest).sort());
    expect(pub.signatures!.map(signedDigest).sort()).toEqual(
      [...staged.map((c) => c.manifestDigest), pub.digest].sort(),
    );
    const stored = await expectSignaturesVerify("acme/merged", pub.signatures!);
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 3 });
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  it.each(["promote", "merge"] as const)(
    "%s: an expired token is refused before any registry or Sigstore request, no token in the error",
    async (fn) => {
      const mark = proxy.requests.length;
      const from = `${proxy.host}/acme/candidate@${prebuilt.indexDigest}`;
      const err = await copyCall(
        fn,
        { from: fn === "merge" ? [from] : from, images: [`${proxy.host}/acme/refused`] },
        EXPIRED,
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FunctionCallError);
      const e = err as FunctionCallError;
      expect(e.message).toMatch(/--oidc-token: the OIDC token expired/);
      expect(proxy.requests.slice(mark)).toEqual([]);
      expect(sigstore.total()).toBe(0);
      expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`, EXPIRED);
    },
  );

  it("promote, Fulcio refusing after the copy: the error names what was copied, that nothing was signed, and sign", async () => {
    sigstore.routes.set(FULCIO_PATH, (body) =>
      Promise.resolve({
        status: 401,
        body: JSON.stringify({ code: 401, message: `invalid token ${JSON.parse(body).credentials.oidcIdentityToken}` }),
      }),
    );
    const err = await copyCall("promote", {
      from: `${registry.host}/acme/candidate@${prebuilt.indexDigest}`,
      images: [`${registry.host}/acme/copied`],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    expect(e.message).toMatch(/promote: signing failed after the push \(certificate: .*Fulcio/);
    expect(e.message).toContain(`Pushed: ${registry.host}/acme/copied:${SHA}@${prebuilt.indexDigest}`);
    expect(e.message).toContain(
      `Signed and attached: none. Not signed or attached: ${registry.host}/acme/copied@${prebuilt.indexDigest}.`,
    );
    expect(e.message).toMatch(/Run dockyard sign --image/);
    // The copy stands: the tag names the promoted digest.
    expect((await getManifest(session(), "acme/copied", SHA)).digest).toBe(prebuilt.indexDigest);
    expect(sigstore.requests.get(REKOR_PATH) ?? 0).toBe(0);
    expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`);
  });

  it("sign: an index already pushed, by tag with with-registry-auth and by digest with --username", async () => {
    const byTag = await world.double
      .module()
      .call("withRegistryAuth", { address: registry.host, ...auth() })
      .call(
        "sign",
        {
          image: `${registry.host}/acme/prebuilt:v1`,
          oidcToken: world.double.cliSecret(TOKEN),
          fulcioUrl: sigstore.url,
          rekorUrl: sigstore.url,
        },
        { returns: "Signatures" },
      )
      .result<{
        image: string;
        digest: string;
        signatures: string[];
        signerIdentity: string;
        signerIssuer: string;
        json: string;
      }>();
    expect(byTag).toMatchObject({
      image: `${registry.host}/acme/prebuilt@${prebuilt.indexDigest}`,
      digest: prebuilt.indexDigest,
      signerIdentity: SUB,
      signerIssuer: ISS,
    });
    const { json, ...fields } = byTag;
    expect(JSON.parse(json)).toEqual(fields);
    expect(byTag.signatures.map((l) => /@(sha256:[0-9a-f]{64})=/.exec(l)![1]).sort()).toEqual(
      [...prebuilt.images.map((i) => i.manifestDigest), prebuilt.indexDigest].sort(),
    );
    const stored = await expectSignaturesVerify("acme/prebuilt", byTag.signatures);
    expectNoToken(JSON.stringify(byTag) + stored);

    // One platform by digest: only that manifest is signed, and the fallback index now lists both signatures.
    const child = prebuilt.images[1]!.manifestDigest;
    const byDigest = await world.double
      .module()
      .call(
        "sign",
        {
          image: `${registry.host}/acme/prebuilt@${child}`,
          ...auth(),
          oidcToken: world.double.cliSecret(TOKEN),
          fulcioUrl: sigstore.url,
          rekorUrl: sigstore.url,
        },
        { returns: "Signatures" },
      )
      .result<{ signatures: string[] }>();
    expect(byDigest.signatures).toHaveLength(1);
    await expectSignaturesVerify("acme/prebuilt", byDigest.signatures);
    const listed = await listReferrers(session(), "acme/prebuilt", child, BUNDLE_V03_MEDIA_TYPE);
    expect(listed.descriptors).toHaveLength(2);
  });

  it("an expired token is refused before anything: no build, no registry request, no Sigstore request, no token in the error", async () => {
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const mark = proxy.requests.length;
    const err = await world.double
      .module({ args: { source: world.double.hostDirectory(g.dir) } })
      .call("publish", {
        images: [`${proxy.host}/acme/refused`],
        platforms: ["linux/amd64", "linux/arm64"],
        ...auth(),
        ...signingArgs(EXPIRED),
      })
      .result()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    expect(e.message).toMatch(/--oidc-token: the OIDC token expired/);
    expect(world.double.builds).toBe(0);
    expect(
      world.double.journal.filter((j) => j.field === "Directory.dockerBuild" || j.field === "Container.publish"),
    ).toEqual([]);
    expect(proxy.requests.slice(mark)).toEqual([]);
    expect(sigstore.total()).toBe(0);
    expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`, EXPIRED);
  });

  it("Fulcio refusing after the push: the error names what was pushed and that nothing was signed, the token masked", async () => {
    // A service that echoes the token back: it must reach no error text.
    sigstore.routes.set(FULCIO_PATH, (body) =>
      Promise.resolve({
        status: 401,
        body: JSON.stringify({ code: 401, message: `invalid token ${JSON.parse(body).credentials.oidcIdentityToken}` }),
      }),
    );
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const err = await world.double
      .module({ args: { source: world.double.hostDirectory(g.dir) } })
      .call("publish", {
        images: [`${registry.host}/acme/unsigned`],
        platforms: ["linux/amd64"],
        ...auth(),
        ...signingArgs(),
      })
      .result()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    expect(e.message).toMatch(/signing failed after the push \(certificate: .*Fulcio/);
    expect(e.message).toMatch(new RegExp(`Pushed: ${registry.host}/acme/unsigned:[0-9a-f]{7}@sha256:[0-9a-f]{64}`));
    expect(e.message).toMatch(/Signed and attached: none\. Not signed or attached: .*acme\/unsigned@sha256:/);
    expect(sigstore.requests.get(REKOR_PATH) ?? 0).toBe(0);
    expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`);
  });

  it("Rekor refusing midway: the error lists the signature attached and every manifest not signed", async () => {
    let entries = 0;
    sigstore.routes.set(REKOR_PATH, (body, method) =>
      ++entries === 1
        ? sigstore.rekor(body, method)
        : Promise.resolve({ status: 400, body: JSON.stringify({ code: 400, message: "entry refused" }) }),
    );
    const err = await world.double
      .module()
      .call("sign", {
        image: `${registry.host}/acme/partial@${prebuilt.indexDigest}`,
        ...auth(),
        oidcToken: world.double.cliSecret(TOKEN),
        fulcioUrl: sigstore.url,
        rekorUrl: sigstore.url,
      })
      .result()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FunctionCallError);
    const e = err as FunctionCallError;
    const [first, second] = prebuilt.images.map((i) => `${registry.host}/acme/partial@${i.manifestDigest}`);
    expect(e.message).toContain(`Signed and attached: ${first}=sha256:`);
    expect(e.message).toContain(
      `Not signed or attached: ${second}, ${registry.host}/acme/partial@${prebuilt.indexDigest}.`,
    );
    expect(e.message).toMatch(/Rekor/);
    // What it reports attached is there: the first child's referrer verifies.
    const attached = /Signed and attached: (\S+);tag=(sha256-[0-9a-f]{64})/.exec(e.message);
    await expectSignaturesVerify("acme/partial", [`${attached![1]};tag=${attached![2]}`]);
    expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`);
  });
});
