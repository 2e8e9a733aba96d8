// Rung 3: src/signing against Sigstore's own mock Fulcio (CA) and Rekor log (@sigstore/mock 0.11) served on
// loopback, every bundle checked by Sigstore's own verifier (@sigstore/verify 3.x, bundle parsed by @sigstore/bundle).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { describe, expect, it } from "vitest";

import { InvalidInputError, SigningError } from "../../src/errors/index.js";
import {
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  signImage,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  type SigstoreBundle,
} from "../../src/signing/index.js";
import { FULCIO_PATH, REKOR_PATH, testJwt, useSigstore } from "../fixtures/sigstore.js";

const IMAGE = "ghcr.io/acme/app";
const DIGEST = `sha256:${"ab12".repeat(16)}`;
const OTHER_DIGEST = `sha256:${"cd34".repeat(16)}`;
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const CANARY = "canary-7f3e9b1d-never-echoed";
const NOW = Date.now();

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  sub: SUB,
  aud: "sigstore",
  exp: Math.floor(NOW / 1000) + 600,
  jti: CANARY,
  ...extra,
});
const TOKEN = testJwt(claims());

const sigstore = useSigstore();

const sign = (extra: Partial<Parameters<typeof signImage>[0]> = {}) =>
  signImage({
    image: IMAGE,
    digest: DIGEST,
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {},
    oidcToken: TOKEN,
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    ...extra,
  });

/** Sigstore's verifier over our bundle JSON, with a policy on the certificate's identity and issuer. */
function verifyBundle(bundle: unknown, identity = SUB, issuer = ISS) {
  // No SCT to check: see test/fixtures/sigstore.ts (the mock's CT log writes SCTs @sigstore/core cannot parse).
  const verifier = new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 });
  return verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
    subjectAlternativeName: identity,
    extensions: { issuer },
  });
}

const statementOf = (bundle: SigstoreBundle) =>
  JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as Record<string, unknown>;

/** Every form of the token a leak could take: whole, its parts, their decoded JSON, re-encoded as base64. */
function tokenForms(token: string): string[] {
  const parts = token.split(".");
  const decoded = parts.slice(0, 2).map((p) => Buffer.from(p, "base64url").toString("utf8"));
  return [
    token,
    ...parts,
    ...decoded,
    Buffer.from(token).toString("base64"),
    Buffer.from(decoded[1] ?? "").toString("base64"),
    CANARY,
  ].filter((form) => form.length >= 8);
}
function expectNoToken(text: string, token = TOKEN) {
  for (const form of tokenForms(token)) expect(text).not.toContain(form);
}

describe("signImage against the mock Fulcio and Rekor, verified by @sigstore/verify", () => {
  it("signs ghcr.io/acme/app@sha256:… into a bundle v0.3 that verifies with the token's sub and iss", async () => {
    const { bundle, identity, issuer } = await sign({ image: `${IMAGE}@${DIGEST}` });
    expect({ identity, issuer }).toEqual({ identity: SUB, issuer: ISS });
    expect(bundle.mediaType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(bundle.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(bundle.verificationMaterial.tlogEntries[0]?.kindVersion).toEqual({ kind: "dsse", version: "0.0.1" });
    expect(statementOf(bundle)).toEqual({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: IMAGE, digest: { sha256: DIGEST.slice(7) } }],
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      predicate: {},
    });
    const signer = verifyBundle(JSON.parse(JSON.stringify(bundle)));
    expect(signer.identity?.subjectAlternativeName).toBe(SUB);
    expect(signer.identity?.extensions?.issuer).toBe(ISS);
    expect(Object.fromEntries(sigstore.requests)).toEqual({ [FULCIO_PATH]: 1, [REKOR_PATH]: 1 });
  });

  it("signs a tagged name and a SLSA predicate; the subject drops the tag", async () => {
    const predicate = { buildDefinition: { buildType: "https://example.test/build/v1" } };
    const { bundle } = await sign({
      image: `${IMAGE}:v1.2.3`,
      predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
      predicate,
    });
    expect(statementOf(bundle)).toMatchObject({ subject: [{ name: IMAGE }], predicate });
    expect(() => verifyBundle(bundle)).not.toThrow();
  });

  const tampers: [string, (b: SigstoreBundle) => void][] = [
    [
      "the statement's digest",
      (b) => {
        const text = Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8");
        b.dsseEnvelope.payload = Buffer.from(text.replace(DIGEST.slice(7), OTHER_DIGEST.slice(7))).toString("base64");
      },
    ],
    ["the payload type", (b) => void (b.dsseEnvelope.payloadType = "application/json")],
    [
      "the signature",
      (b) => {
        const sig = Buffer.from(b.dsseEnvelope.signatures[0]?.sig ?? "", "base64");
        sig[sig.length - 1] = (sig.at(-1) ?? 0) ^ 1;
        b.dsseEnvelope.signatures = [{ sig: sig.toString("base64") }];
      },
    ],
    [
      "the log's integratedTime (inclusion promise)",
      (b) => {
        const e = b.verificationMaterial.tlogEntries[0];
        if (e) e.integratedTime = String(Number(e.integratedTime) + 1);
      },
    ],
  ];
  it.each(tampers)("a bundle with a tampered %s fails verification", async (_, tamper) => {
    const { bundle } = await sign();
    const copy = JSON.parse(JSON.stringify(bundle)) as SigstoreBundle;
    tamper(copy);
    expect(() => verifyBundle(copy)).toThrow();
  });

  it.each([
    ["another identity", "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main", ISS],
    ["another issuer", SUB, "https://gitlab.com"],
  ])("the policy refuses %s", async (_, identity, issuer) => {
    const { bundle } = await sign();
    expect(() => verifyBundle(bundle, identity, issuer)).toThrow(/identity|issuer|subject|extension/i);
  });

  it("canary: the token, its parts and its payload JSON are in no bundle field", async () => {
    const { bundle } = await sign();
    const json = JSON.stringify(bundle);
    expectNoToken(json);
    const decoded = [
      bundle.dsseEnvelope.payload,
      bundle.verificationMaterial.certificate!.rawBytes,
      ...bundle.verificationMaterial.tlogEntries.map((e) => e.canonicalizedBody),
    ].map((b) => Buffer.from(b, "base64").toString("latin1"));
    for (const text of decoded) expectNoToken(text);
  });

  it("the mock's own Rekor handler, which logs the proposed entry verbatim, is refused as not what was logged", async () => {
    sigstore.routes.set(REKOR_PATH, sigstore.mockRekorVerbatim);
    const e = await sign().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SigningError);
    expect((e as SigningError).service).toBe("Rekor");
    expect((e as Error).message).toMatch(/another payload hash or signature/);
  });
});

describe("bad OIDC tokens are refused before any request", () => {
  const past = Math.floor(NOW / 1000) - 120;
  const bad: [string, string, RegExp][] = [
    ["empty", "", /is empty/],
    ["not a JWT", "ghp_notajwtatall0123456789", /not a JWT \(it has 1 dot-separated part/],
    ["two parts", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", /not a JWT \(it has 2/],
    ["bad base64", "eyJhbGciOiJSUzI1NiJ9.!!!not*base64!!!.c2ln", /payload that is not base64url JSON/],
    [
      "header not JSON",
      `${Buffer.from("nope").toString("base64url")}.${testJwt(claims()).split(".")[1]}.c2ln`,
      /header/,
    ],
    ["expired", testJwt(claims({ exp: past })), /expired 120 s ago/],
    ["about to expire", testJwt(claims({ exp: Math.floor(NOW / 1000) + 5 })), /expires within 30 s/],
    ["no sub", testJwt(claims({ sub: undefined })), /no `sub` claim/],
    ["no iss", testJwt(claims({ iss: "" })), /no `iss` claim/],
    ["exp not a number", testJwt(claims({ exp: "tomorrow" })), /`exp` claim that is not a number/],
  ];
  it.each(bad)("%s", async (_, token, why) => {
    const e = await sign({ oidcToken: token }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as Error).message).toMatch(why);
    expect((e as Error).message).toMatch(/^--oidc-token: .* \(not shown\); /);
    if (token) expectNoToken((e as Error).message, token);
    expect(sigstore.total()).toBe(0);
  });

  it.each([
    ["a non-sha256 digest", { digest: `sha512:${"a".repeat(128)}` }, /only sha256/],
    ["a name without registry", { image: "acme/app" }, /no registry host/],
    ["a pinned name of another digest", { image: `${IMAGE}@${OTHER_DIGEST}` }, /its digest is not/],
    ["a Fulcio URL that is not http(s)", { fulcioUrl: "ftp://fulcio" }, /--fulcio-url .*not an http/],
    ["a Rekor URL with credentials", { rekorUrl: "https://u:p@rekor.test" }, /--rekor-url: give the bare address/],
  ])("%s is refused before any request", async (_, extra, why) => {
    await expect(sign(extra)).rejects.toThrow(why);
    expect(sigstore.total()).toBe(0);
  });
});

describe("Fulcio and Rekor errors give a SigningError naming the service, never the token", () => {
  const echo = (status: number) => async (body: string) => ({
    status,
    // A service that quotes the request back, token and all: the mask must hold.
    body: JSON.stringify({ code: status, message: `refused request ${body}` }),
  });
  const cases: [string, string, number, RegExp, number][] = [
    [
      "Fulcio 401",
      FULCIO_PATH,
      401,
      /Fulcio failed to issue a signing certificate .*: 401 ".*" \(Fulcio did not accept the OIDC token/,
      1,
    ],
    ["Fulcio 400", FULCIO_PATH, 400, /Fulcio .*: 400 .*check that its audience is sigstore/, 1],
    ["Fulcio 500, retried", FULCIO_PATH, 500, /Fulcio .*: 500 .*after every retry/, 4],
    ["Rekor 400", REKOR_PATH, 400, /Rekor failed to log the signature .*: 400 .*dsse 0\.0\.1/, 1],
    ["Rekor 403", REKOR_PATH, 403, /Rekor .*: 403 .*--rekor-url/, 1],
    ["Rekor 503, retried", REKOR_PATH, 503, /Rekor .*: 503 .*after every retry/, 4],
  ];
  it.each(cases)("%s", async (_, path, status, message, attempts) => {
    sigstore.routes.set(path, echo(status));
    const slept: number[] = [];
    const e = await sign({ sleep: async (ms) => void slept.push(ms) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SigningError);
    const err = e as SigningError;
    expect({ code: err.code, service: err.service, status: err.status }).toEqual({
      code: "DOCKYARD_SIGNING",
      service: path === FULCIO_PATH ? "Fulcio" : "Rekor",
      status,
    });
    expect(err.message).toMatch(message);
    // Only Fulcio is sent the token; its echo of the request must come back masked.
    if (path === FULCIO_PATH) expect(err.message).toContain("***");
    expectNoToken(err.message);
    expectNoToken(String(err.stack));
    expect(sigstore.requests.get(path)).toBe(attempts);
    expect(slept).toHaveLength(attempts - 1);
    if (path === FULCIO_PATH) expect(sigstore.requests.get(REKOR_PATH)).toBeUndefined();
  });

  it("Fulcio unreachable: a SigningError with the network cause and no status", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const e = await sign({
      fulcioUrl: `http://127.0.0.1:${closed}`,
      policy: { retries: 1, baseDelayMs: 1, maxDelayMs: 1, attemptTimeoutMs: 5000 },
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SigningError);
    expect((e as SigningError).status).toBeUndefined();
    expect((e as Error).message).toMatch(/Fulcio failed .*ECONNREFUSED/);
  });

  it("a Fulcio answer without a chain is refused", async () => {
    sigstore.routes.set(FULCIO_PATH, async () => ({ status: 201, body: "{}" }));
    await expect(sign()).rejects.toThrow(/Fulcio .*: 201 "its answer has no certificate chain"/);
  });

  it("Rekor 409 (logged by an earlier attempt): the entry is read back from its Location", async () => {
    let logged = "";
    sigstore.routes.set(REKOR_PATH, async (body, method) => {
      if (method === "GET") return { status: 200, body: logged };
      logged = (await sigstore.rekor(body, method)).body;
      return {
        status: 409,
        body: '{"code":409,"message":"an equivalent entry already exists"}',
        headers: { location: `${REKOR_PATH}/abc` },
      };
    });
    const { bundle } = await sign();
    expect(() => verifyBundle(bundle)).not.toThrow();
  });
});
