// Rung 3: the provenance and SBOM predicates signed by src/signing against Sigstore's own mock Fulcio and Rekor
// (@sigstore/mock 0.11) on loopback, each bundle checked by Sigstore's own verifier (@sigstore/verify 3.x).
import { readFileSync } from "node:fs";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import {
  CYCLONEDX_PREDICATE_TYPE,
  DOCKYARD_BUILD_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  provenancePredicate,
  sbomPredicate,
  signImage,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  SPDX_PREDICATE_TYPE,
  type ProvenanceInput,
  type SigstoreBundle,
} from "../../src/signing/index.js";
import { FULCIO_PATH, REKOR_PATH, testJwt, useSigstore } from "../fixtures/sigstore.js";

const IMAGE = "ghcr.io/acme/app";
const DIGEST = `sha256:${"5e7a".repeat(16)}`;
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const NOW = Date.now();
const TOKEN_CANARY = "canary-oidc-9d2c-never-in-a-bundle";
const TOKEN = testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: Math.floor(NOW / 1000) + 600, jti: TOKEN_CANARY });
// The value of the build secret "NPM_TOKEN": the caller holds it, provenance may only ever see its id.
const SECRET_CANARY = "canary-npm-4e81-secret-build-value";

const INPUT = {
  builderId: SUB,
  commit: "89abcdef0123456789abcdef0123456789abcdef",
  ref: "refs/heads/main",
  sourceUrl: "https://github.com/acme/app",
  dockerfile: "Dockerfile",
  target: "runtime",
  buildArgs: [{ name: "VERSION", value: "1.2.3" }],
  buildSecretIds: ["NPM_TOKEN"],
  platforms: ["linux/amd64", "linux/arm64"],
  images: [IMAGE],
  tags: ["sha-89abcde", "main"],
  engineVersion: "v0.21.9",
  invocationId: "https://github.com/acme/app/actions/runs/7/attempts/1",
  startedOn: "2026-12-05T12:00:00Z",
  finishedOn: "2026-12-05T12:04:00Z",
} satisfies ProvenanceInput;

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sbom/${name}`, import.meta.url), "utf8");

const sigstore = useSigstore();

const sign = (predicateType: string, predicate: Record<string, unknown>) =>
  signImage({
    image: `${IMAGE}:main`,
    digest: DIGEST,
    predicateType,
    predicate,
    oidcToken: TOKEN,
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
    now: () => NOW,
    sleep: () => Promise.resolve(),
  });

/** Sigstore's verifier over our bundle JSON, with a policy on the certificate's identity and issuer. */
function verifyBundle(bundle: SigstoreBundle) {
  // No SCT to check: see test/fixtures/sigstore.ts (the mock's CT log writes SCTs @sigstore/core cannot parse).
  const verifier = new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 });
  return verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(JSON.stringify(bundle)))), {
    subjectAlternativeName: SUB,
    extensions: { issuer: ISS },
  });
}

const payloadOf = (bundle: SigstoreBundle) => Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8");

/** A value as a leak could carry it: plain, base64 and base64url. */
const encodings = (value: string) => [
  value,
  Buffer.from(value).toString("base64"),
  Buffer.from(value).toString("base64url"),
];
/** The token whole, each part, its decoded header and claims, and the canary claim, each in every encoding. */
function tokenForms(): string[] {
  const parts = TOKEN.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  return [TOKEN, ...parts, ...decoded, TOKEN_CANARY].flatMap(encodings).filter((f) => f.length >= 8);
}

const attestations: [string, () => { predicateType: string; predicate: Record<string, unknown> }][] = [
  ["SLSA provenance", () => ({ predicateType: SLSA_PROVENANCE_PREDICATE_TYPE, predicate: provenancePredicate(INPUT) })],
  ["an SPDX 2.3 SBOM from npm sbom", () => sbomPredicate(fixture("npm-sbom.spdx.json"), "npm-sbom.spdx.json")],
  ["a CycloneDX 1.6 SBOM from cyclonedx-npm", () => sbomPredicate(fixture("cyclonedx-npm.cdx.json"), "bom.json")],
];

describe("attestations signed against the mock Fulcio and Rekor, verified by @sigstore/verify", () => {
  it.each(attestations)("%s: the bundle verifies with the token's sub and iss", async (_, make) => {
    const { predicateType, predicate } = make();
    const { bundle, identity, issuer } = await sign(predicateType, predicate);
    expect({ identity, issuer }).toEqual({ identity: SUB, issuer: ISS });
    const signer = verifyBundle(bundle);
    expect(signer.identity?.subjectAlternativeName).toBe(SUB);
    expect(signer.identity?.extensions?.issuer).toBe(ISS);
    expect(bundle.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    const statement = JSON.parse(payloadOf(bundle)) as Record<string, unknown>;
    expect(statement).toEqual({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: IMAGE, digest: { sha256: DIGEST.slice("sha256:".length) } }],
      predicateType,
      predicate,
    });
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 1 });
  });

  const types: [string, string, string][] = [
    ["SLSA provenance", SLSA_PROVENANCE_PREDICATE_TYPE, DOCKYARD_BUILD_TYPE],
    ["an SPDX 2.3 SBOM from npm sbom", SPDX_PREDICATE_TYPE, "SPDX-2.3"],
    ["a CycloneDX 1.6 SBOM from cyclonedx-npm", CYCLONEDX_PREDICATE_TYPE, "1.6"],
  ];
  it.each(types)("%s is signed as predicate type %s", async (name, predicateType, marker) => {
    const make = attestations.find(([n]) => n === name)?.[1];
    if (!make) throw new Error(`no attestation ${name}`);
    const made = make();
    const { bundle } = await sign(made.predicateType, made.predicate);
    const statement = JSON.parse(payloadOf(bundle)) as { predicateType: string; predicate: unknown };
    expect(statement.predicateType).toBe(predicateType);
    expect(JSON.stringify(statement.predicate)).toContain(JSON.stringify(marker));
  });

  it("a bundle whose statement names another predicate type fails verification", async () => {
    const { predicateType, predicate } = sbomPredicate(fixture("npm-sbom.spdx.json"), "npm-sbom.spdx.json");
    const { bundle } = await sign(predicateType, predicate);
    const swapped = payloadOf(bundle).replace(SPDX_PREDICATE_TYPE, CYCLONEDX_PREDICATE_TYPE);
    bundle.dsseEnvelope.payload = Buffer.from(swapped, "utf8").toString("base64");
    expect(() => verifyBundle(bundle)).toThrow();
  });

  it("canary: neither the OIDC token nor a build secret's value is in a provenance bundle, in any encoding", async () => {
    const { bundle } = await sign(SLSA_PROVENANCE_PREDICATE_TYPE, provenancePredicate(INPUT));
    const texts = [JSON.stringify(bundle), payloadOf(bundle)];
    expect(payloadOf(bundle)).toContain('"buildSecretIds":["NPM_TOKEN"]');
    for (const text of texts) {
      for (const form of [...tokenForms(), ...encodings(SECRET_CANARY)]) expect(text).not.toContain(form);
    }
  });

  it("canary: a build arg that is a build secret id is refused before any request, its value in no message", async () => {
    const leaky = { ...INPUT, buildArgs: [...INPUT.buildArgs, { name: "NPM_TOKEN", value: SECRET_CANARY }] };
    const run = async () => sign(SLSA_PROVENANCE_PREDICATE_TYPE, provenancePredicate(leaky));
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    for (const form of encodings(SECRET_CANARY)) {
      expect((err as Error).message).not.toContain(form);
      expect(String((err as Error).stack)).not.toContain(form);
    }
    expect(sigstore.total()).toBe(0);
  });
});
