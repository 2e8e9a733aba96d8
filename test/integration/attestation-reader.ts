// Rung 3 (engine double) helper, not a test: reads back what --sign attached (our registry client, skopeo's read of
// the fallback tag) and verifies each bundle with Sigstore's own verifier. Shared by the attestation suites.
import path from "node:path";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { expect } from "vitest";

import type { Registry } from "../infra/registry.js";
import { rawRead } from "../infra/skopeo.js";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { getBlob, getManifest, listReferrers, referrersTag, RegistrySession } from "../../src/registry/index.js";
import { BUNDLE_V03_MEDIA_TYPE } from "../../src/signing/index.js";
import { REPO_ROOT, type DockerWorld } from "./setup.js";

const SBOM_DIR = path.join(REPO_ROOT, "test/fixtures/sbom");

export interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** What the suite started (read when called: beforeAll assigns them) and whose signature it expects. */
export interface AttestationContext {
  world: () => DockerWorld;
  registry: () => Registry;
  trustedRoot: () => TrustedRoot;
  password: string;
  identity: string;
  issuer: string;
}

export function attestationReader(ctx: AttestationContext) {
  const session = () =>
    new RegistrySession({
      host: ctx.registry().host,
      plainHttp: true,
      credentials: { username: "ci", password: ctx.password },
    });

  /** A File ID of the SBOM fixture, as `dagger call --sbom=<path>` passes one. */
  async function sbomFile(name: string): Promise<string> {
    const double = ctx.world().double;
    const dir = double.hostDirectory(SBOM_DIR);
    const { body } = await double.query(`{ node(id: "${dir}") { ... on Directory { file(path: "${name}") { id } } } }`);
    expect(body.errors).toBeUndefined();
    return (body.data as { node: { file: { id: string } } }).node.file.id;
  }

  function verifyBundle(bundle: unknown) {
    // No SCT to check: the mock's CT log writes SCTs @sigstore/core cannot parse (test/fixtures/sigstore.ts).
    const verifier = new Verifier(toTrustMaterial(ctx.trustedRoot()), { ctlogThreshold: 0 });
    return verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: ctx.identity,
      extensions: { issuer: ctx.issuer },
    });
  }

  /**
   * For each `name@subject=referrer;tag=…`: the referrer listed for the subject (our client and skopeo's read of
   * the fallback tag), annotated with `predicateType`, its bundle verified for the expected identity and issuer, its
   * statement about this repository and subject. Returns the statements and every stored byte, for the canary.
   */
  async function readAttestations(
    repository: string,
    lines: string[],
    predicateType: string,
  ): Promise<{ statements: Statement[]; stored: string }> {
    const s = session();
    const host = ctx.registry().host;
    const statements: Statement[] = [];
    let stored = "";
    for (const line of lines) {
      const m = /^([^@]+)@(sha256:[0-9a-f]{64})=(sha256:[0-9a-f]{64});tag=(sha256-[0-9a-f]{64})$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, name, subject, referrer, tag] = m!;
      expect(name).toBe(`${host}/${repository}`);
      expect(tag).toBe(referrersTag(subject!));
      const listed = await listReferrers(s, repository, subject!, BUNDLE_V03_MEDIA_TYPE);
      expect(listed.descriptors.map((d) => d.digest)).toContain(referrer);
      const manifest = await getManifest(s, repository, referrer!);
      const body = JSON.parse(Buffer.from(manifest.bytes).toString("utf8")) as {
        subject: { digest: string };
        layers: { digest: string }[];
        annotations: Record<string, string>;
      };
      expect(body.subject.digest).toBe(subject);
      expect(body.annotations["dev.sigstore.bundle.predicateType"]).toBe(predicateType);
      const bundleBytes = await getBlob(s, repository, body.layers[0]!.digest);
      const bundle = JSON.parse(Buffer.from(bundleBytes).toString("utf8")) as { dsseEnvelope: { payload: string } };
      expect(verifyBundle(bundle).identity?.subjectAlternativeName).toBe(ctx.identity);
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as Statement;
      expect(statement.subject).toEqual([{ name, digest: { sha256: subject!.slice(7) } }]);
      expect(statement.predicateType).toBe(predicateType);
      statements.push(statement);
      const fallback = (await rawRead(`${host}/${repository}:${tag}`, `ci:${ctx.password}`)).toString("utf8");
      expect(fallback).toContain(referrer);
      stored += Buffer.from(manifest.bytes).toString("utf8") + Buffer.from(bundleBytes).toString("utf8") + fallback;
    }
    return { statements, stored };
  }

  return { session, sbomFile, verifyBundle, readAttestations };
}
