/**
 * publish and publish-containers' attestations: the SLSA provenance of what one call built and pushed, and a
 * user's SBOM, each signed about every manifest signed (src/signing/pushed.ts).
 */
import type { Attestation } from "./pushed.js";
import { DOCKYARD_BUILDER_ID, provenancePredicate, type ProvenanceInput } from "./provenance.js";
import type { SbomPredicate } from "./sbom.js";
import { SLSA_PROVENANCE_PREDICATE_TYPE } from "./statement.js";

/** What publish knows of its build: the provenance input less builder.id and ref (set here) and finishedOn (at signing). */
export type PublishProvenance = Omit<
  ProvenanceInput,
  "builderId" | "ref" | "invocationId" | "startedOn" | "finishedOn"
> & {
  /** The refs the tags came from: one full ref is recorded, none when several or none. */
  refs: readonly string[];
  startedOn: string;
};

/** The provenance input, builder.id the module itself: no argument names the CI platform, the certificate does. */
export function publishProvenance({ refs, ...known }: PublishProvenance): ProvenanceInput {
  const [ref, ...more] = refs;
  return {
    builderId: DOCKYARD_BUILDER_ID,
    ...known,
    ...(ref !== undefined && more.length === 0 && ref.startsWith("refs/") ? { ref } : {}),
  };
}

/** One platform's SBOM, as --sbom-scanner printed it for that platform's image. */
export interface ScannedSbom {
  platform: string;
  sbom: SbomPredicate;
}

/** What to attest beside each signature, the provenance finished at `finishedOn`; a scanned SBOM only about its platform. */
export function publishAttestations(
  provenance: ProvenanceInput | undefined,
  sbom: SbomPredicate | undefined,
  finishedOn: string,
  scanned: readonly ScannedSbom[] = [],
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
    ...scanned.map((s) => ({ kind: "sbom", ...s.sbom, platform: s.platform })),
  ];
}
