// Rung 1 (types) plus direct calls: parseSigningKey reads a P-256 PEM key (PKCS#8, SEC1, encrypted PKCS#8) with
// node:crypto and refuses every other key, cosign's own format and a wrong password with the fix; no refusal quotes
// the key or its password.
import { createHash, verify } from "node:crypto";

import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import { parseSigningKey } from "../../src/signing/index.js";
import { cosignShapedKey, KEY_PASSWORD, otherKeys, p256Key, pemBody } from "../fixtures/signing-keys.js";

const key = p256Key();
const others = otherKeys();
const fingerprint = createHash("sha256").update(key.spkiDer).digest("base64");

describe("parseSigningKey: accepted", () => {
  it.each([
    { form: "PKCS#8", pem: key.pkcs8, password: undefined },
    { form: "SEC1 (EC PRIVATE KEY)", pem: key.sec1, password: undefined },
    { form: "encrypted PKCS#8 with its password", pem: key.encrypted, password: KEY_PASSWORD },
  ])(
    "$form: one key, its fingerprint the base64 sha256 of its DER SPKI, its signatures verify",
    ({ pem, password }) => {
      const parsed = parseSigningKey(pem, password);
      expect(parsed.fingerprint).toBe(fingerprint);
      expect(parsed.publicKeyPem).toBe(key.publicPem);
      const data = Buffer.from("DSSEv1 payload");
      expect(verify("sha256", data, key.publicPem, parsed.sign(data))).toBe(true);
    },
  );
});

describe("parseSigningKey: refused with the fix", () => {
  it.each([
    { name: "RSA", pem: others.rsa, why: /^--signing-key: the key is an RSA key: .*EC P-256 \(prime256v1\).*openssl/ },
    { name: "P-384", pem: others.p384, why: /^--signing-key: the key is an EC secp384r1 key: .*EC P-256/ },
    { name: "Ed25519", pem: others.ed25519, why: /^--signing-key: the key is an Ed25519 key: .*EC P-256/ },
    {
      name: "cosign's ENCRYPTED SIGSTORE PRIVATE KEY",
      pem: cosignShapedKey(),
      why: /^--signing-key: .*cosign's own encrypted format .*node:crypto.*openssl .*cosign import-key-pair --key key\.pem/,
    },
    {
      name: "cosign's older ENCRYPTED COSIGN PRIVATE KEY",
      pem: cosignShapedKey("ENCRYPTED COSIGN PRIVATE KEY"),
      why: /cosign's own encrypted format/,
    },
    { name: "a public key", pem: key.publicPem, why: /is a PEM PUBLIC KEY, not a private key: pass the private key/ },
    { name: "not PEM", pem: "just some text", why: /is not a PEM private key .*openssl/ },
    {
      name: "a damaged PEM",
      pem: key.pkcs8.replace(/\n[A-Za-z0-9+/]{20}/, "\n!!!!"),
      why: /is a PEM PRIVATE KEY that cannot be read/,
    },
    {
      name: "encrypted, no password",
      pem: key.encrypted,
      why: /^--signing-key: the key is encrypted: also pass its password as --signing-key-password/,
    },
    {
      name: "encrypted, wrong password",
      pem: key.encrypted,
      password: `${KEY_PASSWORD}-wrong`,
      why: /^--signing-key-password does not decrypt --signing-key: pass the password the key was encrypted with$/,
    },
    {
      name: "not encrypted, a password given",
      pem: key.pkcs8,
      password: KEY_PASSWORD,
      why: /^--signing-key-password: the key is not encrypted, so it takes no password; drop --signing-key-password$/,
    },
  ])("$name", ({ pem, password, why }) => {
    let error: unknown;
    try {
      parseSigningKey(pem, password);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    const message = (error as Error).message;
    expect(message).toMatch(why);
    // Canary: no refusal quotes the key (whole, its base64 body, a line of it) or the password.
    for (const secret of [pem, pemBody(pem), pemBody(pem).slice(0, 40), KEY_PASSWORD]) {
      if (secret.length >= 8) expect(message).not.toContain(secret);
    }
  });
});
