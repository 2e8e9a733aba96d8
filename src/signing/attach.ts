/**
 * A Sigstore bundle as the OCI 1.1 referrer cosign v3 reads: artifact type and layer media type the bundle's
 * (`application/vnd.dev.sigstore.bundle.v0.3+json`), annotations `dev.sigstore.bundle.content: dsse-envelope`,
 * `dev.sigstore.bundle.predicateType` and `org.opencontainers.image.created` (as sigstore/cosign v3's sign and attest
 * write them: pkg/oci/remote/write.go WriteAttestationNewBundleFormat, read at d6d86c2; README.md has the layout).
 */
import { InvalidInputError } from "../errors/index.js";
import { ArgumentError } from "../input/argument.js";
import { parseCreated } from "../input/timestamp.js";
import type { ReferrerArtifact } from "../registry/referrers.js";
import { BUNDLE_V03_MEDIA_TYPE, type SigstoreBundle } from "./bundle.js";

export const BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content";
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = "dev.sigstore.bundle.predicateType";
export const CREATED_ANNOTATION = "org.opencontainers.image.created";

/** The referrer artifact of `bundle`: its JSON bytes as the one layer, annotated as cosign v3 annotates it. */
export function bundleArtifact(bundle: SigstoreBundle, predicateType: string, created: string): ReferrerArtifact {
  if (!predicateType)
    throw new InvalidInputError(
      `predicate type is empty: give the statement's (e.g. "https://sigstore.dev/cosign/sign/v1")`,
    );
  checkCreated(created);
  return {
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    blob: { mediaType: BUNDLE_V03_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify(bundle)) },
    annotations: {
      [BUNDLE_CONTENT_ANNOTATION]: "dsse-envelope",
      [BUNDLE_PREDICATE_TYPE_ANNOTATION]: predicateType,
      [CREATED_ANNOTATION]: created,
    },
  };
}

/** `created` as --created takes it (parseCreated), refused in this function's own words. */
function checkCreated(created: string): void {
  try {
    parseCreated(created, "created");
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    throw new InvalidInputError(`created "${created}" is not an RFC 3339 time (e.g. "2026-12-05T18:00:00Z")`);
  }
}
