// Rung 3 (engine double): `publish --sign --provenance --sbom` called as the module through the double (docker
// backend; the SBOM a File read with File.contents, Secrets with Secret.plaintext), pushing to Debian's
// docker-registry 2.8.2 on loopback (fallback tags), signing with Sigstore's mock Fulcio and Rekor (@sigstore/mock
// 0.11); every attestation read back as a referrer and verified by @sigstore/verify. Refusals make no build and no
// registry or Sigstore request.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { FULCIO_PATH, REKOR_PATH, startSigstore, testJwt, type Sigstore } from "../fixtures/sigstore.js";
import {
  CYCLONEDX_PREDICATE_TYPE,
  DOCKYARD_BUILD_TYPE,
  DOCKYARD_BUILDER_ID,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  SPDX_PREDICATE_TYPE,
} from "../../src/signing/index.js";
import { attestationReader } from "./attestation-reader.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 attestation suite (docker backend)");

const PASSWORD = "ci-pass-a77e";
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const TOKEN_CANARY = "canary-oidc-3f1b-never-echoed";
const TOKEN = testJwt({
  iss: ISS,
  sub: SUB,
  aud: "sigstore",
  exp: Math.floor(Date.now() / 1000) + 3600,
  jti: TOKEN_CANARY,
});
// The value of the build secret NPM_TOKEN: provenance may only ever carry its id.
const SECRET_CANARY = "canary-npm-62d0-secret-build-value";
// A budget, not an assertion: two builds, a push and up to nine Rekor entries on a shared 2-core machine.
const PUBLISH_BUDGET_MS = 360_000;

/** A value as a leak could carry it: plain, base64 and base64url. */
const encodings = (value: string) => [
  value,
  Buffer.from(value).toString("base64"),
  Buffer.from(value).toString("base64url"),
];
/** The token whole, each part, its decoded claims, the canary claim, and the build secret's value, each encoded. */
function secretForms(): string[] {
  const parts = TOKEN.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  return [TOKEN, ...parts, ...decoded, TOKEN_CANARY, SECRET_CANARY].flatMap(encodings).filter((f) => f.length >= 8);
}
function expectNoSecret(text: string) {
  for (const form of secretForms()) expect(text).not.toContain(form);
}

describe.skipIf(!docker)("publish --provenance and --sbom, verified by @sigstore/verify", () => {
  let world: DockerWorld;
  let registry: Registry;
  let proxy: FaultProxy;
  let sigstore: Sigstore;

  beforeAll(async () => {
    [world, registry, sigstore] = await Promise.all([
      startDockerWorld(),
      startRegistry({ users: { ci: PASSWORD } }),
      startSigstore(),
    ]);
    proxy = await startFaultProxy(registry.port);
  });

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    await sigstore?.close();
    await world?.stop();
  });

  beforeEach(() => {
    world.double.reset();
    sigstore.requests.clear();
    sigstore.routes.set(FULCIO_PATH, sigstore.fulcio);
    sigstore.routes.set(REKOR_PATH, sigstore.rekor);
  });

  const { sbomFile, readAttestations } = attestationReader({
    world: () => world,
    registry: () => registry,
    trustedRoot: () => sigstore.trustedRoot,
    password: PASSWORD,
    identity: SUB,
    issuer: ISS,
  });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });
  const signingArgs = () => ({
    sign: true,
    oidcToken: world.double.cliSecret(TOKEN),
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
  });

  const subjectsOf = (lines: string[]) => lines.map((l) => /@(sha256:[0-9a-f]{64})=/.exec(l)![1]!).sort();

  it(
    "two platforms, --provenance and an SPDX --sbom: each signed manifest carries both, verified; provenance holds the build",
    async () => {
      const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
      const result = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call("withBuildSecret", { id: "NPM_TOKEN", secret: world.double.cliSecret(SECRET_CANARY) })
        .call(
          "publish",
          {
            images: [`${registry.host}/acme/attested`],
            platforms: ["linux/amd64", "linux/arm64"],
            buildArgs: ["VERSION=1.2.3"],
            sourceUrl: "https://github.com/acme/app",
            ...auth(),
            ...signingArgs(),
            provenance: true,
            sbom: await sbomFile("npm-sbom.spdx.json"),
          },
          { returns: "Publication" },
        )
        .result<PublicationResult & { provenanceAttestations: string[]; sbomAttestations: string[] }>();
      const pub = publicationData(result);
      expect(pub).toMatchObject({ pushed: true, verified: true, signerIdentity: SUB, signerIssuer: ISS });
      const signed = [...pub.platformDigests.map((p) => p.split("=")[1]!), pub.digest].sort();
      expect(subjectsOf(pub.signatures!)).toEqual(signed);
      expect(subjectsOf(result.provenanceAttestations)).toEqual(signed);
      expect(subjectsOf(result.sbomAttestations)).toEqual(signed);
      // One certificate for the call; a Rekor entry per signature and per attestation.
      expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 9 });

      const provenance = await readAttestations(
        "acme/attested",
        result.provenanceAttestations,
        SLSA_PROVENANCE_PREDICATE_TYPE,
      );
      const commit = g.head();
      for (const { predicate } of provenance.statements) {
        expect(predicate).toMatchObject({
          buildDefinition: {
            buildType: DOCKYARD_BUILD_TYPE,
            externalParameters: {
              source: "https://github.com/acme/app",
              ref: "refs/heads/main",
              commit,
              dockerfile: "Dockerfile",
              buildArgs: { VERSION: "1.2.3" },
              buildSecretIds: ["NPM_TOKEN"],
              platforms: ["linux/amd64", "linux/arm64"],
              images: [`${registry.host}/acme/attested`],
              tags: pub.tags,
            },
            internalParameters: { engineVersion: "v0.21.9" },
            resolvedDependencies: [
              { uri: "git+https://github.com/acme/app@refs/heads/main", digest: { gitCommit: commit } },
            ],
          },
          runDetails: { builder: { id: DOCKYARD_BUILDER_ID } },
        });
        const { startedOn, finishedOn } = (predicate.runDetails as { metadata: Record<string, string> }).metadata;
        expect(Date.parse(finishedOn!)).toBeGreaterThanOrEqual(Date.parse(startedOn!));
      }
      const sbom = await readAttestations("acme/attested", result.sbomAttestations, SPDX_PREDICATE_TYPE);
      for (const { predicate } of sbom.statements) expect(predicate.spdxVersion).toBe("SPDX-2.3");

      expect(result.githubOutput).toMatch(/provenance-attestations<<DOCKYARD_EOF_/);
      expect(result.dotenv).toContain(`IMAGE_SBOM_ATTESTATIONS=${result.sbomAttestations.join(",")}`);
      expect(result.markdown).toMatch(/\| provenance \| 3 SLSA provenance attestation/);
      expect(JSON.parse(result.json)).toMatchObject({
        provenanceAttestations: result.provenanceAttestations,
        sbomAttestations: result.sbomAttestations,
      });
      expectNoSecret(JSON.stringify(result) + provenance.stored + sbom.stored);
      expectNoSecret(JSON.stringify(world.double.journal));
    },
    PUBLISH_BUDGET_MS,
  );

  it(
    "one platform, a CycloneDX --sbom without --provenance: one signature and one SBOM attestation",
    async () => {
      const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
      const result = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call(
          "publish",
          {
            images: [`${registry.host}/acme/cdx`],
            platforms: ["linux/amd64"],
            ...auth(),
            ...signingArgs(),
            sbom: await sbomFile("cyclonedx-npm.cdx.json"),
          },
          { returns: "Publication" },
        )
        .result<PublicationResult & { provenanceAttestations: string[]; sbomAttestations: string[] }>();
      const pub = publicationData(result);
      expect(subjectsOf(pub.signatures!)).toEqual([pub.digest]);
      expect(result.provenanceAttestations).toEqual([]);
      expect(subjectsOf(result.sbomAttestations)).toEqual([pub.digest]);
      expect(JSON.parse(result.json)).not.toHaveProperty("provenanceAttestations");
      expect(result.githubOutput).not.toMatch(/provenance-attestations/);
      const { statements } = await readAttestations("acme/cdx", result.sbomAttestations, CYCLONEDX_PREDICATE_TYPE);
      expect(statements[0]!.predicate).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.6" });
      expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 2 });
    },
    PUBLISH_BUDGET_MS,
  );

  const refusals: [string, (dir: string) => Promise<Record<string, unknown>>, RegExp][] = [
    [
      "--provenance without --sign",
      () => Promise.resolve({ provenance: true }),
      /--provenance without --sign: .*add --sign --oidc-token env:SIGSTORE_ID_TOKEN \(or --sign --signing-key env:SIGNING_KEY\), or drop --provenance/,
    ],
    [
      "--sbom without --sign",
      async () => ({ sbom: await sbomFile("npm-sbom.spdx.json") }),
      /--sbom without --sign: .*or drop --sbom/,
    ],
    [
      "--provenance of a working folder with uncommitted changes (--allow-dirty)",
      (dir) => {
        writeFileSync(join(dir, "extra.txt"), "not committed\n");
        return Promise.resolve({ ...signingArgs(), provenance: true, allowDirty: true });
      },
      /--provenance with --allow-dirty: the working folder differs from commit [0-9a-f]{40}.*drop --provenance/,
    ],
    [
      "a CycloneDX XML --sbom",
      async () => ({ ...signingArgs(), sbom: await sbomFile("cyclonedx-npm.cdx.xml") }),
      /SBOM "--sbom": is CycloneDX XML, not JSON; export it as JSON/,
    ],
    [
      "an SPDX 3 JSON-LD --sbom",
      async () => ({ ...signingArgs(), sbom: await sbomFile("spdx-spec-3.0.1-package_sbom.jsonld.json") }),
      /SBOM "--sbom": is SPDX 3 JSON-LD/,
    ],
  ];
  it.each(refusals)(
    "%s is refused before anything: no build, no registry or Sigstore request",
    async (_, args, why) => {
      const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
      const mark = proxy.requests.length;
      const err = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call("publish", {
          images: [`${proxy.host}/acme/refused`],
          platforms: ["linux/amd64"],
          ...auth(),
          ...(await args(g.dir)),
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
      expectNoSecret(`${e.message}\n${e.stdout}\n${e.stderr}`);
    },
  );
});
