/** The Sigstore bundle v0.3 (protobuf-specs' JSON form): the leaf certificate or a key's hint, Rekor entries, the DSSE envelope. */
import { X509Certificate } from "node:crypto";

import type { DsseEnvelope } from "./dsse.js";
import type { RekorEntry } from "./rekor.js";

export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

export interface TlogEntryJson {
  /** int64 values are strings in protobuf's JSON form. */
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise: { signedEntryTimestamp: string };
  inclusionProof: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
  canonicalizedBody: string;
}

export interface SigstoreBundle {
  mediaType: typeof BUNDLE_V03_MEDIA_TYPE;
  verificationMaterial: {
    /** v0.3 carries the leaf only: verifiers hold the chain in their trusted root. */
    certificate?: { rawBytes: string };
    /** Key-based signing: the public key is delivered out of band; the hint is base64 sha256 of its DER SPKI. */
    publicKey?: { hint: string };
    tlogEntries: TlogEntryJson[];
    timestampVerificationData: { rfc3161Timestamps: [] };
  };
  dsseEnvelope: DsseEnvelope;
}

/** Rekor writes hashes and IDs in hex; protobuf's JSON writes bytes in base64. */
const hexToBase64 = (hex: string): string => Buffer.from(hex, "hex").toString("base64");

export function tlogEntryJson(entry: RekorEntry): TlogEntryJson {
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: hexToBase64(entry.logID) },
    kindVersion: { kind: entry.kind, version: entry.version },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: entry.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(entry.inclusionProof.logIndex),
      rootHash: hexToBase64(entry.inclusionProof.rootHash),
      treeSize: String(entry.inclusionProof.treeSize),
      hashes: entry.inclusionProof.hashes.map(hexToBase64),
      checkpoint: { envelope: entry.inclusionProof.checkpoint },
    },
    canonicalizedBody: entry.canonicalizedBody,
  };
}

export function sigstoreBundle(leafCertificatePem: string, entry: RekorEntry, envelope: DsseEnvelope): SigstoreBundle {
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      certificate: { rawBytes: new X509Certificate(leafCertificatePem).raw.toString("base64") },
      tlogEntries: [tlogEntryJson(entry)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: envelope,
  };
}

/** A key-signed bundle: the key's hint, and the Rekor entry when one was made (none for --tlog=false). */
export function keySignedBundle(hint: string, entry: RekorEntry | undefined, envelope: DsseEnvelope): SigstoreBundle {
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      publicKey: { hint },
      tlogEntries: entry ? [tlogEntryJson(entry)] : [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: envelope,
  };
}
