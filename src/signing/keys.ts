/** The ephemeral P-256 key pair of one signing, and its proof of possession for Fulcio v2. */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";

export interface EphemeralKey {
  publicKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, as Fulcio's `publicKeyRequest.publicKey.content` takes it. */
  publicKeyPem: string;
  /** ECDSA P-256 over SHA-256, DER-encoded: what Fulcio, Rekor and DSSE verifiers expect. */
  sign(data: Uint8Array): Buffer;
}

/** A fresh key that lives only in this process: it signs one thing, and the certificate outlives it. */
export function ephemeralKey(): EphemeralKey {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    publicKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    sign: (data) => sign("sha256", data, privateKey),
  };
}

/** Fulcio v2 asks for the token's subject signed by the key, so only the key's holder gets its certificate. */
export function proofOfPossession(key: EphemeralKey, subject: string): string {
  return key.sign(Buffer.from(subject, "utf8")).toString("base64");
}
