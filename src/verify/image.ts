/**
 * The verify function's checks of an image already pushed, on src/registry: the digest's manifest and every
 * platform manifest it names read back (each body hashed against its digest), with a commit each platform config's
 * revision label, and with a signature policy each of those manifests' Sigstore bundle referrers verified by
 * verifyBundle. Reads only: nothing is written.
 */
import { BundleVerificationError, VerifyError, type BundleCheck } from "../errors/index.js";
import { maskUrlCredentials } from "../input/index.js";
import { errorMessage } from "../push/retry.js";
import { getBlob } from "../registry/blobs.js";
import type { RegistrySession } from "../registry/http.js";
import { getManifest } from "../registry/manifests.js";
import { listReferrers } from "../registry/referrers.js";
import { BUNDLE_V03_MEDIA_TYPE } from "../signing/bundle.js";
import { COSIGN_SIGN_PREDICATE_TYPE } from "../signing/statement.js";
import { verifyBundle, type VerificationPolicy } from "../signing/verify.js";
import { manifestJson, platformDigest, REVISION_LABEL, type PlatformImage } from "./check.js";
import { readPlatformImages } from "./read.js";

/** The image to check: one repository's digest (a tag already resolved). */
export interface CheckedImage {
  repository: string;
  /** host/repository, as messages and the statement's subject name it. */
  name: string;
  digest: string;
}

export interface ImageChecks {
  /** Each platform config's org.opencontainers.image.revision must be this commit. */
  commit?: string;
  /** Every manifest checked must carry a Sigstore signature bundle that verifies under this policy and root. */
  signature?: { policy: VerificationPolicy; trustedRoot: unknown };
}

/** One bundle referrer that verified: the manifest it is about, the referrer holding it, its statement's type. */
export interface VerifiedReferrer {
  /** host/repository@sha256:… of the manifest the bundle is about. */
  subject: string;
  /** The referrer manifest's digest. */
  referrer: string;
  predicateType: string;
}

export interface ImageVerification {
  /** os/arch=sha256:… of every platform image, as read back. */
  platformDigests: string[];
  /** Cosign signatures that verified, at least one per manifest checked (empty without a signature policy). */
  signatures: VerifiedReferrer[];
  /** Other statements (provenance, SBOM) about those manifests that verified under the same policy. */
  attestations: VerifiedReferrer[];
  /** The certificate identity and OIDC issuer the verified bundles carry; "" without a signature policy. */
  identity: string;
  issuer: string;
}

/** `host/repo@sha256:<subject>=sha256:<referrer>`, and `;predicate-type=<type>` for an attestation. */
export function formatVerified(v: VerifiedReferrer, withType = false): string {
  return `${v.subject}=${v.referrer}${withType ? `;predicate-type=${v.predicateType}` : ""}`;
}

type Failure = { manifest: string; kind: BundleCheck | "unsigned" | "unread" | "revision" | "content"; text: string };

const BUNDLE_MAX_BYTES = 64 << 20;
const ALTERED: readonly BundleCheck[] = [
  "bundle",
  "signature",
  "subject",
  "tlog-set",
  "tlog-body",
  "inclusion-proof",
  "checkpoint",
  "certificate-validity",
];

/** One fix per kind of failure; the bundle checks' own texts say what differs. */
function fixFor(kind: Failure["kind"], image: string): string | undefined {
  if (kind === "identity")
    return "--certificate-identity must be the signer's identity exactly (publish's or sign's signer-identity, e.g. the workflow ref URL)";
  if (kind === "issuer")
    return "--certificate-oidc-issuer must be the signer's OIDC issuer exactly (publish's or sign's signer-issuer)";
  if (kind === "certificate-chain" || kind === "tlog-log-id")
    return "--trusted-root must be the trusted_root.json of the Sigstore instance that signed (public-good, or your private Fulcio and Rekor)";
  if (kind === "unsigned")
    return `sign it once you trust what it is: dockyard sign --image ${image} --oidc-token env:SIGSTORE_ID_TOKEN`;
  if (kind === "revision")
    return "the image was not built from --commit: check the commit, or verify the image built from it";
  if (kind === "content" || (ALTERED as readonly string[]).includes(kind))
    return "what the registry stores is not what was signed and logged: do not use this image; find out who changed it, then publish and sign again";
  if (kind === "unread")
    return "verify reads from the module's container, where localhost is that container and the engine's registry mirrors do not apply: fix the cause given and run again";
  return undefined;
}

/** The bundle blob of a referrer manifest: its one layer whose media type is a Sigstore bundle's. */
async function readBundle(s: RegistrySession, repository: string, referrer: string): Promise<Uint8Array> {
  const manifest = manifestJson((await getManifest(s, repository, referrer)).bytes);
  const layers = Array.isArray(manifest?.layers)
    ? (manifest.layers as { mediaType?: unknown; digest?: unknown }[])
    : [];
  const layer = layers.find(
    (l) => typeof l.mediaType === "string" && l.mediaType.startsWith("application/vnd.dev.sigstore.bundle"),
  );
  if (typeof layer?.digest !== "string")
    throw new BundleVerificationError(`referrer ${referrer} holds no Sigstore bundle layer`, "bundle");
  return getBlob(s, repository, layer.digest, BUNDLE_MAX_BYTES);
}

/** The in-toto statement's predicateType of a verified payload; "" when it names none. */
function predicateTypeOf(payload: Buffer): string {
  const statement = manifestJson(payload);
  return typeof statement?.predicateType === "string" ? statement.predicateType : "";
}

/**
 * Reads `image` back and checks it; throws a VerifyError naming every manifest that failed, the check that failed
 * and the fix. Returns what was read and every bundle that verified.
 */
export async function verifyImage(
  s: RegistrySession,
  image: CheckedImage,
  checks: ImageChecks,
): Promise<ImageVerification> {
  const { repository, name, digest } = image;
  const pinned = `${name}@${digest}`;
  const failures: Failure[] = [];
  const checked: string[] = [];
  let images: PlatformImage[];
  try {
    images = await readPlatformImages(s, repository, digest);
  } catch (e) {
    const reason = maskUrlCredentials(errorMessage(e));
    const kind = /digest mismatch/.test(reason) ? "content" : "unread";
    throw report(pinned, [{ manifest: pinned, kind, text: reason }], []);
  }
  if (checks.commit !== undefined)
    for (const i of images)
      if (i.revision !== checks.commit)
        failures.push({
          manifest: `${name}@${i.digest} (${i.platform || "no platform"})`,
          kind: "revision",
          text:
            i.revision === undefined
              ? `its config has no ${REVISION_LABEL} label, expected ${checks.commit}`
              : `its config's ${REVISION_LABEL} is "${i.revision}", expected ${checks.commit}`,
        });
  const signatures: VerifiedReferrer[] = [];
  const attestations: VerifiedReferrer[] = [];
  let identity = "";
  let issuer = "";
  if (checks.signature) {
    const { policy, trustedRoot } = checks.signature;
    // Every platform manifest, then the digest itself (for a single image, the one manifest).
    const subjects = [...new Set([...images.map((i) => i.digest), digest])];
    for (const subject of subjects) {
      const manifest = `${name}@${subject}`;
      checked.push(manifest);
      let found: { digest: string }[];
      try {
        found = (await listReferrers(s, repository, subject, BUNDLE_V03_MEDIA_TYPE)).descriptors;
      } catch (e) {
        failures.push({ manifest, kind: "unread", text: `its referrers: ${maskUrlCredentials(errorMessage(e))}` });
        continue;
      }
      const refused: Failure[] = [];
      let signed = false;
      for (const { digest: referrer } of found) {
        try {
          const verified = verifyBundle(
            await readBundle(s, repository, referrer),
            { digest: subject },
            policy,
            trustedRoot,
          );
          const predicateType = predicateTypeOf(verified.payload);
          const one = { subject: manifest, referrer, predicateType };
          identity ||= verified.identity;
          issuer ||= verified.issuer;
          if (predicateType === COSIGN_SIGN_PREDICATE_TYPE) {
            signatures.push(one);
            signed = true;
          } else attestations.push(one);
        } catch (e) {
          const kind = e instanceof BundleVerificationError ? e.check : "unread";
          refused.push({ manifest, kind, text: `referrer ${referrer}: ${maskUrlCredentials(errorMessage(e))}` });
        }
      }
      if (signed) continue;
      if (refused.length) failures.push(...refused);
      else
        failures.push({
          manifest,
          kind: "unsigned",
          text:
            found.length === 0
              ? "no Sigstore bundle refers to it (neither the referrers API nor its sha256-<hex> tag lists one): it is not signed"
              : `its ${found.length} bundle(s) verified, but none is a signature (${COSIGN_SIGN_PREDICATE_TYPE})`,
        });
    }
  }
  if (failures.length) throw report(pinned, failures, checked);
  return { platformDigests: images.map(platformDigest), signatures, attestations, identity, issuer };
}

/** The VerifyError: how many manifests failed, each failure as `manifest: [check] text`, then one fix per kind. */
function report(pinned: string, failures: Failure[], checked: string[]): VerifyError {
  const failed = [...new Set(failures.map((f) => f.manifest.split(" ")[0]!))];
  const fixes = [...new Set(failures.map((f) => fixFor(f.kind, pinned)).filter((f) => f !== undefined))];
  const message = [
    `verify ${pinned}: ${failed.length} manifest(s) failed, so nothing is verified`,
    ...failures.map((f) => `  ${f.manifest}: [${f.kind}] ${f.text}`),
    ...fixes.map((f) => `fix: ${f}`),
  ].join("\n");
  return new VerifyError(message, {
    verified: checked.filter((m) => !failed.includes(m)),
    mismatched: failed,
    unread: failures.filter((f) => f.kind === "unread").map((f) => f.manifest),
  });
}
