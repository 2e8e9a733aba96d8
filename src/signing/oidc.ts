/** The OIDC identity token's checks before any request: a JWT, not expired, with a subject and an issuer; never echoed. */
import { InvalidInputError } from "../errors/index.js";

export interface OidcIdentity {
  /** The `sub` claim: Fulcio puts it in the certificate's SAN, and verifiers match it as the identity. */
  identity: string;
  /** The `iss` claim: the OIDC issuer verifiers match (`--certificate-oidc-issuer`). */
  issuer: string;
  /** The `exp` claim in seconds since the epoch, when the token has one. */
  expiresAt?: number;
}

const FLAG = "--oidc-token";
const MINT =
  "GitHub: `permissions: id-token: write` and a token minted with audience sigstore; GitLab: `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`";
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function refuse(why: string, fix: string): never {
  throw new InvalidInputError(`${FLAG}: the OIDC token ${why} (not shown); ${fix}`);
}

/** A JSON object from one base64url part, or undefined when the part is not one. */
function decodePart(part: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(part) || part.length % 4 === 1) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the token's shape and claims (its signature is Fulcio's to check) and returns who it names. `nowMs` is
 * the clock the expiry is read against; a token due to expire within `marginS` is refused as well.
 */
export function checkOidcToken(token: string, nowMs: number, marginS = 30): OidcIdentity {
  const trimmed = token.trim();
  if (trimmed === "") refuse("is empty", `pass the CI's OIDC token as a secret (${MINT})`);
  const parts = trimmed.split(".");
  if (parts.length !== 3)
    refuse(
      `is not a JWT (it has ${parts.length} dot-separated part${parts.length === 1 ? "" : "s"}, a JWT has 3)`,
      `pass the OIDC identity token itself, not the request token or URL that mints it (${MINT})`,
    );
  const [headerPart = "", payloadPart = ""] = parts;
  const header = decodePart(headerPart);
  if (!header || typeof header.alg !== "string")
    refuse("has a header that is not base64url JSON with an `alg`", `pass the token exactly as minted (${MINT})`);
  const payload = decodePart(payloadPart);
  if (!payload) refuse("has a payload that is not base64url JSON", `pass the token exactly as minted (${MINT})`);
  const { sub, iss, exp } = payload;
  if (typeof sub !== "string" || sub === "")
    refuse("has no `sub` claim, the identity Fulcio certifies", `mint an identity token for the workload (${MINT})`);
  if (typeof iss !== "string" || iss === "")
    refuse("has no `iss` claim, the issuer Fulcio checks it against", `mint it from the CI's OIDC provider (${MINT})`);
  if (exp !== undefined && (typeof exp !== "number" || !Number.isFinite(exp)))
    refuse("has an `exp` claim that is not a number", `mint a fresh token (${MINT})`);
  if (typeof exp === "number" && exp - marginS <= nowMs / 1000) {
    const ago = Math.floor(nowMs / 1000) - exp;
    refuse(
      ago >= 0 ? `expired ${ago} s ago (exp ${new Date(exp * 1000).toISOString()})` : `expires within ${marginS} s`,
      `mint it in the same job, right before signing: CI tokens live minutes (${MINT})`,
    );
  }
  return { identity: sub, issuer: iss, ...(typeof exp === "number" ? { expiresAt: exp } : {}) };
}

/**
 * `text` with the token, each of its parts and their decoded JSON replaced by `***`, and any other JWT-shaped
 * string as well: a service that echoes the token back must not put it in our error.
 */
export function maskToken(text: string, token: string): string {
  const secrets = new Set<string>();
  const trimmed = token.trim();
  if (trimmed) secrets.add(trimmed);
  for (const part of trimmed.split(".")) {
    if (part.length < 8) continue;
    secrets.add(part);
    const decoded = Buffer.from(part, "base64url").toString("utf8");
    if (decoded.length >= 8) secrets.add(decoded);
  }
  // Whole JWTs first: masking a shared header part first would leave the rest of another token unmatched.
  let masked = text.replace(/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "***");
  // Longest first, so a part inside the whole token does not leave the rest behind.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) masked = masked.split(secret).join("***");
  return masked;
}
