/**
 * Turns a function's raw arguments into one typed, validated request. Everything is checked here, against its
 * full grammar, before the first engine call: bad input builds and pushes nothing.
 */
import { InvalidInputError } from "./errors/index.js";
import {
  parseAnnotations,
  parseBuildArgs,
  parseBuildPath,
  parseCommit,
  parseCreated,
  parseImageList,
  parseImageName,
  parseLabels,
  parsePlatforms,
  parsePushTimeout,
  parseRef,
  parseRetries,
  parseShaLength,
  parseSourceUrl,
  parseTags,
  parseUsername,
  requireContainers,
  credentialHostProblem,
  type Annotation,
  type ImageName,
  type KeyValue,
} from "./input/index.js";
import { MERGE_ANNOTATION_LEVEL, parsePinnedImages } from "./merge/plan.js";
import { parsePinnedImage, type PinnedImage } from "./promote/plan.js";
import { DEFAULT_PUSH_TIMEOUT_SECONDS, DEFAULT_RETRIES } from "./push/retry.js";
import { DEFAULT_SHA_LENGTH, type LatestMode } from "./tags/tags.js";
import { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL } from "./signing/index.js";
import { serviceBase } from "./signing/service.js";
import { isValidTag } from "./tags/slug.js";

export interface TagArgs {
  commit?: string | undefined;
  ref?: string | undefined;
  shaLength?: number | undefined;
  latest?: string | undefined;
  tags?: string[] | undefined;
}

export interface TagRequest {
  /** Full commit id, lowercase; undefined: from the source's .git. */
  commit?: string;
  /** A ref as given (checked); undefined: from the source's .git. */
  ref?: string;
  shaLength: number;
  latest: LatestMode;
  userTags: string[];
}

export interface LabelArgs {
  labels?: string[] | undefined;
  sourceUrl?: string | undefined;
  created?: string | undefined;
}

export interface MetadataRequest extends TagRequest {
  labelInput: { labels: KeyValue[]; sourceUrl?: string; created?: string };
}

export interface BuildArgs extends LabelArgs {
  dockerfile?: string | undefined;
  context?: string | undefined;
  target?: string | undefined;
  buildArgs?: string[] | undefined;
  platforms?: string[] | undefined;
  commit?: string | undefined;
  ref?: string | undefined;
  allowDirty?: boolean | undefined;
}

export interface BuildRequest extends MetadataRequest {
  dockerfile: string;
  /** Relative to the source's root, normalised; "." for the root. */
  context: string;
  target?: string;
  buildArgs: KeyValue[];
  platforms: string[];
  allowDirty: boolean;
}

/** What every publish takes besides what it publishes: images, registry account, dry run, push, retries. */
export interface PushArgs<S> {
  images: string[];
  username?: string | undefined;
  password?: S | undefined | null;
  dryRun?: boolean | undefined;
  push?: boolean | undefined;
  verify?: boolean | undefined;
  retries?: number | undefined;
  pushTimeout?: number | undefined;
}

export interface PushRequest<S> {
  images: ImageName[];
  /** `--username` with `--password`, for every image's host. */
  credentials?: { username: string; password: S };
  dryRun: boolean;
  push: boolean;
  /** Read every pushed ref back (publish, publish-containers; promote and merge always read their tags back). */
  verify: boolean;
  retries: number;
  pushTimeoutSeconds: number;
}

export interface PublishArgs<S> extends BuildArgs, TagArgs, PushArgs<S> {
  annotations?: string[] | undefined;
  staging?: boolean | undefined;
}

export interface PublishRequest<S> extends BuildRequest, PushRequest<S> {
  /** --annotations as given (checked); the defaults from the labels are added once the metadata is known. */
  annotations: Annotation[];
  /** Push only the one platform's staging tag (`stagingTag`), for merge; never the tag rules' tags. */
  staging: boolean;
}

export interface ContainersPublishArgs<S, C> extends TagArgs, LabelArgs, PushArgs<S> {
  containers: readonly C[];
  annotations?: string[] | undefined;
  staging?: boolean | undefined;
}

/** publish-containers: platform variants built elsewhere, published under dockyard's tags and labels. */
export interface ContainersPublishRequest<S, C> extends MetadataRequest, PushRequest<S> {
  /** At least one; their platforms are known only once the engine is asked. */
  containers: C[];
  /** --annotations as given (checked). */
  annotations: Annotation[];
  /** Push only the one container's staging tag (`stagingTag`), for merge; never the tag rules' tags. */
  staging: boolean;
}

const LATEST_MODES: readonly LatestMode[] = ["auto", "always", "never"];

function parseLatest(latest: string | undefined): LatestMode {
  if (latest === undefined) return "auto";
  const mode = LATEST_MODES.find((m) => m === latest.toLowerCase());
  if (!mode) throw new InvalidInputError(`--latest "${latest}": must be auto, always or never (try "auto")`);
  return mode;
}

// BuildKit's stage names: a letter, then letters, digits, "-", "_" and ".".
const STAGE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

function parseTarget(target: string | undefined): string | undefined {
  if (target === undefined || target === "") return undefined;
  if (!STAGE_NAME.test(target)) {
    const fix = target.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[^A-Za-z]+/, "") || "build";
    throw new InvalidInputError(
      `--target "${target}": not a build stage name (a letter, then letters, digits, "-", "_" or "."; try "${fix}")`,
    );
  }
  return target;
}

export function tagRequest(a: TagArgs): TagRequest {
  const commit = a.commit !== undefined && a.commit !== null ? parseCommit(a.commit) : undefined;
  return {
    ...(commit !== undefined ? { commit } : {}),
    ...(a.ref !== undefined && a.ref !== null ? { ref: parseRef(a.ref) } : {}),
    // A given commit bounds the length now; one read from .git is checked once it is known.
    shaLength: parseShaLength(a.shaLength ?? DEFAULT_SHA_LENGTH, commit?.length),
    latest: parseLatest(a.latest),
    userTags: parseTags(a.tags ?? []),
  };
}

export function metadataRequest(a: TagArgs & LabelArgs): MetadataRequest {
  const sourceUrl = a.sourceUrl ? parseSourceUrl(a.sourceUrl) : undefined;
  const created = a.created ? parseCreated(a.created) : undefined;
  return {
    ...tagRequest(a),
    labelInput: {
      labels: parseLabels(a.labels ?? []),
      ...(sourceUrl !== undefined ? { sourceUrl } : {}),
      ...(created !== undefined ? { created } : {}),
    },
  };
}

export function buildRequest(a: BuildArgs, platformFlag = "--platforms"): BuildRequest {
  const target = parseTarget(a.target);
  return {
    ...metadataRequest(a),
    dockerfile: parseBuildPath(a.dockerfile ?? "Dockerfile", "--dockerfile"),
    context: parseBuildPath(a.context ?? ".", "--context"),
    ...(target !== undefined ? { target } : {}),
    buildArgs: parseBuildArgs(a.buildArgs ?? []),
    platforms: parsePlatforms(a.platforms ?? [], platformFlag),
    allowDirty: a.allowDirty ?? false,
  };
}

export function publishRequest<S>(a: PublishArgs<S>): PublishRequest<S> {
  const images = parseImageList(a.images);
  const build = buildRequest(a);
  const annotations = parseAnnotations(a.annotations ?? []);
  const staging = a.staging ?? false;
  if (staging && build.platforms.length !== 1) {
    const given = build.platforms.length === 0 ? "none" : build.platforms.join(",");
    throw new InvalidInputError(
      `--staging: needs exactly one --platforms, the runner's own (e.g. --platforms=linux/arm64; given: ${given}), since its tag names the platform`,
    );
  }
  if (staging) requireStagingFits(build, annotations);
  return { ...build, ...pushRequest(a, images), annotations, staging };
}

/** --staging pushes one platform under its staging tag and no other tag, so it takes no final tags. */
function requireStagingFits(build: TagRequest, annotations: readonly Annotation[]): void {
  if (build.userTags.length > 0)
    throw new InvalidInputError(
      `--tags "${build.userTags.join(",")}": --staging pushes only the staging tag (pass --tags to merge, which pushes the final tags)`,
    );
  if (build.latest === "always")
    throw new InvalidInputError(
      `--latest "always": --staging pushes only the staging tag (pass --latest to merge, which pushes the final tags)`,
    );
  const index = annotations.find((a) => a.level === "index");
  if (index)
    throw new InvalidInputError(
      `--annotations "index:${index.name}=${index.value}": --staging pushes one platform's manifest, and the index is the one merge assembles (pass it to merge: --annotations=index:${index.name}=${index.value}; or give it at manifest level here)`,
    );
}

export function publishContainersRequest<S, C>(a: ContainersPublishArgs<S, C>): ContainersPublishRequest<S, C> {
  const containers = requireContainers(a.containers);
  const images = parseImageList(a.images);
  const meta = metadataRequest(a);
  const annotations = parseAnnotations(a.annotations ?? []);
  const staging = a.staging ?? false;
  if (staging && containers.length !== 1)
    throw new InvalidInputError(
      `--staging: needs exactly one container, the runner's own platform (given: ${containers.length}), since its tag names the platform`,
    );
  if (staging) requireStagingFits(meta, annotations);
  return { ...meta, containers, ...pushRequest(a, images), annotations, staging };
}

export interface PromoteArgs<S> extends TagArgs, Omit<PushArgs<S>, "dryRun" | "push" | "verify"> {
  from: string;
}

/** promote: an image already pushed, pinned by digest, copied under dockyard's tags to every image. */
export interface PromoteRequest<S> extends TagRequest, PushRequest<S> {
  from: PinnedImage;
}

export function promoteRequest<S>(a: PromoteArgs<S>): PromoteRequest<S> {
  const from = parsePinnedImage(a.from, "--from");
  const images = parseImageList(a.images);
  return { ...tagRequest(a), from, ...pushRequest(a, images) };
}

export interface MergeArgs<S> extends TagArgs, Omit<PushArgs<S>, "dryRun" | "push" | "verify"> {
  from: string[];
  annotations?: string[] | undefined;
}

/** merge: per-platform images pinned by digest, assembled into one index under dockyard's tags on every image. */
export interface MergeRequest<S> extends TagRequest, PushRequest<S> {
  from: PinnedImage[];
  /** --annotations as given (checked: index level only); the defaults from the children's labels come once read. */
  annotations: Annotation[];
}

export function mergeRequest<S>(a: MergeArgs<S>): MergeRequest<S> {
  const from = parsePinnedImages(a.from, "--from");
  const images = parseImageList(a.images);
  const annotations = parseAnnotations(a.annotations ?? [], "--annotations", MERGE_ANNOTATION_LEVEL);
  return { ...tagRequest(a), from, ...pushRequest(a, images), annotations };
}

/** The push arguments; credentials are checked last, against the images' hosts. */
function pushRequest<S>(a: PushArgs<S>, images: ImageName[]): PushRequest<S> {
  const hasPassword = a.password !== undefined && a.password !== null;
  const username = a.username !== undefined && a.username !== "" ? parseUsername(a.username, "--username") : undefined;
  if (username !== undefined && !hasPassword) {
    throw new InvalidInputError(
      `--username "${username}": also pass --password (e.g. --password env:REGISTRY_TOKEN), or use with-registry-auth`,
    );
  }
  if (username === undefined && hasPassword) {
    throw new InvalidInputError(`--password: also pass --username for the registry account (e.g. --username ci-bot)`);
  }
  if (username !== undefined)
    requireCredentialHost(
      images,
      images.map((i) => i.host),
    );
  return {
    images,
    ...(username !== undefined && hasPassword ? { credentials: { username, password: a.password as S } } : {}),
    dryRun: a.dryRun ?? false,
    push: a.push ?? true,
    verify: a.verify ?? true,
    retries: parseRetries(a.retries ?? DEFAULT_RETRIES),
    pushTimeoutSeconds: parsePushTimeout(a.pushTimeout ?? DEFAULT_PUSH_TIMEOUT_SECONDS),
  };
}

/** The sha tag cannot be longer than the commit it is cut from. */
export function requireShaLengthFits(shaLength: number, commit: string): void {
  parseShaLength(shaLength, commit.length);
}

/** Credentials for an image's host must be ones Dagger's withRegistryAuth files under that same host. */
export function requireCredentialHost(images: readonly ImageName[], hosts: readonly string[]): void {
  for (const image of images) {
    if (!hosts.includes(image.host)) continue;
    const problem = credentialHostProblem(image.host);
    if (problem) {
      throw new InvalidInputError(
        `--images "${image.name}": ${problem}, so its credentials would not reach it (name the registry by a DNS host or IPv4 address)`,
      );
    }
  }
}

/** Signing's arguments, one name each across publish, publish-containers, promote, merge and sign. */
export interface SigningArgs<S> {
  sign?: boolean | undefined;
  oidcToken?: S | undefined | null;
  signingKey?: S | undefined | null;
  signingKeyPassword?: S | undefined | null;
  fulcioUrl?: string | undefined;
  rekorUrl?: string | undefined;
  tlog?: boolean | undefined;
}

/** Keyless: the OIDC token Secret; its plaintext is read once, checked, and handed to src/signing alone. */
export interface KeylessSigningRequest<S> {
  oidcToken: S;
  fulcioUrl: string;
  rekorUrl: string;
}

/** --signing-key: the key (and its password) Secrets, read and parsed once before anything else. */
export interface KeySigningRequest<S> {
  signingKey: S;
  signingKeyPassword?: S;
  /** Undefined with --tlog=false: no Rekor entry is made. */
  rekorUrl?: string;
}

export type SigningRequest<S> = KeylessSigningRequest<S> | KeySigningRequest<S>;

export function isKeySigning<S>(r: SigningRequest<S>): r is KeySigningRequest<S> {
  return "signingKey" in r;
}

const MINT_TOKEN =
  "GitHub: `permissions: id-token: write`, then --oidc-token env:SIGSTORE_ID_TOKEN with a token minted for audience sigstore; GitLab: `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`, then --oidc-token env:SIGSTORE_ID_TOKEN";

const given = <S>(v: S | undefined | null): v is S => v !== undefined && v !== null;

/** The signing part of a request: undefined without --sign; the token's or key's content is checked once read. */
export function signingRequest<S>(a: SigningArgs<S>, push = true): SigningRequest<S> | undefined {
  const fulcioUrl = serviceBase(a.fulcioUrl ?? DEFAULT_FULCIO_URL, "--fulcio-url");
  const rekorUrl = serviceBase(a.rekorUrl ?? DEFAULT_REKOR_URL, "--rekor-url");
  const keyed = given(a.signingKey);
  if (given(a.signingKeyPassword) && !keyed)
    throw new InvalidInputError(
      `--signing-key-password without --signing-key: pass the encrypted key as --signing-key, or drop --signing-key-password`,
    );
  if (a.tlog === false && !keyed)
    throw new InvalidInputError(
      `--tlog=false without --signing-key: keyless signing needs its Rekor entry (the short-lived certificate is checked at the entry's time); drop --tlog=false, or sign with --signing-key`,
    );
  if (!a.sign) return undefined;
  if (keyed && given(a.oidcToken))
    throw new InvalidInputError(
      `--oidc-token and --signing-key both given: pick one (--oidc-token signs keyless with a Fulcio certificate of the CI's identity; --signing-key signs with your key, no Fulcio)`,
    );
  if (!keyed && !given(a.oidcToken))
    throw new InvalidInputError(
      `--sign: also pass --oidc-token, the CI's OIDC identity token as a secret (${MINT_TOKEN}), or --signing-key, a PEM EC P-256 private key as a secret`,
    );
  if (!push)
    throw new InvalidInputError(
      `--sign with --push=false: nothing is pushed, so nothing can be signed (drop --sign where the image is not pushed, e.g. on pull requests)`,
    );
  if (keyed)
    return {
      signingKey: a.signingKey as S,
      ...(given(a.signingKeyPassword) ? { signingKeyPassword: a.signingKeyPassword } : {}),
      ...(a.tlog === false ? {} : { rekorUrl }),
    };
  return { oidcToken: a.oidcToken as S, fulcioUrl, rekorUrl };
}

export interface SignImageArgs<S> extends Omit<SigningArgs<S>, "sign"> {
  image: string;
  username?: string | undefined;
  password?: S | undefined | null;
  retries?: number | undefined;
  pushTimeout?: number | undefined;
}

/** sign: an image already pushed, by digest or by a tag resolved to its digest once. */
export interface SignRequest<S> extends PushRequest<S> {
  image: ImageName & { digest?: string; tag?: string };
  signing: SigningRequest<S>;
}

/** `--image`: `host/repo@sha256:…` (a tag before it ignored) or `host/repo:tag`, read from the registry once. */
function parseSignedImage(value: string): ImageName & { digest?: string; tag?: string } {
  if (value.includes("@")) return parsePinnedImage(value, "--image", "sign");
  const slash = value.lastIndexOf("/");
  const colon = value.lastIndexOf(":");
  const tag = colon > slash ? value.slice(colon + 1) : undefined;
  if (tag === undefined)
    throw new InvalidInputError(
      `--image "${value}": name the image by its digest (${value}@sha256:<digest>, publish's digest) or a tag (${value}:<tag>)`,
    );
  if (!isValidTag(tag))
    throw new InvalidInputError(`--image "${value}": tag "${tag}" is not a valid image tag; give the digest instead`);
  return { ...parseImageName(value.slice(0, colon), "--image"), tag };
}

export function signRequest<S>(a: SignImageArgs<S>): SignRequest<S> {
  const image = parseSignedImage(a.image);
  const signing = signingRequest({ ...a, sign: true });
  return { ...pushRequest({ ...a, images: [] }, [image]), image, signing: signing! };
}

/** The attestations, each signed by --sign's signer (sign's own). */
export interface AttestationArgs<F, C = never> {
  provenance?: boolean | undefined;
  sbom?: F | undefined | null;
  sbomScanner?: C | undefined | null;
  sbomScannerArgs?: string[] | undefined;
}

export interface AttestationRequest<F, C = never> {
  provenance: boolean;
  /** The SBOM File: its text is read and checked (sbomPredicate) before anything is built. */
  sbom?: F;
  /** The scanner container and the arguments after its entrypoint, run over each platform's tarball before the push. */
  scanner?: { container: C; args: string[] };
}

const ATTEST_NEEDS_SIGN =
  "an attestation is a signed statement, made with --sign's identity or key: add --sign --oidc-token env:SIGSTORE_ID_TOKEN (or --sign --signing-key env:SIGNING_KEY)";
const SCANNER_ARGS_EXAMPLE = "--sbom-scanner-args=scan,oci-archive:/dockyard/image.tar,-o,spdx-json";

/** --provenance, --sbom and --sbom-scanner, refused without --sign (`signed`) before anything is built. */
export function attestationRequest<F, C = never>(a: AttestationArgs<F, C>, signed: boolean): AttestationRequest<F, C> {
  const hasSbom = a.sbom !== undefined && a.sbom !== null;
  const hasScanner = a.sbomScanner !== undefined && a.sbomScanner !== null;
  const scannerArgs = a.sbomScannerArgs ?? [];
  if (a.provenance && !signed)
    throw new InvalidInputError(`--provenance without --sign: ${ATTEST_NEEDS_SIGN}, or drop --provenance`);
  if (hasSbom && !signed) throw new InvalidInputError(`--sbom without --sign: ${ATTEST_NEEDS_SIGN}, or drop --sbom`);
  if (hasSbom && hasScanner)
    throw new InvalidInputError(
      "--sbom and --sbom-scanner together: give the SBOM file, or the scanner that makes one per platform, not both",
    );
  if (hasScanner && !signed)
    throw new InvalidInputError(`--sbom-scanner without --sign: ${ATTEST_NEEDS_SIGN}, or drop --sbom-scanner`);
  if (!hasScanner && scannerArgs.length > 0)
    throw new InvalidInputError(
      "--sbom-scanner-args without --sbom-scanner: name the scanner image too, e.g. --sbom-scanner=anchore/syft:v1.18.0, or drop --sbom-scanner-args",
    );
  if (hasScanner && scannerArgs.length === 0)
    throw new InvalidInputError(
      `--sbom-scanner without --sbom-scanner-args: give what follows the scanner's entrypoint, reading the image at /dockyard/image.tar and printing the SBOM as JSON, e.g. ${SCANNER_ARGS_EXAMPLE}`,
    );
  return {
    provenance: a.provenance ?? false,
    ...(hasSbom ? { sbom: a.sbom as F } : {}),
    ...(hasScanner ? { scanner: { container: a.sbomScanner as C, args: [...scannerArgs] } } : {}),
  };
}

/** verify's arguments: the image and credentials as sign takes them, then what to check. */
export interface VerifyImageArgs<S, F> {
  image: string;
  username?: string | undefined;
  password?: S | undefined | null;
  commit?: string | undefined | null;
  signature?: boolean | undefined;
  certificateIdentity?: string | undefined | null;
  certificateOidcIssuer?: string | undefined | null;
  trustedRoot?: F | undefined | null;
  retries?: number | undefined;
  pushTimeout?: number | undefined;
}

/** What --signature checks every manifest's Sigstore bundles against. */
export interface SignatureCheck<F> {
  certificateIdentity: string;
  certificateOidcIssuer: string;
  /** Sigstore's trusted_root.json File: read and checked (trustedRootJson) before any registry request. */
  trustedRoot: F;
}

/** verify: an image already pushed, by digest or by a tag resolved to its digest once. */
export interface VerifyImageRequest<S, F> extends PushRequest<S> {
  image: ImageName & { digest?: string; tag?: string };
  commit?: string;
  signature?: SignatureCheck<F>;
}

const SIGNATURE_POLICY_FLAGS = ["--certificate-identity", "--certificate-oidc-issuer", "--trusted-root"] as const;

/** --signature's three policy arguments: each required with it, and refused without it (they would check nothing). */
export function verifyImageRequest<S, F>(a: VerifyImageArgs<S, F>): VerifyImageRequest<S, F> {
  const image = parseSignedImage(a.image);
  const commit = a.commit !== undefined && a.commit !== null ? parseCommit(a.commit) : undefined;
  const identity = a.certificateIdentity ?? "";
  const issuer = a.certificateOidcIssuer ?? "";
  const hasRoot = a.trustedRoot !== undefined && a.trustedRoot !== null;
  const given = [identity !== "", issuer !== "", hasRoot];
  if (!a.signature) {
    const stray = SIGNATURE_POLICY_FLAGS.filter((_, i) => given[i]);
    if (stray.length)
      throw new InvalidInputError(
        `${stray.join(", ")} without --signature: they say whose signature to accept, so add --signature (or drop them)`,
      );
  } else {
    if (!identity.trim())
      throw new InvalidInputError(
        `--signature: also pass --certificate-identity, the signer's identity as its certificate names it (e.g. https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main, what publish reported as signer-identity)`,
      );
    if (!issuer.trim())
      throw new InvalidInputError(
        `--signature: also pass --certificate-oidc-issuer, the signer's OIDC issuer (e.g. https://token.actions.githubusercontent.com or https://gitlab.com, what publish reported as signer-issuer)`,
      );
    if (!hasRoot)
      throw new InvalidInputError(
        `--signature: also pass --trusted-root, Sigstore's trusted_root.json as a file (the module cannot fetch Sigstore's trust itself; README "Sign what you push" says where to get it)`,
      );
  }
  const signature: SignatureCheck<F> | undefined = a.signature
    ? { certificateIdentity: identity, certificateOidcIssuer: issuer, trustedRoot: a.trustedRoot as F }
    : undefined;
  return {
    ...pushRequest({ ...a, images: [] }, [image]),
    image,
    ...(commit !== undefined ? { commit } : {}),
    ...(signature ? { signature } : {}),
  };
}

/**
 * The --trusted-root file's text as a trusted_root.json (protobuf-specs TrustedRoot, JSON form): at least one
 * certificate authority and one transparency log, else refused naming the file and where to get one.
 */
export function trustedRootJson(text: string): Record<string, unknown> {
  const refuse = (why: string): never => {
    throw new InvalidInputError(
      `--trusted-root: ${why}; pass Sigstore's trusted_root.json (public-good: sigstore/root-signing's targets/trusted_root.json; a private instance: cosign trusted-root create)`,
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return refuse("the file is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return refuse("not a JSON object");
  const root = parsed as Record<string, unknown>;
  const mediaType = root.mediaType;
  if (typeof mediaType === "string" && !mediaType.startsWith("application/vnd.dev.sigstore.trustedroot"))
    refuse(`its mediaType is ${mediaType}, not a trusted root's`);
  const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
  if (!nonEmpty(root.certificateAuthorities)) refuse("it names no certificateAuthorities (Fulcio)");
  if (!nonEmpty(root.tlogs)) refuse("it names no tlogs (Rekor)");
  return root;
}

/**
 * promote, merge and sign: --sbom as publish's (`signed`: sign always signs); --provenance refused whatever else is
 * given, since it records a build and these functions build nothing.
 */
export function pushedAttestationRequest<F>(
  fn: "promote" | "merge" | "sign",
  a: AttestationArgs<F>,
  signed: boolean,
): AttestationRequest<F> {
  if (a.provenance)
    throw new InvalidInputError(
      `--provenance on ${fn}: provenance records a build and ${fn} builds nothing; attest it where the image is built (publish or publish-containers --sign --provenance), and drop --provenance here`,
    );
  return attestationRequest({ sbom: a.sbom }, signed);
}
