// Rung 3 (engine double): `publish --sign --sbom-scanner` called as the module through the double (docker
// backend: the scanner a local busybox image, test/fixtures/sbom-scanner/scan.sh, run by `docker run` over each
// platform's Container.asTarball), pushing to Debian's docker-registry 2.8.2 through a fault proxy that counts
// requests, signing with Sigstore's mock Fulcio and Rekor; each platform's SBOM attestation read back, verified by
// @sigstore/verify, and naming what that platform's tarball held. A failed scan or a non-SBOM output pushes nothing.
import { join } from "node:path";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { ensureScannerImage, SCANNER_IMAGE } from "../infra/docker.js";
import { startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { FULCIO_PATH, REKOR_PATH, startSigstore, testJwt, type Sigstore } from "../fixtures/sigstore.js";
import { getBlob, getManifest, listReferrers, RegistrySession } from "../../src/registry/index.js";
import { BUNDLE_V03_MEDIA_TYPE, SPDX_PREDICATE_TYPE } from "../../src/signing/index.js";
import { dockerAvailable, gitFixture, REPO_ROOT, startDockerWorld, type DockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 SBOM scanner suite (docker backend)");

const PASSWORD = "ci-pass-5c1e";
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const TOKEN_CANARY = "canary-oidc-9d2a-never-echoed";
const TOKEN = testJwt({
  iss: ISS,
  sub: SUB,
  aud: "sigstore",
  exp: Math.floor(Date.now() / 1000) + 3600,
  jti: TOKEN_CANARY,
});
const MULTIARCH = join(REPO_ROOT, "test/fixtures/multiarch");
// A budget, not an assertion: two builds, two scans, a push and five Rekor entries on a shared 2-core machine.
const PUBLISH_BUDGET_MS = 360_000;

/** The token whole, each part and its decoded claims, plain, base64 and base64url. */
function secretForms(): string[] {
  const parts = TOKEN.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  return [TOKEN, ...parts, ...decoded, TOKEN_CANARY]
    .flatMap((v) => [v, Buffer.from(v).toString("base64"), Buffer.from(v).toString("base64url")])
    .filter((f) => f.length >= 8);
}
function expectNoSecret(text: string) {
  for (const form of secretForms()) expect(text).not.toContain(form);
}

interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: { spdxVersion: string; packages: { versionInfo: string; description: string }[] };
}

describe.skipIf(!docker)("publish --sign --sbom-scanner: one SBOM per platform, scanned before the push", () => {
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
    await ensureScannerImage(join(REPO_ROOT, "test/fixtures/sbom-scanner"));
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

  const session = () =>
    new RegistrySession({ host: registry.host, plainHttp: true, credentials: { username: "ci", password: PASSWORD } });
  const auth = () => ({ username: "ci", password: world.double.cliSecret(PASSWORD) });
  const signingArgs = () => ({
    sign: true,
    oidcToken: world.double.cliSecret(TOKEN),
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
  });

  /** A Container ID of the scanner image, as `dagger call --sbom-scanner=<address>` passes one. */
  async function scanner(): Promise<string> {
    const { body } = await world.double.query(`{ container { from(address: "${SCANNER_IMAGE}") { id } } }`);
    expect(body.errors).toBeUndefined();
    return (body.data as { container: { from: { id: string } } }).container.from.id;
  }

  /** The SBOM attestation of `line` (`name@subject=referrer;tag=…`): listed, verified, its statement. */
  async function readSbom(
    repository: string,
    line: string,
  ): Promise<{ subject: string; statement: Statement; stored: string }> {
    const m = /^([^@]+)@(sha256:[0-9a-f]{64})=(sha256:[0-9a-f]{64});tag=(sha256-[0-9a-f]{64})$/.exec(line);
    expect(m, line).not.toBeNull();
    const [, name, subject, referrer] = m!;
    const s = session();
    const listed = await listReferrers(s, repository, subject!, BUNDLE_V03_MEDIA_TYPE);
    expect(listed.descriptors.map((d) => d.digest)).toContain(referrer);
    const manifest = await getManifest(s, repository, referrer!);
    const body = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as {
      subject: { digest: string };
      layers: { digest: string }[];
      annotations: Record<string, string>;
    };
    expect(body.subject.digest).toBe(subject);
    expect(body.annotations["dev.sigstore.bundle.predicateType"]).toBe(SPDX_PREDICATE_TYPE);
    const bundleBytes = await getBlob(s, repository, body.layers[0]!.digest);
    const bundle = JSON.parse(Buffer.from(bundleBytes).toString("utf8")) as { dsseEnvelope: { payload: string } };
    // No SCT to check: the mock's CT log writes SCTs @sigstore/core cannot parse (test/fixtures/sigstore.ts).
    const verifier = new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 });
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: SUB,
      extensions: { issuer: ISS },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(SUB);
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as Statement;
    expect(statement.subject).toEqual([{ name, digest: { sha256: subject!.slice(7) } }]);
    expect(statement.predicateType).toBe(SPDX_PREDICATE_TYPE);
    const stored = Buffer.from(manifest.bytes).toString("utf8") + Buffer.from(bundleBytes).toString("utf8");
    return { subject: subject!, statement, stored };
  }

  it(
    "two platforms: each platform manifest gets the SBOM its own tarball gave, verified; the index gets none",
    async () => {
      const g = gitFixture(MULTIARCH);
      const result = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call(
          "publish",
          {
            images: [`${registry.host}/acme/scanned`],
            platforms: ["linux/amd64", "linux/arm64"],
            ...auth(),
            ...signingArgs(),
            sbomScanner: await scanner(),
            sbomScannerArgs: ["spdx", "/dockyard/image.tar"],
          },
          { returns: "Publication" },
        )
        .result<PublicationResult & { sbomAttestations: string[] }>();
      const pub = publicationData(result);
      expect(pub).toMatchObject({ pushed: true, verified: true, signerIdentity: SUB });
      const byDigest = new Map(pub.platformDigests.map((p) => [p.split("=")[1]!, p.split("=")[0]!]));
      expect(byDigest.size).toBe(2);
      // One scan per platform; signatures on the index and both platforms, one SBOM per platform.
      expect(world.double.execs).toBe(2);
      expect(pub.signatures).toHaveLength(3);
      expect(result.sbomAttestations).toHaveLength(2);
      expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 5 });

      let stored = "";
      const seen: string[] = [];
      for (const line of result.sbomAttestations) {
        const sbom = await readSbom("acme/scanned", line);
        stored += sbom.stored;
        const platform = byDigest.get(sbom.subject);
        expect(platform, `${sbom.subject} is a platform manifest, not the index ${pub.digest}`).toBeDefined();
        const [pkg] = sbom.statement.predicate.packages;
        // The scanner read this platform's tarball: its index.json names the very manifest pushed for it.
        expect(pkg!.versionInfo).toBe(sbom.subject);
        expect(pkg!.description).toMatch(new RegExp(`^architecture ${platform!.split("/")[1]}, config blobs/sha256/`));
        seen.push(platform!);
      }
      expect(seen.sort()).toEqual(["linux/amd64", "linux/arm64"]);
      expect(
        await listReferrers(session(), "acme/scanned", pub.digest, BUNDLE_V03_MEDIA_TYPE).then((r) => r.descriptors),
      ).toHaveLength(1);
      expectNoSecret(JSON.stringify(result) + stored + JSON.stringify(world.double.journal));
    },
    PUBLISH_BUDGET_MS,
  );

  it(
    "publish-containers, one platform: the lone manifest gets its SBOM beside its signature",
    async () => {
      const g = gitFixture(MULTIARCH);
      const d = world.double;
      const dir = d.hostDirectory(g.dir);
      const { body } = await d.query(
        `{ node(id: "${dir}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } } }`,
      );
      expect(body.errors).toBeUndefined();
      const container = (body.data as { node: { dockerBuild: { id: string } } }).node.dockerBuild.id;
      const result = await d
        .module({ args: { source: dir } })
        .call(
          "publishContainers",
          {
            containers: [container],
            images: [`${registry.host}/acme/scanned-one`],
            ...auth(),
            ...signingArgs(),
            sbomScanner: await scanner(),
            sbomScannerArgs: ["spdx", "/dockyard/image.tar"],
          },
          { returns: "Publication" },
        )
        .result<PublicationResult & { sbomAttestations: string[] }>();
      const pub = publicationData(result);
      expect(pub.signatures).toHaveLength(1);
      expect(result.sbomAttestations).toHaveLength(1);
      const sbom = await readSbom("acme/scanned-one", result.sbomAttestations[0]!);
      expect(sbom.subject).toBe(pub.digest);
      // The lone manifest gains the index-level annotations after the push, so the scanned manifest differs;
      // the config the scanner read from the tarball is the pushed one.
      const pushed = await getManifest(session(), "acme/scanned-one", pub.digest);
      const config = (JSON.parse(Buffer.from(pushed.bytes).toString("utf8")) as { config: { digest: string } }).config;
      expect(sbom.statement.predicate.packages[0]!.description).toBe(
        `architecture arm64, config blobs/sha256/${config.digest.slice("sha256:".length)}`,
      );
      expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 2 });
      expectNoSecret(JSON.stringify(result) + sbom.stored);
    },
    PUBLISH_BUDGET_MS,
  );

  it.each([
    {
      name: "a scanner that exits 1",
      mode: "fail",
      why: /--sbom-scanner on linux\/(amd64|arm64): exited with code 1 \(stderr ends: "scan: reading \/dockyard\/image\.tar\\nscan: \/dockyard\/image\.tar: unsupported image layout"\); nothing was pushed/,
    },
    {
      name: "a scanner printing a table, not JSON",
      mode: "table",
      why: /--sbom-scanner on linux\/(amd64|arm64): exited 0 but its stdout is no SBOM \(SBOM "--sbom-scanner output for linux\/(amd64|arm64)": is not JSON/,
    },
  ])(
    "$name refuses after the build and scan, before any push or Sigstore request",
    async ({ mode, why }) => {
      const g = gitFixture(MULTIARCH);
      const mark = proxy.requests.length;
      const err = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call("publish", {
          images: [`${proxy.host}/acme/unscanned`],
          platforms: ["linux/amd64", "linux/arm64"],
          ...auth(),
          ...signingArgs(),
          sbomScanner: await scanner(),
          sbomScannerArgs: [mode, "/dockyard/image.tar"],
        })
        .result()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(FunctionCallError);
      const e = err as FunctionCallError;
      expect(e.message).toMatch(why);
      expect(world.double.execs).toBeGreaterThan(0);
      expect(world.double.journal.filter((j) => j.field === "Container.publish")).toEqual([]);
      // Only the auth probe the client sends while the image builds (GET /v2/): nothing read or written.
      expect(proxy.requests.slice(mark).map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v2/"]);
      expect(sigstore.total()).toBe(0);
      expectNoSecret(`${e.message}\n${e.stdout}\n${e.stderr}`);
    },
    PUBLISH_BUDGET_MS,
  );

  it.each([
    {
      name: "--sbom and --sbom-scanner together",
      extra: async () => {
        const dir = world.double.hostDirectory(join(REPO_ROOT, "test/fixtures/sbom"));
        const { body } = await world.double.query(
          `{ node(id: "${dir}") { ... on Directory { file(path: "npm-sbom.spdx.json") { id } } } }`,
        );
        return { ...signingArgs(), sbom: (body.data as { node: { file: { id: string } } }).node.file.id };
      },
      why: /--sbom and --sbom-scanner together: give the SBOM file, or the scanner/,
    },
    {
      name: "--sbom-scanner without --sign",
      extra: () => Promise.resolve({}),
      why: /--sbom-scanner without --sign: .*or drop --sbom-scanner/,
    },
  ])(
    "$name is refused before anything: no build, scan, registry or Sigstore request",
    async ({ extra, why }) => {
      const g = gitFixture(MULTIARCH);
      const mark = proxy.requests.length;
      const err = await world.double
        .module({ args: { source: world.double.hostDirectory(g.dir) } })
        .call("publish", {
          images: [`${proxy.host}/acme/refused`],
          platforms: ["linux/amd64"],
          ...auth(),
          sbomScanner: await scanner(),
          sbomScannerArgs: ["spdx", "/dockyard/image.tar"],
          ...(await extra()),
        })
        .result()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(FunctionCallError);
      expect((err as FunctionCallError).message).toMatch(why);
      expect(world.double.builds).toBe(0);
      expect(world.double.execs).toBe(0);
      expect(proxy.requests.slice(mark)).toEqual([]);
      expect(sigstore.total()).toBe(0);
    },
    PUBLISH_BUDGET_MS,
  );
});
