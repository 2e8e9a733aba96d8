/** Fulcio v2 `POST /api/v2/signingCert`: the OIDC token and a public key in, a short-lived certificate chain (PEM) out. */
import { X509Certificate } from "node:crypto";

import { callService, serviceBase, signingError, type ServiceOptions } from "./service.js";
import { proofOfPossession, type EphemeralKey } from "./keys.js";

export const DEFAULT_FULCIO_URL = "https://fulcio.sigstore.dev";
const FLAG = "--fulcio-url";

interface SigningCertAnswer {
  signedCertificateEmbeddedSct?: { chain?: { certificates?: unknown } };
  signedCertificateDetachedSct?: { chain?: { certificates?: unknown } };
}

/**
 * The certificate chain Fulcio issues for `key` and the token's `subject`, leaf first. The leaf must hold `key`:
 * a certificate for another key would sign nothing of ours.
 */
export async function requestSigningCertificate(
  fulcioUrl: string,
  oidcToken: string,
  subject: string,
  key: EphemeralKey,
  options: ServiceOptions = {},
): Promise<string[]> {
  const url = `${serviceBase(fulcioUrl, FLAG)}/api/v2/signingCert`;
  const what = `issue a signing certificate (POST ${url})`;
  const answer = await callService(
    "Fulcio",
    what,
    FLAG,
    oidcToken,
    {
      method: "POST",
      url,
      ok: [200, 201],
      body: {
        credentials: { oidcIdentityToken: oidcToken },
        publicKeyRequest: {
          publicKey: { algorithm: "ECDSA", content: key.publicKeyPem },
          proofOfPossession: proofOfPossession(key, subject),
        },
      },
    },
    options,
  );
  const body = (answer.json ?? {}) as SigningCertAnswer;
  const certificates = (body.signedCertificateEmbeddedSct ?? body.signedCertificateDetachedSct)?.chain?.certificates;
  const bad = (why: string) => signingError("Fulcio", what, FLAG, oidcToken, answer.status, why);
  if (!Array.isArray(certificates) || certificates.length === 0 || !certificates.every((c) => typeof c === "string"))
    throw bad("its answer has no certificate chain");
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificates[0] as string);
  } catch {
    throw bad("its first certificate is not a PEM X.509 certificate");
  }
  if (!leaf.publicKey.equals(key.publicKey)) throw bad("it certified another public key than the one sent");
  return certificates as string[];
}
