// Rung 3 (engine double): `sign --sbom`, `promote --sign --sbom` and `merge --sign --sbom` called as the module
// through the double (docker backend; the SBOM a File read with File.contents, Secrets with Secret.plaintext) on
// images already pushed to Debian's docker-registry 2.8.2 on loopback (fallback tags), signing with Sigstore's mock
// Fulcio and Rekor (@sigstore/mock 0.11); every SBOM attestation read back with our client and skopeo and verified by
// @sigstore/verify. --provenance there, --sbom without --sign and a bad SBOM make no registry or Sigstore request.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { writeIndexLayout, writeLayout, type LayoutImage, type LayoutIndex } from "../infra/oci-layout.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { pushLayout } from "../infra/skopeo.js";
import { FULCIO_PATH, REKOR_PATH, testJwt, useSigstore } from "../fixtures/sigstore.js";
import { listReferrers } from "../../src/registry/index.js";
import { BUNDLE_V03_MEDIA_TYPE, CYCLONEDX_PREDICATE_TYPE, SPDX_PREDICATE_TYPE } from "../../src/signing/index.js";
import { attestationReader } from "./attestation-reader.js";
import { dockerAvailable, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 attestations on what is already pushed (docker backend)");

const PASSWORD = "ci-pass-0c6d";
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const TOKEN_CANARY = "canary-oidc-7a2e-never-echoed";
const TOKEN = testJwt({
  iss: ISS,
  sub: SUB,
  aud: "sigstore",
  exp: Math.floor(Date.now() / 1000) + 3600,
  jti: TOKEN_CANARY,
});
/** The commit promote and merge tag with; merge's children carry it as their revision label, as publish --staging does. */
const COMMIT = "6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9a8b7c";
const SHA = COMMIT.slice(0, 7);

/** The token whole, each part, its decoded claims and the canary claim, each plain, base64 and base64url. */
function tokenForms(): string[] {
  const parts = TOKEN.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  return [TOKEN, ...parts, ...decoded, TOKEN_CANARY]
    .flatMap((v) => [v, Buffer.from(v).toString("base64"), Buffer.from(v).toString("base64url")])
    .filter((f) => f.length >= 8);
}
function expectNoToken(text: string) {
  for (const form of tokenForms()) expect(text).not.toContain(form);
}

const digestOf = (line: string) => /@(sha256:[0-9a-f]{64})=/.exec(line)![1]!;
const subjectsOf = (lines: string[]) => lines.map(digestOf).sort();

describe.skipIf(!docker)("--sbom on sign, promote and merge, verified by @sigstore/verify", () => {
  let world: DockerWorld;
  let registry: Registry;
  let proxy: FaultProxy;
  const sigstore = useSigstore();
  let layout: string;
  let prebuilt: LayoutIndex;
  let staged: LayoutImage[];

  beforeAll(async () => {
    layout = await mkdtemp(path.join(os.tmpdir(), "dockyard-attest-pushed-"));
    [world, registry, prebuilt] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      writeIndexLayout(layout, "v1", ["amd64", "arm64"]),
    ]);
    proxy = await startFaultProxy(registry.port);
    for (const repository of ["acme/pushed", "acme/candidate"])
      await pushLayout(layout, "v1", `${registry.host}/${repository}:v1`, `ci:${PASSWORD}`);
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

  const { session, sbomFile, readAttestations } = attestationReader({
    world: () => world,
    registry: () => registry,
    trustedRoot: () => sigstore.trustedRoot,
    password: PASSWORD,
    identity: SUB,
    issuer: ISS,
  });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });
  const sigstoreArgs = () => ({
    oidcToken: world.double.cliSecret(TOKEN),
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
  });

  it("sign --sbom, a two-platform index by tag: the index and both platforms carry a signature and an SPDX attestation, verified", async () => {
    const result = await world.double
      .module()
      .call(
        "sign",
        {
          image: `${registry.host}/acme/pushed:v1`,
          ...auth(),
          ...sigstoreArgs(),
          sbom: await sbomFile("npm-sbom.spdx.json"),
        },
        { returns: "Signatures" },
      )
      .result<{ digest: string; signatures: string[]; sbomAttestations: string[]; json: string }>();
    const expected = [...prebuilt.images.map((i) => i.manifestDigest), prebuilt.indexDigest].sort();
    expect(result.digest).toBe(prebuilt.indexDigest);
    expect(subjectsOf(result.signatures)).toEqual(expected);
    expect(subjectsOf(result.sbomAttestations)).toEqual(expected);
    expect(JSON.parse(result.json)).toMatchObject({ sbomAttestations: result.sbomAttestations });
    // One certificate for the call; a Rekor entry per signature and per attestation.
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 6 });
    const { statements, stored } = await readAttestations("acme/pushed", result.sbomAttestations, SPDX_PREDICATE_TYPE);
    for (const { predicate } of statements) expect(predicate.spdxVersion).toBe("SPDX-2.3");
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  /** `dagger call promote|merge … --sign --sbom` through the double, with --commit and --ref (no source needed). */
  const copyCall = async (fn: "promote" | "merge", args: Record<string, unknown>) =>
    world.double
      .module()
      .call(
        fn,
        { commit: COMMIT, ref: "refs/heads/main", ...auth(), sign: true, ...sigstoreArgs(), ...args },
        { returns: "Publication" },
      )
      .result<PublicationResult & { provenanceAttestations: string[]; sbomAttestations: string[] }>();

  it("promote --sign --sbom, two platforms: in the target, the index and both platforms carry a CycloneDX attestation, verified", async () => {
    const result = await copyCall("promote", {
      from: `${registry.host}/acme/candidate@${prebuilt.indexDigest}`,
      images: [`${registry.host}/acme/promoted`],
      sbom: await sbomFile("cyclonedx-npm.cdx.json"),
    });
    const pub = publicationData(result);
    expect(pub).toMatchObject({ digest: prebuilt.indexDigest, built: false, signerIdentity: SUB, signerIssuer: ISS });
    const expected = [...prebuilt.images.map((i) => i.manifestDigest), prebuilt.indexDigest].sort();
    expect(subjectsOf(pub.signatures!)).toEqual(expected);
    expect(subjectsOf(result.sbomAttestations)).toEqual(expected);
    expect(result.provenanceAttestations).toEqual([]);
    expect(result.dotenv).toContain(`IMAGE_SBOM_ATTESTATIONS=${result.sbomAttestations.join(",")}`);
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 6 });
    const { statements, stored } = await readAttestations(
      "acme/promoted",
      result.sbomAttestations,
      CYCLONEDX_PREDICATE_TYPE,
    );
    for (const { predicate } of statements) expect(predicate).toMatchObject({ bomFormat: "CycloneDX" });
    // The source is left as it was: neither signed nor attested.
    const source = await listReferrers(session(), "acme/candidate", prebuilt.indexDigest, BUNDLE_V03_MEDIA_TYPE);
    expect(source.descriptors).toEqual([]);
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  it("merge --sign --sbom: the index it assembles and both staged platforms carry an SPDX attestation, verified", async () => {
    const result = await copyCall("merge", {
      from: staged.map((c) => `${registry.host}/acme/merged@${c.manifestDigest}`),
      images: [`${registry.host}/acme/merged`],
      sbom: await sbomFile("npm-sbom.spdx.json"),
    });
    const pub = publicationData(result);
    const expected = [...staged.map((c) => c.manifestDigest), pub.digest].sort();
    expect(subjectsOf(pub.signatures!)).toEqual(expected);
    expect(subjectsOf(result.sbomAttestations)).toEqual(expected);
    expect(JSON.parse(result.json)).toMatchObject({ sbomAttestations: result.sbomAttestations });
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 6 });
    const { stored } = await readAttestations("acme/merged", result.sbomAttestations, SPDX_PREDICATE_TYPE);
    expectNoToken(JSON.stringify(result) + stored);
    expectNoToken(JSON.stringify(world.double.journal));
  });

  /** Each function's call on the proxy (counting every registry request), with `args` added. */
  const refusedCalls = {
    promote: (args: Record<string, unknown>) => ({
      commit: COMMIT,
      ref: "refs/heads/main",
      from: `${proxy.host}/acme/candidate@${prebuilt.indexDigest}`,
      images: [`${proxy.host}/acme/refused`],
      ...args,
    }),
    merge: (args: Record<string, unknown>) => ({
      commit: COMMIT,
      ref: "refs/heads/main",
      from: staged.map((c) => `${proxy.host}/acme/merged@${c.manifestDigest}`),
      images: [`${proxy.host}/acme/refused`],
      ...args,
    }),
    sign: ({ sign: _, ...args }: Record<string, unknown>) => ({ image: `${proxy.host}/acme/pushed:v1`, ...args }),
  };
  type Refusal = readonly [string, "promote" | "merge" | "sign", () => Promise<Record<string, unknown>>, RegExp];
  const refusals: Refusal[] = [
    ...(["promote", "merge", "sign"] as const).map(
      (fn) =>
        [
          "--sign --provenance",
          fn,
          () => Promise.resolve({ sign: true, ...sigstoreArgs(), provenance: true }),
          new RegExp(
            `--provenance on ${fn}: provenance records a build and ${fn} builds nothing; .*publish or publish-containers --sign --provenance`,
          ),
        ] satisfies Refusal,
    ),
    ...(["promote", "merge"] as const).map(
      (fn) =>
        [
          "--sbom without --sign",
          fn,
          async () => ({ sbom: await sbomFile("npm-sbom.spdx.json") }),
          /--sbom without --sign: .*or drop --sbom/,
        ] satisfies Refusal,
    ),
    ...(["promote", "merge", "sign"] as const).map(
      (fn) =>
        [
          "--sign, a CycloneDX XML --sbom",
          fn,
          async () => ({ sign: true, ...sigstoreArgs(), sbom: await sbomFile("cyclonedx-npm.cdx.xml") }),
          /SBOM "--sbom": is CycloneDX XML, not JSON; export it as JSON/,
        ] satisfies Refusal,
    ),
  ];
  it.each(refusals)(
    "%s on %s is refused before any registry or Sigstore request, no token in the error",
    async (_, fn, args, why) => {
      const mark = proxy.requests.length;
      const err = await world.double
        .module()
        .call(fn, { ...auth(), ...refusedCalls[fn](await args()) })
        .result()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(FunctionCallError);
      const e = err as FunctionCallError;
      expect(e.message).toMatch(why);
      expect(proxy.requests.slice(mark)).toEqual([]);
      expect(sigstore.total()).toBe(0);
      expectNoToken(`${e.message}\n${e.stdout}\n${e.stderr}`);
      expectNoToken(JSON.stringify(world.double.journal));
    },
  );
});
