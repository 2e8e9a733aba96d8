/** src/signing: keyless Sigstore signing (Fulcio, Rekor, DSSE, bundle v0.3) in plain TypeScript on fetch and node:crypto. */
export {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  bundleArtifact,
  CREATED_ANNOTATION,
} from "./attach.js";
export {
  checkSignerOptions,
  keylessSigner,
  keySigner,
  signImage,
  type KeylessSigner,
  type KeySignerOptions,
  type Signer,
  type SignerOptions,
  type SignImageOptions,
  type SignedImage,
} from "./sign.js";
export { parseSigningKey, type SigningKey } from "./signingkey.js";
export { BUNDLE_V03_MEDIA_TYPE, type SigstoreBundle } from "./bundle.js";
export { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding, type DsseEnvelope } from "./dsse.js";
export { DEFAULT_FULCIO_URL } from "./fulcio.js";
export { DEFAULT_REKOR_URL } from "./rekor.js";
export { checkOidcToken, maskToken, type OidcIdentity } from "./oidc.js";
export {
  COSIGN_SIGN_PREDICATE_TYPE,
  imageStatement,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  STATEMENT_TYPE,
  type Statement,
} from "./statement.js";
export { DOCKYARD_BUILD_TYPE, DOCKYARD_BUILDER_ID, provenancePredicate, type ProvenanceInput } from "./provenance.js";
export {
  CYCLONEDX_PREDICATE_TYPE,
  SBOM_MAX_BYTES,
  sbomPredicate,
  SPDX_PREDICATE_TYPE,
  type SbomPredicate,
} from "./sbom.js";
export { SBOM_SCANNER_TARBALL, scannedSbom, stderrTail, STDERR_TAIL_LINES, type ScanOutput } from "./scan.js";
export {
  FULCIO_ISSUER_V1_OID,
  FULCIO_ISSUER_V2_OID,
  verifyBundle,
  type ExpectedArtifact,
  type VerificationPolicy,
  type VerifiedBundle,
} from "./verify.js";
