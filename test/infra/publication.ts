// Rung 3 helper: a Publication as a module call returns it (its data and its renderings, all fields).
import { expect } from "vitest";

import type { PublicationData } from "../../src/push/publication.js";

export type PublicationResult = PublicationData & Record<"json" | "githubOutput" | "markdown" | "dotenv", string>;

/** The Publication's data, once its json rendering is shown to be exactly that data and every rendering names the commit. */
export function publicationData(result: PublicationResult): PublicationData {
  const { json, githubOutput, markdown, dotenv, ...fields } = result;
  // Unsigned, the signing fields are empty and the renderings leave them out: so does the data compared here.
  const { signatures, signerIdentity, signerIssuer, signerKeyFingerprint, ...unsigned } = fields;
  const signed = signatures?.length || signerIdentity || signerIssuer || signerKeyFingerprint;
  // The key's fingerprint is rendered only when signed with a key.
  const withSigning: PublicationData = signed
    ? {
        ...unsigned,
        signatures: signatures ?? [],
        signerIdentity: signerIdentity ?? "",
        signerIssuer: signerIssuer ?? "",
        ...(signerKeyFingerprint ? { signerKeyFingerprint } : {}),
      }
    : unsigned;
  // Likewise each attestation list: left out of the data when empty, as the renderings leave it out.
  const { provenanceAttestations, sbomAttestations, ...rest } = withSigning;
  const data: PublicationData = {
    ...rest,
    ...(provenanceAttestations?.length ? { provenanceAttestations } : {}),
    ...(sbomAttestations?.length ? { sbomAttestations } : {}),
  };
  expect(JSON.parse(json)).toEqual(data);
  expect([githubOutput, markdown, dotenv].every((r) => r.includes(data.commit))).toBe(true);
  return data;
}
