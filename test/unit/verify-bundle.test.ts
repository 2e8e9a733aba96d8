// Unit: src/signing/verify.ts's verifyBundle on bundles our keylessSigner makes against @sigstore/mock's CA and log
// in process (routeFetch: no socket), each check broken on its own; the RFC 6962 audit path; the DER reader.
import { createHash, createPublicKey, generateKeyPairSync, sign as signData, X509Certificate } from "node:crypto";

import { beforeAll, describe, expect, it } from "vitest";

import { BundleVerificationError, InvalidInputError, type BundleCheck } from "../../src/errors/index.js";
import { certificateExtension, derUtf8String, encodeOid } from "../../src/signing/der.js";
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  keylessSigner,
  preAuthEncoding,
  type SigstoreBundle,
} from "../../src/signing/index.js";
import {
  FULCIO_ISSUER_V1_OID,
  FULCIO_ISSUER_V2_OID,
  merkleLeafHash,
  merkleRootFromProof,
  verifyBundle,
  type ExpectedArtifact,
  type VerificationPolicy,
} from "../../src/signing/verify.js";
import {
  FULCIO_PATH,
  mockSigstore,
  REKOR_PATH,
  routeFetch,
  testJwt,
  type MockSigstore,
  type Route,
} from "../fixtures/sigstore.js";

// Loopback so src/signing takes plain http; routeFetch answers in process, nothing listens there.
const URL_ = "http://127.0.0.1:9";
const IMAGE = "ghcr.io/acme/app";
const DIGEST = `sha256:${"ab12".repeat(16)}`;
const OTHER_DIGEST = `sha256:${"cd34".repeat(16)}`;
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const CANARY = "canary-4b1c9e2a-never-echoed";
const TOKEN = testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: Math.floor(Date.now() / 1000) + 600, jti: CANARY });
const POLICY: VerificationPolicy = { certificateIdentity: SUB, certificateOidcIssuer: ISS };

let good: MockSigstore;
let otherCa: MockSigstore;
let expiredCa: MockSigstore;
let bundle: SigstoreBundle;
let otherCaBundle: SigstoreBundle;
let expiredBundle: SigstoreBundle;
let v1IssuerBundle: SigstoreBundle;
let noIssuerBundle: SigstoreBundle;
let v2NotUtf8Bundle: SigstoreBundle;

/** A Fulcio on `mock`'s CA writing only `extensions` (the mock's own writes both issuer extensions). */
const fulcioWriting =
  (mock: MockSigstore, extensions: { oid: string; value: string; legacy?: boolean }[]): Route =>
  async (body) => {
    const request = JSON.parse(body) as { publicKeyRequest: { publicKey: { content: string } } };
    const publicKey = createPublicKey(request.publicKeyRequest.publicKey.content).export({
      format: "der",
      type: "spki",
    });
    const leaf = await mock.ca.issueCertificate({ publicKey, subjectAltName: SUB, extensions });
    const certificates = [leaf, mock.ca.rootCertificate].map((der) => new X509Certificate(der).toString());
    return { status: 201, body: JSON.stringify({ signedCertificateEmbeddedSct: { chain: { certificates } } }) };
  };

async function signWith(mock: MockSigstore, fulcio: Route = mock.fulcio): Promise<SigstoreBundle> {
  const routes = new Map([
    [FULCIO_PATH, fulcio],
    [REKOR_PATH, mock.rekor],
  ]);
  const signer = await keylessSigner({
    oidcToken: TOKEN,
    fulcioUrl: URL_,
    rekorUrl: URL_,
    fetch: routeFetch(routes),
    sleep: () => Promise.resolve(),
  });
  return (await signer.sign(IMAGE, DIGEST, COSIGN_SIGN_PREDICATE_TYPE, {})).bundle;
}

beforeAll(async () => {
  good = await mockSigstore(URL_);
  // The same log, another CA: only the certificate's chain differs.
  otherCa = await mockSigstore(URL_, { tlogKeys: good.tlogKeys });
  // Certificates issued two hours back (valid 10 minutes), logged now.
  expiredCa = await mockSigstore(URL_, { tlogKeys: good.tlogKeys, issued: new Date(Date.now() - 7_200_000) });
  [bundle, otherCaBundle, expiredBundle, v1IssuerBundle, noIssuerBundle, v2NotUtf8Bundle] = await Promise.all([
    signWith(good),
    signWith(otherCa),
    signWith(expiredCa),
    signWith(good, fulcioWriting(good, [{ oid: FULCIO_ISSUER_V1_OID, value: ISS, legacy: true }])),
    signWith(good, fulcioWriting(good, [])),
    // A raw string where V2 wants a UTF8String: refused, not read as V1 would be.
    signWith(
      good,
      fulcioWriting(good, [
        { oid: FULCIO_ISSUER_V2_OID, value: ISS, legacy: true },
        { oid: FULCIO_ISSUER_V1_OID, value: ISS, legacy: true },
      ]),
    ),
  ]);
});

const clone = (b: SigstoreBundle): SigstoreBundle => JSON.parse(JSON.stringify(b)) as SigstoreBundle;
const entryOf = (b: SigstoreBundle) =>
  b.verificationMaterial.tlogEntries[0] as SigstoreBundle["verificationMaterial"]["tlogEntries"][0];
/** One base64 value with its first byte flipped. */
const flip = (b64: string) => {
  const bytes = Buffer.from(b64, "base64");
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return bytes.toString("base64");
};

/** The bundle's envelope re-signed by a key the certificate does not hold, logged honestly by the mock log. */
async function signedByAnotherKey(): Promise<SigstoreBundle> {
  const b = clone(bundle);
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const payload = Buffer.from(b.dsseEnvelope.payload, "base64");
  const sig = signData("sha256", preAuthEncoding(b.dsseEnvelope.payloadType, payload), privateKey).toString("base64");
  b.dsseEnvelope.signatures = [{ sig }];
  const pem = new X509Certificate(Buffer.from(b.verificationMaterial.certificate!.rawBytes, "base64")).toString();
  const sha256 = (x: Uint8Array) => createHash("sha256").update(x).digest("hex");
  const logged = await good.tlog.log({
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: sha256(Buffer.from(JSON.stringify(b.dsseEnvelope))) },
      payloadHash: { algorithm: "sha256", value: sha256(payload) },
      signatures: [{ signature: sig, verifier: Buffer.from(pem).toString("base64") }],
    },
  });
  const e = Object.values(logged)[0] as {
    body: string;
    integratedTime: number;
    logID: string;
    logIndex: number;
    verification: {
      signedEntryTimestamp: string;
      inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
    };
  };
  const hex64 = (h: string) => Buffer.from(h, "hex").toString("base64");
  const p = e.verification.inclusionProof;
  b.verificationMaterial.tlogEntries = [
    {
      logIndex: String(e.logIndex),
      logId: { keyId: hex64(e.logID) },
      kindVersion: { kind: "dsse", version: "0.0.1" },
      integratedTime: String(e.integratedTime),
      inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
      inclusionProof: {
        logIndex: String(p.logIndex),
        rootHash: hex64(p.rootHash),
        treeSize: String(p.treeSize),
        hashes: p.hashes.map(hex64),
        checkpoint: { envelope: p.checkpoint },
      },
      canonicalizedBody: e.body,
    },
  ];
  return b;
}

interface Row {
  name: string;
  bundle: () => SigstoreBundle | Promise<SigstoreBundle> | string;
  expected?: ExpectedArtifact;
  policy?: VerificationPolicy;
  trustedRoot?: () => unknown;
  check?: BundleCheck;
  message?: RegExp;
}

const rows: Row[] = [
  { name: "the good bundle", bundle: () => bundle },
  { name: "the good bundle as JSON text", bundle: () => JSON.stringify(bundle) },
  { name: "a certificate with only Fulcio's V1 issuer extension", bundle: () => v1IssuerBundle },
  {
    name: "a certificate with no issuer extension",
    bundle: () => noIssuerBundle,
    check: "issuer",
    message: /OIDC issuer is "\(none\)", not "https:\/\/token.actions.githubusercontent.com"/,
  },
  {
    name: "a V2 issuer extension that is not a UTF8String",
    bundle: () => v2NotUtf8Bundle,
    check: "issuer",
    message: /OIDC issuer extension 1\.3\.6\.1\.4\.1\.57264\.1\.8 is not a DER UTF8String/,
  },
  {
    name: "an expected payload that is not the envelope's",
    bundle: () => bundle,
    expected: { payload: Buffer.from("{}") },
    check: "subject",
    message: /not the expected payload/,
  },
  {
    name: "a wrong identity",
    bundle: () => bundle,
    policy: {
      ...POLICY,
      certificateIdentity: "https://github.com/acme/app/.github/workflows/evil.yml@refs/heads/main",
    },
    check: "identity",
    message:
      /identity is "https:\/\/github.com\/acme\/app\/.github\/workflows\/release.yml@refs\/heads\/main", not .*evil.*--certificate-identity/,
  },
  {
    name: "a wrong issuer",
    bundle: () => bundle,
    policy: { ...POLICY, certificateOidcIssuer: "https://gitlab.com" },
    check: "issuer",
    message:
      /OIDC issuer is "https:\/\/token.actions.githubusercontent.com", not "https:\/\/gitlab.com"; check --certificate-oidc-issuer/,
  },
  {
    name: "a certificate from another CA",
    bundle: () => otherCaBundle,
    check: "certificate-chain",
    message: /not issued by a certificate authority of the trusted root .*not signed by it.*trusted root of the Fulcio/,
  },
  {
    name: "a leaf expired at integratedTime",
    bundle: () => expiredBundle,
    trustedRoot: () => expiredCa.trustedRootJson,
    check: "certificate-validity",
    message: /certificate was valid from .* not at the Rekor entry's time/,
  },
  {
    name: "a tampered payload",
    bundle: () => {
      const b = clone(bundle);
      const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString()) as {
        subject: { digest: { sha256: string } }[];
      };
      (statement.subject[0] as { digest: { sha256: string } }).digest.sha256 = OTHER_DIGEST.slice(7);
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
      return b;
    },
    expected: { digest: OTHER_DIGEST },
    check: "tlog-body",
    message: /payload is not the one logged in Rekor \(payload hash differs\)/,
  },
  {
    name: "a tampered signature",
    bundle: () => {
      const b = clone(bundle);
      b.dsseEnvelope.signatures = [{ sig: flip((b.dsseEnvelope.signatures[0] as { sig: string }).sig) }];
      return b;
    },
    check: "tlog-body",
    message: /signature is not the one logged in Rekor/,
  },
  {
    name: "a signature logged but not made by the certificate's key",
    bundle: signedByAnotherKey,
    check: "signature",
    message: /DSSE signature does not verify with the certificate's key/,
  },
  {
    name: "another digest than the statement's",
    bundle: () => bundle,
    expected: { digest: OTHER_DIGEST },
    check: "subject",
    message: new RegExp(`subject is not ${OTHER_DIGEST}: this bundle signs another artifact`),
  },
  {
    name: "a tampered SET",
    bundle: () => {
      const b = clone(bundle);
      const promise = entryOf(b).inclusionPromise;
      promise.signedEntryTimestamp = flip(promise.signedEntryTimestamp);
      return b;
    },
    check: "tlog-set",
    message: /signed entry timestamp does not verify with http:\/\/127.0.0.1:9's key/,
  },
  {
    name: "a tampered integratedTime (the SET no longer covers it)",
    bundle: () => {
      const b = clone(bundle);
      entryOf(b).integratedTime = String(Number(entryOf(b).integratedTime) - 1);
      return b;
    },
    check: "tlog-set",
    message: /signed entry timestamp does not verify/,
  },
  {
    name: "a wrong logId",
    bundle: () => {
      const b = clone(bundle);
      entryOf(b).logId.keyId = Buffer.alloc(32, 7).toString("base64");
      return b;
    },
    check: "tlog-log-id",
    message: /logId 0707.* is no transparency log of the trusted root/,
  },
  {
    name: "a tampered inclusion proof root hash",
    bundle: () => {
      const b = clone(bundle);
      entryOf(b).inclusionProof.rootHash = flip(entryOf(b).inclusionProof.rootHash);
      return b;
    },
    check: "inclusion-proof",
    message: /does not lead from the entry to its root hash/,
  },
  {
    name: "an inclusion proof with an extra hash",
    bundle: () => {
      const b = clone(bundle);
      entryOf(b).inclusionProof.hashes = [Buffer.alloc(32, 1).toString("base64")];
      return b;
    },
    check: "inclusion-proof",
    message: /does not lead from the entry to its root hash/,
  },
  {
    name: "a tampered checkpoint signature",
    bundle: () => {
      const b = clone(bundle);
      const cp = entryOf(b).inclusionProof.checkpoint;
      cp.envelope = cp.envelope.replace(/(\u2014 \S+ )(\S+)/, (_, head: string, sig: string) => {
        const bytes = Buffer.from(sig, "base64");
        bytes[10] = (bytes[10] ?? 0) ^ 0xff;
        return `${head}${bytes.toString("base64")}`;
      });
      return b;
    },
    check: "checkpoint",
    message: /checkpoint is not signed by .*'s key/,
  },
  {
    name: "a checkpoint naming another root",
    bundle: () => {
      const b = clone(bundle);
      const cp = entryOf(b).inclusionProof.checkpoint;
      const root = entryOf(b).inclusionProof.rootHash;
      cp.envelope = cp.envelope.replace(`\n${root}\n`, `\n${flip(root)}\n`);
      return b;
    },
    check: "checkpoint",
    message: /checkpoint's tree size or root hash is not the inclusion proof's/,
  },
  { name: "not JSON", bundle: () => "{", check: "bundle", message: /bundle is not JSON/ },
  {
    name: "a bundle without an envelope",
    bundle: () => {
      const b = clone(bundle) as Partial<SigstoreBundle>;
      delete b.dsseEnvelope;
      return b as SigstoreBundle;
    },
    check: "bundle",
    message: /no DSSE envelope/,
  },
];

/** Each failing row's message, by row name. */
const thrown = new Map<string, string>();

describe("verifyBundle", () => {
  it.each(rows)("$name", async (row) => {
    const b = await row.bundle();
    const run = () =>
      verifyBundle(
        b,
        row.expected ?? { digest: DIGEST },
        row.policy ?? POLICY,
        row.trustedRoot ? row.trustedRoot() : good.trustedRootJson,
      );
    if (!row.check) {
      const result = run();
      expect(result).toMatchObject({ identity: SUB, issuer: ISS, payloadType: "application/vnd.in-toto+json" });
      expect(Math.abs(result.integratedTime - Date.now() / 1000)).toBeLessThan(600);
      return;
    }
    let error: unknown;
    try {
      run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BundleVerificationError);
    thrown.set(row.name, (error as Error).message);
    expect(error).toMatchObject({ code: "DOCKYARD_BUNDLE_VERIFICATION", check: row.check });
    expect((error as Error).message).toMatch(row.message as RegExp);
    // Canary: the token that got the certificate is in no error.
    for (const form of [TOKEN, ...TOKEN.split("."), CANARY]) expect((error as Error).message).not.toContain(form);
  });

  it.each([
    [{ digest: DIGEST }, { ...POLICY, certificateIdentity: " " }, /--certificate-identity: empty/],
    [{ digest: DIGEST }, { ...POLICY, certificateOidcIssuer: "" }, /--certificate-oidc-issuer: empty/],
    [{ digest: "sha256:abc" }, POLICY, /digest "sha256:abc": not a digest/],
  ] as [ExpectedArtifact, VerificationPolicy, RegExp][])(
    "refuses the caller's bad input %# before the bundle",
    (e, p, m) => {
      expect(() => verifyBundle("{", e, p, good.trustedRootJson)).toThrow(InvalidInputError);
      expect(() => verifyBundle("{", e, p, good.trustedRootJson)).toThrow(m);
    },
  );

  it("accepts the exact payload it was given, and the trusted root as JSON text", () => {
    const payload = Buffer.from(bundle.dsseEnvelope.payload, "base64");
    const result = verifyBundle(bundle, { payload }, POLICY, JSON.stringify(good.trustedRootJson));
    expect(result.payload.equals(payload)).toBe(true);
    expect(JSON.stringify(result)).not.toContain(CANARY);
  });

  it("the brief's failures each fail with a message of their own", () => {
    const cases = [
      "a wrong identity",
      "a wrong issuer",
      "a certificate from another CA",
      "a leaf expired at integratedTime",
      "a tampered payload",
      "a tampered signature",
      "a signature logged but not made by the certificate's key",
      "a tampered SET",
      "a wrong logId",
      "a tampered inclusion proof root hash",
      "a tampered checkpoint signature",
    ];
    const seen = cases.map((name) => thrown.get(name)?.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>"));
    expect(seen.every((m) => m !== undefined)).toBe(true);
    expect(new Set(seen).size).toBe(cases.length);
  });
});

/** RFC 6962 2.1: MTH over leaves, and PATH(m, D[n]) the audit path of leaf m, computed the spec's recursive way. */
const node = (l: Buffer, r: Buffer) =>
  createHash("sha256")
    .update(Buffer.from([1]))
    .update(l)
    .update(r)
    .digest();
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return merkleLeafHash(leaves[0] as Buffer);
  const k = split(leaves.length);
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

describe("merkleRootFromProof (RFC 9162 2.1.3.2)", () => {
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17];
  it.each(sizes)("every leaf of a tree of %i leads to its root; a wrong index or size does not", (n) => {
    const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i}`));
    const root = mth(leaves);
    for (let m = 0; m < n; m++) {
      const path = auditPath(m, leaves);
      const leaf = merkleLeafHash(leaves[m] as Buffer);
      expect(merkleRootFromProof(leaf, BigInt(m), BigInt(n), path)?.equals(root)).toBe(true);
      if (n > 1) {
        const other = BigInt((m + 1) % n);
        expect(merkleRootFromProof(leaf, other, BigInt(n), path)?.equals(root) ?? false).toBe(false);
      }
      if (path.length > 0) {
        const altered = [Buffer.from(path[0] as Buffer).fill(0), ...path.slice(1)];
        expect(merkleRootFromProof(leaf, BigInt(m), BigInt(n), altered)?.equals(root) ?? false).toBe(false);
      }
    }
    expect(merkleRootFromProof(merkleLeafHash(leaves[0] as Buffer), BigInt(n), BigInt(n), [])).toBeUndefined();
  });
});

describe("the certificate's DER", () => {
  it.each([
    ["1.3.6.1.4.1.57264.1.8", "2b0601040183bf300108"],
    ["1.3.6.1.4.1.57264.1.1", "2b0601040183bf300101"],
    ["2.5.29.17", "551d11"],
  ])("encodes OID %s as %s", (oid, hex) => {
    expect(encodeOid(oid).toString("hex")).toBe(hex);
  });

  it("reads Fulcio's issuer from both extensions, and no value for an absent one", () => {
    const der = Buffer.from(bundle.verificationMaterial.certificate!.rawBytes, "base64");
    expect(derUtf8String(certificateExtension(der, FULCIO_ISSUER_V2_OID) as Buffer)).toBe(ISS);
    expect(certificateExtension(der, FULCIO_ISSUER_V1_OID)?.toString("utf8")).toBe(ISS);
    expect(certificateExtension(der, "1.3.6.1.4.1.57264.1.99")).toBeUndefined();
    expect(derUtf8String(Buffer.from(ISS))).toBeUndefined();
    expect(() => certificateExtension(Buffer.from("not der"), FULCIO_ISSUER_V2_OID)).toThrow(/not DER/);
  });
});
