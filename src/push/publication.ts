import { createHash } from "node:crypto";

/** What one `publish` did, as plain values: the source of every rendering for the next CI step. */
export interface PublicationData {
  /** `host/repo:tag@sha256:…` when pushed, `host/repo:tag` when not. */
  refs: string[];
  /** Manifest digest (the index digest for several platforms); "" when nothing was pushed. */
  digest: string;
  tags: string[];
  /** Normalised image names, e.g. `docker.io/library/app`. */
  images: string[];
  /** The platforms published (each container's for publish-containers); empty for a dry run without --platforms. */
  platforms: string[];
  /** `os/arch[/variant]=sha256:…`: each platform image's manifest digest, as read back; empty when not read. */
  platformDigests: string[];
  /** False for a dry run, which builds nothing. */
  built: boolean;
  pushed: boolean;
  /** Every ref was read back from its registry after the push and matched what was pushed. */
  verified: boolean;
  commit: string;
  /** Built from a working folder that differs from the commit (--allow-dirty). */
  dirty: boolean;
  /** With --sign: each signature attached, `host/repo@sha256:…=sha256:<referrer>[;tag=sha256-…]`; absent without. */
  signatures?: string[];
  /** With --sign: the signing certificate's identity and OIDC issuer. */
  signerIdentity?: string;
  signerIssuer?: string;
  /** With --signing-key: its fingerprint (the bundles' publicKey.hint); identity and issuer are then empty. */
  signerKeyFingerprint?: string;
  /** With --provenance: each SLSA provenance attestation attached, written as `signatures` are; absent without. */
  provenanceAttestations?: string[];
  /** With --sbom: each SBOM attestation attached, written as `signatures` are; absent without. */
  sbomAttestations?: string[];
  /** Why --latest=auto withheld latest (`latest not moved: 1.5.0 < 2.0.0 in …`); only the Markdown shows it. */
  latestNote?: string;
}

/** The signing fields when something was signed; none otherwise, so an unsigned publication renders as before. */
function signedOf(p: PublicationData) {
  return p.signatures?.length
    ? {
        signatures: p.signatures,
        signerIdentity: p.signerIdentity ?? "",
        signerIssuer: p.signerIssuer ?? "",
        // Only with a key, so a keyless publication renders as before.
        ...(p.signerKeyFingerprint ? { signerKeyFingerprint: p.signerKeyFingerprint } : {}),
      }
    : undefined;
}

/** The attestation fields that hold something; none otherwise, so a publication without them renders as before. */
function attestedOf(p: PublicationData) {
  return {
    ...(p.provenanceAttestations?.length ? { provenanceAttestations: p.provenanceAttestations } : {}),
    ...(p.sbomAttestations?.length ? { sbomAttestations: p.sbomAttestations } : {}),
  };
}

/** All fields as one JSON object, keys in a fixed order. */
export function renderJson(p: PublicationData): string {
  const { refs, digest, tags, images, platforms, platformDigests, built, pushed, verified, commit, dirty } = p;
  return JSON.stringify(
    {
      refs,
      digest,
      tags,
      images,
      platforms,
      platformDigests,
      built,
      pushed,
      verified,
      commit,
      dirty,
      ...signedOf(p),
      ...attestedOf(p),
    },
    null,
    2,
  );
}

/**
 * Lines for `$GITHUB_OUTPUT`. Lists use GitHub's multi-line syntax with a delimiter derived from the values,
 * so no value line can close it early and the same publication always renders the same text.
 */
export function renderGithubOutput(p: PublicationData): string {
  // Empty attestation lists left out of the hash, so a publication without them keeps its delimiter.
  const { provenanceAttestations: _p, sbomAttestations: _s, ...rest } = p;
  const hashed = JSON.stringify({ ...rest, ...attestedOf(p) });
  const delimiter = `DOCKYARD_EOF_${createHash("sha256").update(hashed).digest("hex").slice(0, 16)}`;
  const multi = (key: string, values: string[]) => [`${key}<<${delimiter}`, ...values, delimiter];
  return [
    `digest=${p.digest}`,
    `built=${p.built}`,
    `pushed=${p.pushed}`,
    `verified=${p.verified}`,
    `ref=${p.refs[0] ?? ""}`,
    `image=${p.images[0] ?? ""}`,
    `commit=${p.commit}`,
    `dirty=${p.dirty}`,
    `platforms=${p.platforms.join(",")}`,
    ...multi("refs", p.refs),
    ...multi("tags", p.tags),
    ...multi("images", p.images),
    ...multi("platform-digests", p.platformDigests),
    ...(signedOf(p)
      ? [
          ...multi("signatures", p.signatures ?? []),
          `signer-identity=${p.signerIdentity ?? ""}`,
          `signer-issuer=${p.signerIssuer ?? ""}`,
          ...(p.signerKeyFingerprint ? [`signer-key-fingerprint=${p.signerKeyFingerprint}`] : []),
        ]
      : []),
    ...(p.provenanceAttestations?.length ? multi("provenance-attestations", p.provenanceAttestations) : []),
    ...(p.sbomAttestations?.length ? multi("sbom-attestations", p.sbomAttestations) : []),
  ]
    .map((line) => `${line}\n`)
    .join("");
}

/** A GitLab `dotenv` report: one KEY=VALUE a line, lists comma-separated (dotenv values cannot span lines). */
export function renderDotenv(p: PublicationData): string {
  return [
    `IMAGE_DIGEST=${p.digest}`,
    `IMAGE_REF=${p.refs[0] ?? ""}`,
    `IMAGE_REFS=${p.refs.join(",")}`,
    `IMAGE_TAGS=${p.tags.join(",")}`,
    `IMAGE_NAMES=${p.images.join(",")}`,
    `IMAGE_PLATFORMS=${p.platforms.join(",")}`,
    `IMAGE_PLATFORM_DIGESTS=${p.platformDigests.join(",")}`,
    `IMAGE_COMMIT=${p.commit}`,
    `IMAGE_DIRTY=${p.dirty}`,
    `IMAGE_BUILT=${p.built}`,
    `IMAGE_PUSHED=${p.pushed}`,
    `IMAGE_VERIFIED=${p.verified}`,
    ...(signedOf(p)
      ? [
          `IMAGE_SIGNATURES=${(p.signatures ?? []).join(",")}`,
          `IMAGE_SIGNER_IDENTITY=${p.signerIdentity ?? ""}`,
          `IMAGE_SIGNER_ISSUER=${p.signerIssuer ?? ""}`,
          ...(p.signerKeyFingerprint ? [`IMAGE_SIGNER_KEY_FINGERPRINT=${p.signerKeyFingerprint}`] : []),
        ]
      : []),
    ...(p.provenanceAttestations?.length
      ? [`IMAGE_PROVENANCE_ATTESTATIONS=${p.provenanceAttestations.join(",")}`]
      : []),
    ...(p.sbomAttestations?.length ? [`IMAGE_SBOM_ATTESTATIONS=${p.sbomAttestations.join(",")}`] : []),
  ]
    .map((line) => `${line}\n`)
    .join("");
}

/** Markdown for `$GITHUB_STEP_SUMMARY`. */
export function renderMarkdown(p: PublicationData): string {
  const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
  const title = p.pushed ? "published" : p.built ? "built, not pushed" : "planned (dry run): nothing built or pushed";
  const rows: [string, string][] = [
    ["commit", code(p.commit) + (p.dirty ? " (working folder with uncommitted changes)" : "")],
    ["digest", p.digest ? code(p.digest) : "none (nothing pushed)"],
    ["platforms", p.platforms.length ? p.platforms.map(code).join(", ") : "the engine's"],
    ["tags", p.tags.map(code).join(", ")],
    ...(p.latestNote ? [["latest", p.latestNote.replace(/^latest /, "")] as [string, string]] : []),
    ...(p.pushed
      ? ([
          ["verified", p.verified ? "yes: every ref read back from its registry and matched" : "no: not read back"],
        ] as [string, string][])
      : []),
    ...(p.platformDigests.length
      ? ([["platform digests", p.platformDigests.map(code).join(", ")]] as [string, string][])
      : []),
    ...(signedOf(p)
      ? ([
          [
            "signed",
            `${p.signatures?.length ?? 0} signature(s) by ${p.signerKeyFingerprint ? `the key ${code(p.signerKeyFingerprint)}` : `${code(p.signerIdentity ?? "")} (issuer ${code(p.signerIssuer ?? "")})`}: ${(p.signatures ?? []).map(code).join(", ")}`,
          ],
        ] as [string, string][])
      : []),
    ...(p.provenanceAttestations?.length
      ? ([
          [
            "provenance",
            `${p.provenanceAttestations.length} SLSA provenance attestation(s): ${p.provenanceAttestations.map(code).join(", ")}`,
          ],
        ] as [string, string][])
      : []),
    ...(p.sbomAttestations?.length
      ? ([["sbom", `${p.sbomAttestations.length} SBOM attestation(s): ${p.sbomAttestations.map(code).join(", ")}`]] as [
          string,
          string,
        ][])
      : []),
  ];
  return [
    `### dockyard: ${p.images.map(code).join(", ")} ${title}`,
    "",
    "| | |",
    "|---|---|",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    "",
    p.pushed ? "Refs:" : "Refs it would push:",
    "",
    ...p.refs.map((r) => `- ${code(r)}`),
    "",
  ].join("\n");
}
