/** The in-toto Statement v1 a signature or attestation carries: subject = one image name and its sha256 digest. */
import { InvalidInputError } from "../errors/index.js";
import { checkDigest, checkRepository } from "../registry/reference.js";
import { hostProblem } from "../input/host.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** The predicate type cosign v3 signs an image with (predicate `{}`); verifiers look for it as "a signature". */
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";
export const SLSA_PROVENANCE_PREDICATE_TYPE = "https://slsa.dev/provenance/v1";

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/**
 * The image's name as the subject names it, `<host>/<repository>`: a tag is dropped (the digest binds), and a
 * digest in the name must be `digest`.
 */
export function subjectName(image: string, digest: string): string {
  const [name = "", pinned] = image.split("@");
  if (pinned !== undefined && pinned !== digest)
    throw new InvalidInputError(`image "${image}": its digest is not ${digest}; name the image that was pushed`);
  const slash = name.indexOf("/");
  const lastColon = name.lastIndexOf(":");
  const untagged = lastColon > name.lastIndexOf("/") && slash >= 0 ? name.slice(0, lastColon) : name;
  const host = untagged.slice(0, Math.max(slash, 0));
  // As docker reads a name: the first component is a registry only with a "." or ":" in it, or as localhost.
  const isHost = slash > 0 && (/[.:]/.test(host) || host === "localhost");
  const problem = isHost ? hostProblem(host) : { why: "it has no registry host" };
  if (problem)
    throw new InvalidInputError(`image "${image}": ${problem.why}; name it with its registry, e.g. "ghcr.io/acme/app"`);
  checkRepository(untagged.slice(slash + 1));
  return untagged;
}

export function imageStatement(
  image: string,
  digest: string,
  predicateType: string,
  predicate: Record<string, unknown>,
): Statement {
  checkDigest(digest);
  if (!digest.startsWith("sha256:"))
    throw new InvalidInputError(`digest "${digest}": only sha256 image digests can be signed; push with sha256`);
  if (!URL.canParse(predicateType))
    throw new InvalidInputError(`predicate type "${predicateType}": not a URI, e.g. ${COSIGN_SIGN_PREDICATE_TYPE}`);
  if (typeof predicate !== "object" || predicate === null || Array.isArray(predicate))
    throw new InvalidInputError("predicate: not a JSON object; pass {} for a plain signature");
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName(image, digest), digest: { sha256: digest.slice("sha256:".length) } }],
    predicateType,
    predicate,
  };
}
