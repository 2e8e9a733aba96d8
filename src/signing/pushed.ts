/**
 * Signs what was pushed: in each repository, the final digest and (for an index) every platform manifest it names,
 * each bundle attached as an OCI 1.1 referrer in that repository, with any attestations (provenance, SBOM) about
 * each manifest beside its signature. Reports what was attached, and on a failure
 * exactly what was and was not.
 */
import { maskUrlCredentials } from "../input/index.js";
import { errorMessage } from "../push/retry.js";
import type { RegistrySession } from "../registry/http.js";
import { getManifest } from "../registry/manifests.js";
import { attachReferrer, type AttachedReferrer } from "../registry/referrers.js";
import { manifestJson, shapeOfJson } from "../verify/check.js";
import { bundleArtifact } from "./attach.js";
import { maskToken } from "./oidc.js";
import type { Signer } from "./sign.js";
import { COSIGN_SIGN_PREDICATE_TYPE } from "./statement.js";

/** One repository holding the pushed digest. */
export interface SignedRepository {
  host: string;
  repository: string;
  /** host/repository, as the statement's subject names it. */
  name: string;
  /** The final digest in that repository: the index, or the single platform's manifest. */
  digest: string;
}

/** One signature attached: what it signs and the referrer that holds its bundle. */
export interface AttachedSignature {
  /** host/repository@sha256:… of the signed manifest. */
  subject: string;
  /** The referrer manifest's digest. */
  referrer: string;
  /** The referrers tag-schema fallback tag written, when the registry has no referrers API. */
  fallbackTag?: string;
}

/** An attestation signed and attached about every manifest signed, beside its signature. */
export interface Attestation {
  /** How the report and messages name it, e.g. "provenance" or "sbom". */
  kind: string;
  predicateType: string;
  predicate: Record<string, unknown>;
  /** Only about this platform's manifest ("linux/arm64"), or the lone manifest of a single-platform push; never an index. */
  platform?: string;
}

export interface SigningReport {
  signatures: AttachedSignature[];
  /** Each attestation kind's referrers, one per manifest signed; empty without attestations. */
  attestations: Record<string, AttachedSignature[]>;
  identity: string;
  issuer: string;
  /** With --signing-key, its fingerprint (the bundles' publicKey.hint); empty for keyless. */
  keyFingerprint: string;
}

export interface SignEffects {
  session(host: string): RegistrySession;
  /** Certifies one ephemeral key (Fulcio), or loads --signing-key, once per call. */
  signer(): Promise<Signer>;
  /** RFC 3339 time for each referrer's org.opencontainers.image.created. */
  created(): string;
}

/** `a@sha256:…=sha256:…` (and `;tag=sha256-…` when the fallback tag was written): how a Publication lists one. */
export function formatSignature(s: AttachedSignature): string {
  return `${s.subject}=${s.referrer}${s.fallbackTag ? `;tag=${s.fallbackTag}` : ""}`;
}

interface Subject {
  digest: string;
  mediaType: string;
  size: number;
  /** "os/arch[/variant]" from the index's descriptor; "" for the index itself, undefined for a lone manifest. */
  platform?: string;
}

interface DescriptorPlatform {
  os?: string;
  architecture?: string;
  variant?: string;
}

const platformName = (p: DescriptorPlatform | undefined) =>
  p ? [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/") : "";

/** Whether a job is about this subject: a platform's attestation only about its own manifest. */
const isAbout = (job: { platform?: string }, subject: Subject) =>
  job.platform === undefined || subject.platform === undefined || subject.platform === job.platform;

/** The manifests to sign in one repository: every platform manifest an index names (attestations left out), then the digest itself. */
async function subjectsOf(s: RegistrySession, repository: string, digest: string): Promise<Subject[]> {
  const root = await getManifest(s, repository, digest);
  const self = { digest: root.digest, mediaType: root.mediaType, size: root.size };
  const json = manifestJson(root.bytes);
  const shape = shapeOfJson(json, root.mediaType);
  if (shape.kind !== "index") return [self];
  const keep = new Set(shape.children.filter((c) => !c.attestation).map((c) => c.digest));
  const listed = Array.isArray(json?.manifests)
    ? (json.manifests as (Subject & { platform?: DescriptorPlatform })[])
    : [];
  const children = listed.filter((d) => keep.has(d.digest));
  return [
    ...children.map((d) => ({
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      platform: platformName(d.platform),
    })),
    { ...self, platform: "" },
  ];
}

/** A sign or attach failure: what was pushed, what was signed and attached, and what was not. */
export class SignAttachError extends Error {
  readonly code = "DOCKYARD_SIGN_ATTACH";

  constructor(
    message: string,
    readonly attached: AttachedSignature[],
    readonly notAttached: string[],
  ) {
    super(message);
    this.name = "SignAttachError";
  }
}

/**
 * Signs every repository's digest and its platform manifests with one certificate, attaching each bundle as a
 * referrer. `pushed` says what the caller pushed, for the error; `token` is masked out of every message.
 */
export async function signPushed(
  what: string,
  repositories: readonly SignedRepository[],
  pushed: string,
  token: string,
  effects: SignEffects,
  attestations: readonly Attestation[] = [],
): Promise<SigningReport> {
  const attached: AttachedSignature[] = [];
  const attested: Record<string, AttachedSignature[]> = Object.fromEntries(attestations.map((a) => [a.kind, []]));
  // The cosign signature first, then each attestation; a bare name in a message is the signature.
  const jobs = [{ kind: "", predicateType: COSIGN_SIGN_PREDICATE_TYPE, predicate: {} }, ...attestations];
  const label = (name: string, kind: string) => (kind ? `${name} (${kind})` : name);
  const everyJob = (name: string, subject: Subject) =>
    jobs.filter((j) => isAbout(j, subject)).map((j) => label(name, j.kind));
  const unique = [...new Map(repositories.map((r) => [`${r.name}@${r.digest}`, r])).values()];
  const mask = (e: unknown) => maskToken(maskUrlCredentials(errorMessage(e)), token);
  let signer: Signer;
  try {
    signer = await effects.signer();
  } catch (e) {
    throw failure(
      what,
      pushed,
      attached,
      unique.map((r) => `${r.name}@${r.digest}`),
      `certificate: ${mask(e)}`,
    );
  }
  for (const [n, r] of unique.entries()) {
    const s = effects.session(r.host);
    let subjects: Subject[];
    try {
      subjects = await subjectsOf(s, r.repository, r.digest);
    } catch (e) {
      const rest = unique.slice(n).map((x) => `${x.name}@${x.digest}`);
      throw failure(what, pushed, attached, rest, `reading ${r.name}@${r.digest}: ${mask(e)}`, attested);
    }
    for (const [i, subject] of subjects.entries()) {
      const name = `${r.name}@${subject.digest}`;
      const about = jobs.filter((job) => isAbout(job, subject));
      for (const [j, job] of about.entries()) {
        let referrer: AttachedReferrer;
        try {
          const { bundle } = await signer.sign(r.name, subject.digest, job.predicateType, job.predicate);
          const artifact = bundleArtifact(bundle, job.predicateType, effects.created());
          referrer = await attachReferrer(s, r.repository, subject, artifact);
        } catch (e) {
          const rest = [
            ...about.slice(j).map((x) => label(name, x.kind)),
            ...subjects.slice(i + 1).flatMap((x) => everyJob(`${r.name}@${x.digest}`, x)),
            ...unique.slice(n + 1).map((x) => `${x.name}@${x.digest} (and its platform manifests)`),
          ];
          throw failure(what, pushed, attached, rest, `${label(name, job.kind)}: ${mask(e)}`, attested);
        }
        const one = {
          subject: name,
          referrer: referrer.digest,
          ...(referrer.fallbackTag ? { fallbackTag: referrer.fallbackTag } : {}),
        };
        (job.kind ? (attested[job.kind] ??= []) : attached).push(one);
      }
    }
  }
  return {
    signatures: attached,
    attestations: attested,
    identity: signer.identity,
    issuer: signer.issuer,
    keyFingerprint: signer.keyFingerprint,
  };
}

function failure(
  what: string,
  pushed: string,
  attached: AttachedSignature[],
  notAttached: string[],
  reason: string,
  attested: Record<string, AttachedSignature[]> = {},
): SignAttachError {
  const all = [
    ...attached.map(formatSignature),
    ...Object.entries(attested).flatMap(([kind, list]) => list.map((a) => `${formatSignature(a)} (${kind})`)),
  ];
  const done = all.length ? all.join(", ") : "none";
  return new SignAttachError(
    `${what}: signing failed after the push (${reason}). Pushed: ${pushed}. Signed and attached: ${done}. Not signed or attached: ${notAttached.join(", ")}. Run dockyard sign --image <image>@<digest> for each to finish, once the cause is fixed.`,
    [...attached],
    notAttached,
  );
}
