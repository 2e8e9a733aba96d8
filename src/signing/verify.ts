/**
 * verifyBundle: a Sigstore bundle (DSSE, one Rekor v1 entry, as src/signing writes them) checked against a
 * trusted_root.json, on node:crypto only. The steps follow Sigstore's client spec ("Verification" in
 * sigstore/architecture-docs client-spec) and @sigstore/verify 3.x; written here, not copied.
 */
import { createHash, createPublicKey, verify, X509Certificate, type KeyObject } from "node:crypto";

import { BundleVerificationError, InvalidInputError, type BundleCheck } from "../errors/index.js";
import { checkDigest } from "../registry/reference.js";
import { certificateExtension, derUtf8String } from "./der.js";
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from "./dsse.js";
import { DSSE_KIND } from "./rekor.js";
import { certificateIdentity } from "./sign.js";

/** What the signer must be: `cosign verify --certificate-identity … --certificate-oidc-issuer …`. */
export interface VerificationPolicy {
  /** The certificate's SAN (URI or email), e.g. a GitHub workflow ref URL. */
  certificateIdentity: string;
  /** The OIDC issuer Fulcio recorded, e.g. https://token.actions.githubusercontent.com. */
  certificateOidcIssuer: string;
}

/** The artifact the bundle must be about: an image digest its in-toto statement names, or the exact DSSE payload. */
export type ExpectedArtifact = { digest: string } | { payload: Uint8Array };

export interface VerifiedBundle {
  identity: string;
  issuer: string;
  /** Seconds since the epoch: when Rekor logged the signature (the time the certificate was checked at). */
  integratedTime: number;
  logIndex: number;
  payloadType: string;
  payload: Buffer;
}

/** Fulcio's issuer extensions (sigstore/fulcio docs/oid-info.md): V2 is a DER UTF8String, V1 the raw string. */
export const FULCIO_ISSUER_V2_OID = "1.3.6.1.4.1.57264.1.8";
export const FULCIO_ISSUER_V1_OID = "1.3.6.1.4.1.57264.1.1";

function fail(check: BundleCheck, message: string): never {
  throw new BundleVerificationError(message, check);
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
// Standard base64 as protobuf-specs writes it; the URL-safe alphabet too, which protobuf JSON parsers accept.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** protobuf-specs JSON bytes: base64; undefined when `v` is not base64 text. */
const bytes = (v: unknown): Buffer | undefined =>
  typeof v === "string" && BASE64.test(v) ? Buffer.from(v, "base64") : undefined;
/** protobuf-specs JSON int64: a decimal string (or a number). */
const int = (v: unknown): number | undefined => {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};
const parse = (v: unknown, what: string, check: BundleCheck): Json => {
  let value = v;
  if (typeof v === "string" || v instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(v).toString("utf8"));
    } catch {
      return fail(check, `the ${what} is not JSON; pass the file's text as it was written`);
    }
  }
  return obj(value) ?? fail(check, `the ${what} is not a JSON object`);
};
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return hash.digest();
};

interface TimeRange {
  start?: Date;
  end?: Date;
}
const within = (t: Date, range: TimeRange | undefined): boolean =>
  !range || ((!range.start || range.start <= t) && (!range.end || t <= range.end));
const timeRange = (v: unknown): TimeRange | undefined => {
  const o = obj(v);
  if (!o) return undefined;
  const at = (s: unknown) => (typeof s === "string" ? new Date(s) : undefined);
  return { ...(o.start ? { start: at(o.start) } : {}), ...(o.end ? { end: at(o.end) } : {}) } as TimeRange;
};

interface CertificateAuthority {
  name: string;
  /** Leaf-most first, as protobuf-specs' X509CertificateChain orders them. */
  chain: X509Certificate[];
  validFor?: TimeRange;
}
interface TransparencyLog {
  name: string;
  logId: Buffer;
  key: KeyObject;
  validFor?: TimeRange;
}

/** The CAs and Rekor logs of a trusted_root.json (protobuf-specs TrustedRoot, JSON form). */
function readTrustedRoot(trustedRoot: unknown): { cas: CertificateAuthority[]; tlogs: TransparencyLog[] } {
  const root = parse(trustedRoot, "trusted root", "bundle");
  const list = (v: unknown) => (Array.isArray(v) ? v.map(obj).filter((o): o is Json => o !== undefined) : []);
  const bad = (what: string) =>
    fail("bundle", `the trusted root's ${what} cannot be read; use Sigstore's trusted_root.json as published`);
  const cas = list(root.certificateAuthorities).map((ca, i) => ({
    name: str(ca.uri) ?? `certificate authority ${i + 1}`,
    chain: list(obj(ca.certChain)?.certificates).map((c) => {
      try {
        return new X509Certificate(bytes(c.rawBytes) ?? Buffer.alloc(0));
      } catch {
        return bad(`certificate authority ${i + 1}'s chain`);
      }
    }),
    validFor: timeRange(ca.validFor),
  }));
  const tlogs = list(root.tlogs).map((log, i) => {
    const key = obj(log.publicKey);
    const logId = bytes(obj(log.logId)?.keyId);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: bytes(key?.rawBytes) ?? Buffer.alloc(0), format: "der", type: "spki" });
    } catch {
      return bad(`transparency log ${i + 1}'s public key`);
    }
    return {
      name: str(log.baseUrl) ?? `transparency log ${i + 1}`,
      logId: logId ?? bad(`transparency log ${i + 1}'s logId`),
      key: publicKey,
      validFor: timeRange(key?.validFor),
    };
  });
  if (cas.length === 0 || tlogs.length === 0)
    fail(
      "bundle",
      "the trusted root has no certificate authority or no transparency log; use a full trusted_root.json",
    );
  return { cas, tlogs };
}

/** The digest a key signs with: the curve's own hash for ECDSA (P-256 → SHA-256), none for Ed25519. */
function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === "secp384r1" ? "sha384" : curve === "secp521r1" ? "sha512" : "sha256";
}
const verifies = (data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean => {
  try {
    return verify(hashFor(key), data, key, signature);
  } catch {
    return false;
  }
};

/**
 * Rekor's SET payload: RFC 8785 canonical JSON of {body, integratedTime, logID, logIndex} (keys sorted; strings and
 * safe integers only, where JSON.stringify already writes the canonical form). Rekor signs it in pkg/api/entries.go.
 */
function setPayload(body: string, integratedTime: number, logId: Buffer, logIndex: number): Buffer {
  const fields = { body, integratedTime, logID: logId.toString("hex"), logIndex };
  const sorted = Object.keys(fields)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(fields[k as keyof typeof fields])}`);
  return Buffer.from(`{${sorted.join(",")}}`, "utf8");
}

/**
 * The root an RFC 6962 audit path leads to from `leafHash` at `index` in a tree of `treeSize` leaves (RFC 9162
 * 2.1.3.2, "Verifying an Inclusion Proof"); undefined when the path cannot belong to such a tree.
 */
export function merkleRootFromProof(
  leafHash: Uint8Array,
  index: bigint,
  treeSize: bigint,
  hashes: Uint8Array[],
): Buffer | undefined {
  if (index >= treeSize) return undefined;
  let fn = index;
  let sn = treeSize - 1n;
  let r: Buffer = Buffer.from(leafHash);
  const node = (left: Uint8Array, right: Uint8Array) => sha256(Buffer.from([0x01]), left, right);
  for (const p of hashes) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = node(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/** RFC 6962 leaf hash: SHA-256(0x00 || entry). */
export const merkleLeafHash = (entry: Uint8Array): Buffer => sha256(Buffer.from([0x00]), entry);

/**
 * A Rekor checkpoint (a signed note, C2SP signed-note and tlog-checkpoint): origin, tree size, base64 root hash,
 * a blank line, then `— <name> base64(4-byte key hint || signature)` lines; one must verify with the log's key,
 * and its root hash be the proof's (sigstore/rekor pkg/verify/verify.go VerifyCheckpointSignature).
 */
function checkCheckpoint(envelope: string, log: TransparencyLog, treeSize: number, rootHash: Buffer): void {
  const split = envelope.indexOf("\n\n");
  if (split < 0) fail("checkpoint", "the inclusion proof's checkpoint is not a signed note; sign again");
  const note = envelope.slice(0, split + 1);
  const [, size, root] = note.split("\n");
  if (size !== String(treeSize) || root !== rootHash.toString("base64"))
    fail("checkpoint", "the checkpoint's tree size or root hash is not the inclusion proof's; the proof was altered");
  const hint = log.logId.subarray(0, 4);
  const signed = envelope
    .slice(split + 2)
    .split("\n")
    .map((line) => /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line)?.[2])
    .filter((b64): b64 is string => b64 !== undefined)
    .map((b64) => Buffer.from(b64, "base64"))
    .some((s) => s.subarray(0, 4).equals(hint) && verifies(Buffer.from(note, "utf8"), log.key, s.subarray(4)));
  if (!signed)
    fail(
      "checkpoint",
      `the checkpoint is not signed by ${log.name}'s key; the proof was altered or is from another log`,
    );
}

/** Leaf first, then each CA certificate up to the root: every link signed by the next, each valid at `at`. */
function chainProblem(leaf: X509Certificate, chain: X509Certificate[], at: Date): string | undefined {
  const path = [leaf, ...chain];
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i] as X509Certificate;
    const parent = path[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) return "not signed by it";
  }
  const root = chain.at(-1);
  if (!root?.checkIssued(root) || !root.verify(root.publicKey)) return "its chain does not end in a root";
  const expired = chain.find((c) => new Date(c.validFrom) > at || at > new Date(c.validTo));
  return expired ? `its certificate "${expired.subject.replace(/\n/g, ", ")}" was not valid then` : undefined;
}

/** Fulcio's OIDC issuer: extension 1.3.6.1.4.1.57264.1.8 (a UTF8String), else the deprecated .1.1 (raw bytes). */
function certificateIssuer(der: Buffer): string | undefined {
  let v2: Buffer | undefined;
  let v1: Buffer | undefined;
  try {
    v2 = certificateExtension(der, FULCIO_ISSUER_V2_OID);
    v1 = certificateExtension(der, FULCIO_ISSUER_V1_OID);
  } catch (e) {
    return fail("issuer", `the certificate cannot be read for its issuer: ${(e as Error).message}`);
  }
  if (v2)
    return (
      derUtf8String(v2) ??
      fail(
        "issuer",
        `the certificate's OIDC issuer extension ${FULCIO_ISSUER_V2_OID} is not a DER UTF8String, as Fulcio writes it; verify certificates Fulcio issued`,
      )
    );
  return v1?.toString("utf8");
}

/** The statement's subjects must include `digest` ("<algorithm>:<hex>"), as an in-toto digest set names it. */
function checkSubject(payloadType: string, payload: Buffer, digest: string): void {
  const [algorithm = "", hex = ""] = digest.split(":");
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    fail(
      "subject",
      `the envelope's payload type is ${payloadType}, not an in-toto statement (${IN_TOTO_PAYLOAD_TYPE})`,
    );
  let statement: Json | undefined;
  try {
    statement = obj(JSON.parse(payload.toString("utf8")));
  } catch {
    statement = undefined;
  }
  if (!statement || !str(statement._type)?.startsWith("https://in-toto.io/Statement/"))
    fail("subject", "the envelope's payload is not an in-toto statement");
  const subjects = Array.isArray(statement?.subject) ? (statement.subject as unknown[]) : [];
  const named = subjects.some((s) => str(obj(obj(s)?.digest)?.[algorithm])?.toLowerCase() === hex.toLowerCase());
  if (!named || !hex)
    fail(
      "subject",
      `the statement's subject is not ${digest}: this bundle signs another artifact; verify it against its own digest`,
    );
}

/**
 * Verifies a Sigstore bundle (JSON text or parsed) for `expected`, signed by `policy`'s identity and issuer, against
 * `trustedRoot` (trusted_root.json, text or parsed). Throws BundleVerificationError naming the failed check.
 */
export function verifyBundle(
  bundle: unknown,
  expected: ExpectedArtifact,
  policy: VerificationPolicy,
  trustedRoot: unknown,
): VerifiedBundle {
  // The caller's own input first: a bad policy or digest is the caller's to fix, not the bundle's fault.
  if (!policy.certificateIdentity.trim())
    throw new InvalidInputError("--certificate-identity: empty; give the signer's identity, e.g. its workflow URL");
  if (!policy.certificateOidcIssuer.trim())
    throw new InvalidInputError(
      "--certificate-oidc-issuer: empty; give the signer's OIDC issuer, e.g. https://token.actions.githubusercontent.com",
    );
  if ("digest" in expected) checkDigest(expected.digest);
  const { cas, tlogs } = readTrustedRoot(trustedRoot);
  const b = parse(bundle, "bundle", "bundle");
  if (!str(b.mediaType)?.startsWith("application/vnd.dev.sigstore.bundle"))
    fail("bundle", `the bundle's mediaType is ${String(b.mediaType)}, not a Sigstore bundle's`);
  const material = obj(b.verificationMaterial);
  // v0.3 carries the leaf alone; v0.1/v0.2 a chain, leaf first.
  const chainCerts = obj(material?.x509CertificateChain)?.certificates;
  const leafBytes = bytes(
    obj(material?.certificate)?.rawBytes ?? (Array.isArray(chainCerts) ? obj(chainCerts[0])?.rawBytes : undefined),
  );
  if (!leafBytes) return fail("bundle", "the bundle has no signing certificate; keyless bundles carry Fulcio's");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafBytes);
  } catch {
    return fail("bundle", "the bundle's certificate is not an X.509 certificate");
  }
  const envelope = obj(b.dsseEnvelope);
  const payloadType = str(envelope?.payloadType);
  const payload = bytes(envelope?.payload);
  const signatures = Array.isArray(envelope?.signatures) ? envelope.signatures : [];
  const signature = bytes(obj(signatures[0])?.sig);
  if (!envelope || payloadType === undefined || !payload)
    return fail("bundle", "the bundle has no DSSE envelope; only DSSE bundles (cosign v3, dockyard) are verified");
  if (signatures.length !== 1 || !signature)
    return fail("bundle", "the DSSE envelope must hold exactly one signature, as Sigstore bundles do");
  const entries = Array.isArray(material?.tlogEntries) ? material.tlogEntries.map(obj) : [];
  const entry = entries[0];
  if (entries.length !== 1 || !entry) return fail("bundle", "the bundle must hold one Rekor entry; sign again");

  // 4a. The entry's promise: the SET, by the trusted log whose id the entry names, over what the bundle carries.
  const logIndex = int(entry.logIndex);
  const integratedTime = int(entry.integratedTime);
  const logId = bytes(obj(entry.logId)?.keyId);
  const body = str(entry.canonicalizedBody);
  const set = bytes(obj(entry.inclusionPromise)?.signedEntryTimestamp);
  if (logIndex === undefined || integratedTime === undefined || !logId || !body || !BASE64.test(body))
    return fail("bundle", "the Rekor entry lacks logIndex, integratedTime, logId or canonicalizedBody");
  if (!set) return fail("tlog-set", "the Rekor entry has no inclusion promise (signed entry timestamp); sign again");
  const at = new Date(integratedTime * 1000);
  const log = tlogs.find((t) => t.logId.equals(logId));
  if (!log)
    return fail(
      "tlog-log-id",
      `the Rekor entry's logId ${logId.toString("hex")} is no transparency log of the trusted root; use the trusted root of the Rekor that logged it`,
    );
  if (!within(at, log.validFor))
    fail("tlog-log-id", `${log.name}'s key was not valid at the entry's time ${at.toISOString()}`);
  if (!verifies(setPayload(body, integratedTime, logId, logIndex), log.key, set))
    fail(
      "tlog-set",
      `the signed entry timestamp does not verify with ${log.name}'s key: the entry was altered after logging`,
    );

  // 1. The certificate: issued by a trusted CA valid when Rekor logged the signature, and valid itself then.
  const problems = cas.map((ca) =>
    !within(at, ca.validFor) ? `${ca.name} was not trusted then` : chainProblem(leaf, ca.chain, at),
  );
  if (!problems.includes(undefined))
    fail(
      "certificate-chain",
      `the certificate was not issued by a certificate authority of the trusted root at ${at.toISOString()} (${problems.join("; ")}); use the trusted root of the Fulcio that issued it`,
    );
  if (new Date(leaf.validFrom) > at || at > new Date(leaf.validTo))
    fail(
      "certificate-validity",
      `the certificate was valid from ${leaf.validFrom} to ${leaf.validTo}, not at the Rekor entry's time ${at.toISOString()}: it was logged outside its certificate's life; sign again`,
    );

  // 2. Who signed: the SAN and Fulcio's issuer extension.
  const identity = certificateIdentity(leaf.toString());
  if (identity !== policy.certificateIdentity)
    fail(
      "identity",
      `the certificate's identity is ${JSON.stringify(identity ?? "(none)")}, not ${JSON.stringify(policy.certificateIdentity)}; check --certificate-identity`,
    );
  const issuer = certificateIssuer(leaf.raw);
  if (issuer !== policy.certificateOidcIssuer)
    fail(
      "issuer",
      `the certificate's OIDC issuer is ${JSON.stringify(issuer ?? "(none)")}, not ${JSON.stringify(policy.certificateOidcIssuer)}; check --certificate-oidc-issuer`,
    );

  // 4b. The logged body is this envelope's: dsse 0.0.1 with its payload hash, its signature and this certificate.
  const kind = obj(entry.kindVersion);
  let logged: Json | undefined;
  try {
    logged = obj(JSON.parse(Buffer.from(body, "base64").toString("utf8")));
  } catch {
    logged = undefined;
  }
  const spec = obj(logged?.spec);
  if (logged?.kind !== DSSE_KIND.kind || logged.apiVersion !== DSSE_KIND.version || !spec)
    fail("tlog-body", `the Rekor entry is not a dsse ${DSSE_KIND.version} entry; only DSSE bundles are verified`);
  if (kind && (kind.kind !== logged?.kind || kind.version !== logged?.apiVersion))
    fail("tlog-body", "the bundle's kindVersion is not the logged entry's kind and version");
  const hash = obj(spec?.payloadHash);
  if (hash?.algorithm !== "sha256" || hash.value !== sha256(payload).toString("hex"))
    fail(
      "tlog-body",
      "the envelope's payload is not the one logged in Rekor (payload hash differs): the bundle was altered after signing",
    );
  const loggedSignatures = Array.isArray(spec?.signatures) ? spec.signatures.map(obj) : [];
  const sameSignature = loggedSignatures.filter((s) => bytes(s?.signature)?.equals(signature));
  if (sameSignature.length === 0)
    fail("tlog-body", "the envelope's signature is not the one logged in Rekor: the bundle was altered after signing");
  const sameKey = sameSignature.some((s) => {
    try {
      return new X509Certificate(Buffer.from(str(s?.verifier) ?? "", "base64")).raw.equals(leaf.raw);
    } catch {
      return false;
    }
  });
  if (!sameKey) fail("tlog-body", "Rekor logged the signature with another certificate than the bundle's");

  // 3. The DSSE signature over PAE(type, payload) with the certificate's key, then what it is about.
  if (!verifies(preAuthEncoding(payloadType, payload), leaf.publicKey, signature))
    fail(
      "signature",
      "the DSSE signature does not verify with the certificate's key: the envelope was not signed by this certificate",
    );
  if ("digest" in expected) checkSubject(payloadType, payload, expected.digest);
  else if (!payload.equals(Buffer.from(expected.payload)))
    fail("subject", "the envelope's payload is not the expected payload: this bundle signs something else");

  // 4c. The inclusion proof, when present: the audit path from the entry's leaf to the root, and the checkpoint.
  const proof = obj(entry.inclusionProof);
  if (proof) {
    const index = int(proof.logIndex);
    const treeSize = int(proof.treeSize);
    const rootHash = bytes(proof.rootHash);
    const path = Array.isArray(proof.hashes) ? proof.hashes.map(bytes) : [];
    const checkpoint = str(obj(proof.checkpoint)?.envelope);
    if (index === undefined || treeSize === undefined || !rootHash || path.some((h) => !h))
      fail("inclusion-proof", "the inclusion proof lacks logIndex, treeSize, rootHash or hashes; sign again");
    const root = merkleRootFromProof(
      merkleLeafHash(Buffer.from(body, "base64")),
      BigInt(index ?? 0),
      BigInt(treeSize ?? 0),
      path as Buffer[],
    );
    if (!root?.equals(rootHash ?? Buffer.alloc(0)))
      fail(
        "inclusion-proof",
        "the inclusion proof does not lead from the entry to its root hash: the bundle was altered after signing",
      );
    if (checkpoint !== undefined) checkCheckpoint(checkpoint, log, treeSize ?? 0, rootHash ?? Buffer.alloc(0));
  }

  return {
    identity: identity ?? "",
    issuer: issuer ?? "",
    integratedTime,
    logIndex,
    payloadType,
    payload,
  };
}
