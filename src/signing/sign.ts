/** signImage: keyless Sigstore signing of one image digest, from the OIDC token to a bundle v0.3. */
import { X509Certificate } from "node:crypto";

import { keySignedBundle, sigstoreBundle, type SigstoreBundle } from "./bundle.js";
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from "./dsse.js";
import { DEFAULT_FULCIO_URL, requestSigningCertificate } from "./fulcio.js";
import { ephemeralKey } from "./keys.js";
import { checkOidcToken } from "./oidc.js";
import { createDsseEntry, DEFAULT_REKOR_URL } from "./rekor.js";
import { serviceBase, type ServiceOptions } from "./service.js";
import type { SigningKey } from "./signingkey.js";
import { imageStatement } from "./statement.js";

export interface SignImageOptions extends ServiceOptions {
  /** The image's name, e.g. "ghcr.io/acme/app" (a tag is dropped; a digest must be `digest`). */
  image: string;
  /** The digest pushed: "sha256:<64 hex>". */
  digest: string;
  /** e.g. COSIGN_SIGN_PREDICATE_TYPE (with `{}`) for a signature, SLSA_PROVENANCE_PREDICATE_TYPE for provenance. */
  predicateType: string;
  predicate: Record<string, unknown>;
  /** The OIDC identity token's plaintext: sent to Fulcio only, never logged, thrown or put in the bundle. */
  oidcToken: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  /** Milliseconds since the epoch; the token's expiry is read against it. */
  now?: () => number;
}

export interface SignedImage {
  bundle: SigstoreBundle;
  /** The certificate's identity (its SAN): the token's `sub` for a generic issuer. */
  identity: string;
  /** The token's `iss`, which Fulcio writes into the certificate. */
  issuer: string;
}

/**
 * The leaf's first subject alternative name, the identity verifiers match (`cosign verify --certificate-identity`):
 * Fulcio writes the token's `sub` for generic issuers and a URL of its own for some (GitHub: the workflow ref).
 */
export function certificateIdentity(leafPem: string): string | undefined {
  const san = new X509Certificate(leafPem).subjectAltName;
  const first = /^(?:URI|email):("(?:[^"\\]|\\.)*"|[^,]*)/.exec(san ?? "")?.[1];
  if (first === undefined) return undefined;
  return first.startsWith('"') ? (JSON.parse(first) as string) : first;
}

export interface SignerOptions extends ServiceOptions {
  /** The OIDC identity token's plaintext: sent to Fulcio and Rekor only, never logged, thrown or put in a bundle. */
  oidcToken: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  /** Milliseconds since the epoch; the token's expiry is read against it. */
  now?: () => number;
}

/** What signs any number of image digests: one Fulcio certificate (keyless) or one --signing-key. */
export interface Signer {
  /** The certificate's identity and issuer; empty for a key. */
  identity: string;
  issuer: string;
  /** A key's fingerprint (the bundle's publicKey.hint); empty for keyless. */
  keyFingerprint: string;
  sign(image: string, digest: string, predicateType: string, predicate: Record<string, unknown>): Promise<SignedImage>;
}

/** One Fulcio certificate (one ephemeral key) that signs any number of image digests. */
export type KeylessSigner = Signer;

/** The token and addresses checked (no request made), so a caller can refuse bad input before anything else. */
export function checkSignerOptions(options: SignerOptions): {
  fulcioUrl: string;
  rekorUrl: string;
  subject: string;
  issuer: string;
} {
  const fulcioUrl = serviceBase(options.fulcioUrl ?? DEFAULT_FULCIO_URL, "--fulcio-url");
  const rekorUrl = serviceBase(options.rekorUrl ?? DEFAULT_REKOR_URL, "--rekor-url");
  const { identity: subject, issuer } = checkOidcToken(options.oidcToken, (options.now ?? Date.now)());
  return { fulcioUrl, rekorUrl, subject, issuer };
}

/**
 * Checks the inputs, then asks Fulcio once for a certificate of one ephemeral key: every signature of the call is
 * made with that key (one certificate, one identity), each logged in Rekor on its own.
 */
export async function keylessSigner(options: SignerOptions): Promise<KeylessSigner> {
  const { fulcioUrl, rekorUrl, subject, issuer } = checkSignerOptions(options);
  const service: ServiceOptions = {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const key = ephemeralKey();
  const chain = await requestSigningCertificate(fulcioUrl, options.oidcToken, subject, key, service);
  const leaf = chain[0] as string;
  const identity = certificateIdentity(leaf) ?? subject;
  return {
    identity,
    issuer,
    keyFingerprint: "",
    async sign(image, digest, predicateType, predicate) {
      const statement = imageStatement(image, digest, predicateType, predicate);
      const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), "utf8"), key.sign);
      const entry = await createDsseEntry(rekorUrl, envelope, leaf, options.oidcToken, service);
      return { bundle: sigstoreBundle(leaf, entry, envelope), identity, issuer };
    },
  };
}

export interface KeySignerOptions extends ServiceOptions {
  key: SigningKey;
  /** Where each signature is logged; undefined logs none (--tlog=false: the bundle has no tlog entry). */
  rekorUrl?: string | undefined;
}

/** Signs with --signing-key: no Fulcio; each signature logged in Rekor (as cosign does) unless rekorUrl is undefined. */
export function keySigner(options: KeySignerOptions): Signer {
  const { key, rekorUrl } = options;
  const service: ServiceOptions = {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const base = rekorUrl === undefined ? undefined : serviceBase(rekorUrl, "--rekor-url");
  return {
    identity: "",
    issuer: "",
    keyFingerprint: key.fingerprint,
    async sign(image, digest, predicateType, predicate) {
      const statement = imageStatement(image, digest, predicateType, predicate);
      const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), "utf8"), key.sign);
      // No token to mask: Rekor is sent the public key only.
      const entry = base ? await createDsseEntry(base, envelope, key.publicKeyPem, "", service) : undefined;
      return { bundle: keySignedBundle(key.fingerprint, entry, envelope), identity: "", issuer: "" };
    },
  };
}

/** Every input checked before the first request; then Fulcio, the DSSE signature, Rekor, the bundle. */
export async function signImage(options: SignImageOptions): Promise<SignedImage> {
  // The statement first: a bad image or digest is refused before the token is even read.
  imageStatement(options.image, options.digest, options.predicateType, options.predicate);
  const { image, digest, predicateType, predicate, ...rest } = options;
  const signer = await keylessSigner(rest);
  return signer.sign(image, digest, predicateType, predicate);
}
