/** --signing-key: a PEM EC P-256 private key (PKCS#8, SEC1, or encrypted PKCS#8), read with node:crypto. */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";

import { InvalidInputError } from "../errors/index.js";

export interface SigningKey {
  /** SubjectPublicKeyInfo PEM: what Rekor's dsse entry takes as the verifier and `cosign verify --key` reads. */
  publicKeyPem: string;
  /** base64 sha256 of the DER SubjectPublicKeyInfo: the bundle's `publicKey.hint`, as cosign computes it. */
  fingerprint: string;
  /** ECDSA P-256 over SHA-256, DER-encoded. */
  sign(data: Uint8Array): Buffer;
}

const FLAG = "--signing-key";
const MAKE_KEY =
  "make one with `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -v2 aes-256-cbc -out key.pem` and pass its password as --signing-key-password";
const COSIGN_FORMAT =
  "is in cosign's own encrypted format (scrypt and NaCl secretbox, which node:crypto cannot open): dockyard reads PEM keys only, so sign with a PEM key (" +
  MAKE_KEY +
  "), and where cosign itself must sign, `cosign import-key-pair --key key.pem` turns that PEM key into a cosign key of the same pair";

function refuse(problem: string): never {
  throw new InvalidInputError(`${FLAG}: the key ${problem}`);
}

/** The PEM label of each block, e.g. "PRIVATE KEY", in order. */
function pemLabels(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1] as string);
}

/** What a key of another kind is, for the refusal. */
function kindOf(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? "unknown";
  if (type === "ec") return `an EC ${key.asymmetricKeyDetails?.namedCurve ?? "unknown-curve"} key`;
  if (type === "rsa" || type === "rsa-pss") return "an RSA key";
  if (type === "ed25519" || type === "ed448") return `an ${type === "ed25519" ? "Ed25519" : "Ed448"} key`;
  return `a ${type} key`;
}

/**
 * The key checked and loaded; every refusal names the flag and the fix and never quotes the key, its password or
 * node:crypto's own message (which could).
 */
export function parseSigningKey(pem: string, password?: string): SigningKey {
  const labels = pemLabels(pem);
  if (labels.includes("ENCRYPTED SIGSTORE PRIVATE KEY") || labels.includes("ENCRYPTED COSIGN PRIVATE KEY"))
    refuse(COSIGN_FORMAT);
  const label = labels.find((l) => l.endsWith("PRIVATE KEY"));
  if (label === undefined)
    refuse(
      labels.length
        ? `is a PEM ${labels[0]}, not a private key: pass the private key (${MAKE_KEY})`
        : `is not a PEM private key (no -----BEGIN … PRIVATE KEY----- line): ${MAKE_KEY}`,
    );
  const encrypted = label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && password === undefined)
    refuse("is encrypted: also pass its password as --signing-key-password (a secret, e.g. env:SIGNING_KEY_PASSWORD)");
  if (!encrypted && password !== undefined)
    throw new InvalidInputError(
      `--signing-key-password: the key is not encrypted, so it takes no password; drop --signing-key-password`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: pem, format: "pem", passphrase: password ?? "" } : pem);
  } catch {
    if (encrypted)
      throw new InvalidInputError(
        `--signing-key-password does not decrypt --signing-key: pass the password the key was encrypted with`,
      );
    refuse(`is a PEM ${label} that cannot be read (damaged or not a key): ${MAKE_KEY}`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    refuse(`is ${kindOf(key)}: dockyard signs with an EC P-256 (prime256v1) key only; ${MAKE_KEY}`);
  const publicKey = createPublicKey(key);
  const der = publicKey.export({ type: "spki", format: "der" });
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: createHash("sha256").update(der).digest("base64"),
    sign: (data) => sign("sha256", data, key),
  };
}
