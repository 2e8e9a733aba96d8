/**
 * publish and publish-containers' attestations: the SLSA provenance of what one call built and pushed, and a
 * user's SBOM, each signed about every manifest signed (src/signing/pushed.ts).
 */
import type { Attestation } from "./pushed.js";
import { DOCKYARD_BUILDER_ID, provenancePredicate, type ProvenanceInput } from "./provenance.js";
import type { SbomPredicate } from "./sbom.js";
import { SLSA_PROVENANCE_PREDICATE_TYPE } from "./statement.js";

export interface PublishProvenance {
  commit: string;
  /** The refs the tags came from: one full ref is recorded, none when several or none. */
  refs: readonly string[];
  sourceUrl?: string;
  /** Absent, with target, buildArgs and buildSecretIds, for containers built elsewhere (publish-containers). */
  dockerfile?: string;
  target?: string;
  buildArgs?: readonly { name: string; value: string }[];
  buildSecretIds?: readonly string[];
  platforms: readonly string[];
  images: readonly string[];
  tags: readonly string[];
  engineVersion: string;
  startedOn: string;
}

/** The provenance input, builder.id the module itself: no argument names the CI platform, the certificate does. */
export function publishProvenance(p: PublishProvenance): ProvenanceInput {
  const [ref, ...more] = p.refs;
  return {
    builderId: DOCKYARD_BUILDER_ID,
    commit: p.commit,
    ...(ref !== undefined && more.length === 0 && ref.startsWith("refs/") ? { ref } : {}),
    ...(p.sourceUrl !== undefined ? { sourceUrl: p.sourceUrl } : {}),
    ...(p.dockerfile !== undefined ? { dockerfile: p.dockerfile } : {}),
    ...(p.target !== undefined ? { target: p.target } : {}),
    ...(p.buildArgs !== undefined ? { buildArgs: p.buildArgs } : {}),
    ...(p.buildSecretIds !== undefined ? { buildSecretIds: p.buildSecretIds } : {}),
    platforms: p.platforms,
    images: p.images,
    tags: p.tags,
    engineVersion: p.engineVersion,
    startedOn: p.startedOn,
  };
}

/** What to attest beside each signature, the provenance finished at `finishedOn`. */
export function publishAttestations(
  provenance: ProvenanceInput | undefined,
  sbom: SbomPredicate | undefined,
  finishedOn: string,
): Attestation[] {
  return [
    ...(provenance
      ? [
          {
            kind: "provenance",
            predicateType: SLSA_PROVENANCE_PREDICATE_TYPE,
            predicate: provenancePredicate({ ...provenance, finishedOn }),
          },
        ]
      : []),
    ...(sbom ? [{ kind: "sbom", ...sbom }] : []),
  ];
}
