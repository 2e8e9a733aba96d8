/**
 * Build a container image from a Dockerfile, tag it by git commit, branch, tag, pull request and
 * semver, and publish it to one or more OCI registries with secret-backed auth.
 *
 * The same call runs on a laptop, in GitHub Actions and in GitLab CI. Commit and ref come from
 * explicit arguments or from the .git directory inside --source; the image is built from the
 * commit's own tree, so nothing uncommitted, untracked or ignored can enter it.
 */
import {
  Changeset,
  Container,
  dag,
  Directory,
  ExistsType,
  File,
  func,
  object,
  Platform,
  ReturnType,
  Secret,
} from "@dagger.io/dagger";

import { pickCredential, type Credential } from "./push/credentials.js";
import { InvalidInputError } from "./errors/index.js";
import {
  dirtyCheckFailedError,
  describePaths,
  dirtyCheckoutError,
  resolveGit,
  type GitHead,
  type GitReader,
  type ResolvedGit,
  type SourceGit,
} from "./git/source.js";
import {
  checkBuildPaths,
  imageTitle,
  maskUrlCredentials,
  parseRegistryAddress,
  parseSecretId,
  parseUsername,
  requireOnePerPlatform,
  type KeyValue,
  type PathFacts,
} from "./input/index.js";
import { computeMetadata, type ImageMetadata } from "./tags/metadata.js";
import {
  renderDotenv,
  renderGithubOutput,
  renderJson,
  renderMarkdown,
  type PublicationData,
} from "./push/publication.js";
import { describePushFailure, digestOf, pinnedRef, planPublish, pushAll, type PublishTarget } from "./push/publish.js";
import {
  attestationRequest,
  pushedAttestationRequest,
  buildRequest,
  mergeRequest,
  metadataRequest,
  promoteRequest,
  publishContainersRequest,
  publishRequest,
  requireShaLengthFits,
  signingRequest,
  isKeySigning,
  signRequest,
  tagRequest,
  trustedRootJson,
  verifyImageRequest,
  type AttestationRequest,
  type SigningRequest,
  type BuildRequest,
  type MetadataRequest,
  type PushRequest,
  type TagRequest,
} from "./request.js";
import {
  classifyPushError,
  DEFAULT_PUSH_TIMEOUT_SECONDS,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_POLICY,
  errorMessage,
  withPushRetry,
  type RetryPolicy,
} from "./push/retry.js";
import { computeTags, DEFAULT_SHA_LENGTH, type LatestMode } from "./tags/tags.js";
import { clientReach, ManifestFanOut, type ClientReach, UnreachableRegistry } from "./push/fanout.js";
import { autoLatestRelease, describeVerdict } from "./tags/latest.js";
import { registryLatestVerdict } from "./push/latest.js";
import { mergeAll } from "./merge/merge.js";
import { stagingTag } from "./merge/plan.js";
import { promoteAll, type PromoteEffects, type RegistryClient } from "./promote/copy.js";
import { requireTargetCredentials } from "./promote/plan.js";
import { isLoopbackHost, RegistrySession } from "./registry/index.js";
import { verifyPushed } from "./verify/read.js";
import { formatVerified, verifyImage } from "./verify/image.js";
import { formatLabels, parseFormattedLabels } from "./tags/labels.js";
import { planAnnotations, type PlannedAnnotations } from "./tags/annotations.js";
import { IndexAnnotator } from "./push/annotate.js";
import {
  checkSignerOptions,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  keylessSigner,
  keySigner,
  parseSigningKey,
  provenancePredicate,
  SBOM_SCANNER_TARBALL,
  sbomPredicate,
  scannedSbom,
  type ProvenanceInput,
  type SbomPredicate,
  type Signer,
} from "./signing/index.js";
import {
  formatSignature,
  signPushed,
  type Attestation,
  type SignedRepository,
  type SigningReport,
} from "./signing/pushed.js";
import { publishAttestations, publishProvenance, type PublishProvenance, type ScannedSbom } from "./signing/attest.js";
import { headManifest } from "./registry/manifests.js";

/** The signing secret read and checked: `mask` is masked out of every signing error; `signer` makes the call's one signer. */
interface PreparedSigner {
  mask: string;
  signer: () => Promise<Signer>;
}

/** When to add the latest tag. */
export enum Latest {
  /** For a semver release tag (v1.2.3, not v1.2.3-rc.1); publish, publish-containers, promote and merge add it only when no target repository holds a higher release (read with tags/list). */
  AUTO = "auto",
  /** On every publish. */
  ALWAYS = "always",
  /** Never. */
  NEVER = "never",
}

/** Everything dockyard knows about a commit: its tags and OCI labels, for other modules to reuse. */
@object()
export class Metadata {
  /** Full commit id, lowercase. */
  @func()
  commit = "";

  /** The sha tag: the first shaLength characters of the commit. */
  @func()
  shortSha = "";

  /** The first ref, as given or as found in git; empty when none. */
  @func()
  ref = "";

  /** Branch name; empty when the ref is not a branch. */
  @func()
  branch = "";

  /** Git tag name; empty when the ref is not a tag. */
  @func()
  gitTag = "";

  /** Pull or merge request number; 0 when the ref is not one. */
  @func()
  pullRequest = 0;

  /** The semver version, else the first ref tag, else the sha tag. */
  @func()
  version = "";

  /** True when the checkout has uncommitted changes. */
  @func()
  dirty = false;

  /** Image tags, in publish order. */
  @func()
  tags: string[] = [];

  /** OCI labels as key=value strings. */
  @func()
  labels: string[] = [];

  /** The container with every label of this metadata applied, e.g. to label a container built with Dagger's API. */
  @func()
  apply(
    /** The container to label; labels it already has under the same names are replaced. */
    container: Container,
  ): Container {
    return withLabels(container, parseFormattedLabels(this.labels));
  }
}

/** What one publish did: refs, digest and renderings for the next CI step. */
@object()
export class Publication {
  /** Every ref: host/repo:tag@sha256:... when pushed, host/repo:tag when not. */
  @func()
  refs: string[] = [];

  /** Manifest digest (the index digest for several platforms); empty when nothing was pushed. */
  @func()
  digest = "";

  /** The tags, in publish order. */
  @func()
  tags: string[] = [];

  /** The image names, normalised (docker.io/library/app). */
  @func()
  images: string[] = [];

  /** The platforms published (each container's for publish-containers); empty for a dry run without --platforms. */
  @func()
  platforms: string[] = [];

  /** Each platform image's manifest digest, os/arch=sha256:… (of the image digest names), as read from the registry; empty when nothing was read (--dry-run, --push=false, --verify=false). */
  @func()
  platformDigests: string[] = [];

  /** True when the image was built; false for --dry-run, which builds nothing. */
  @func()
  built = false;

  /** True when every ref was pushed. */
  @func()
  pushed = false;

  /** True only when every ref was read back from its registry after the push and matched: the tag names the digest, every body hashes to its digest and (publish, publish-containers) each platform's config carries the commit as its revision label. False for --dry-run, --push=false and --verify=false. */
  @func()
  verified = false;

  /** The commit the image is tagged with. */
  @func()
  commit = "";

  /** True when built from a working folder that differs from the commit (--allow-dirty). */
  @func()
  dirty = false;

  /** With --sign, each signature attached: host/repo@sha256:<signed manifest>=sha256:<referrer holding its Sigstore bundle>, then ;tag=sha256-<hex> when the registry has no referrers API and the fallback tag was written; one per platform manifest and index in every repository. Empty without --sign. */
  @func()
  signatures: string[] = [];

  /** With --sign, the signing certificate's identity (what cosign verify --certificate-identity matches); empty without --sign. */
  @func()
  signerIdentity = "";

  /** With --sign, the OIDC issuer in the signing certificate (what cosign verify --certificate-oidc-issuer matches); empty without --sign. */
  @func()
  signerIssuer = "";

  /** With --sign --signing-key, the key's fingerprint: base64 sha256 of its DER public key, the bundles' publicKey.hint (what cosign computes); empty otherwise (and signerIdentity and signerIssuer are empty with a key). */
  @func()
  signerKeyFingerprint = "";

  /** With --provenance, each SLSA provenance attestation attached, written as signatures are (host/repo@sha256:<subject>=sha256:<referrer>[;tag=sha256-<hex>]); one per manifest signed. Empty without --provenance. */
  @func()
  provenanceAttestations: string[] = [];

  /** With --sbom, each SBOM attestation attached, written as signatures are; one per manifest signed. Empty without --sbom. */
  @func()
  sbomAttestations: string[] = [];

  /** All fields as one JSON object. */
  @func()
  json = "";

  /** Lines for $GITHUB_OUTPUT: digest, built, pushed, verified, ref, image, commit, dirty, platforms, and multi-line refs, tags, images, platform-digests; with --sign signatures, signer-identity and signer-issuer (and signer-key-fingerprint with --signing-key), with --provenance provenance-attestations, with --sbom sbom-attestations. */
  @func()
  githubOutput = "";

  /** A Markdown summary for $GITHUB_STEP_SUMMARY; it says why --latest=auto left latest where it was. */
  @func()
  markdown = "";

  /** A GitLab dotenv report: IMAGE_DIGEST, IMAGE_REF, IMAGE_REFS, IMAGE_TAGS, IMAGE_NAMES, IMAGE_PLATFORMS, IMAGE_PLATFORM_DIGESTS, IMAGE_COMMIT, IMAGE_DIRTY, IMAGE_BUILT, IMAGE_PUSHED, IMAGE_VERIFIED, and with --sign IMAGE_SIGNATURES, IMAGE_SIGNER_IDENTITY, IMAGE_SIGNER_ISSUER (and IMAGE_SIGNER_KEY_FINGERPRINT with --signing-key), with --provenance IMAGE_PROVENANCE_ATTESTATIONS, with --sbom IMAGE_SBOM_ATTESTATIONS. */
  @func()
  dotenv = "";
}

/** What one sign call attached: a signature referrer per manifest, and who signed. */
@object()
export class Signatures {
  /** The image signed, host/repo@sha256:… (a tag given to --image is resolved to this digest). */
  @func()
  image = "";

  /** The digest signed: the index (whose platform manifests are signed too) or the single manifest. */
  @func()
  digest = "";

  /** Each signature attached: host/repo@sha256:<signed manifest>=sha256:<referrer holding its Sigstore bundle>, then ;tag=sha256-<hex> when the registry has no referrers API and the fallback tag was written. */
  @func()
  signatures: string[] = [];

  /** The signing certificate's identity (what cosign verify --certificate-identity matches); empty with --signing-key. */
  @func()
  signerIdentity = "";

  /** The OIDC issuer in the signing certificate (what cosign verify --certificate-oidc-issuer matches); empty with --signing-key. */
  @func()
  signerIssuer = "";

  /** With --signing-key, the key's fingerprint: base64 sha256 of its DER public key, the bundles' publicKey.hint; empty for keyless. */
  @func()
  signerKeyFingerprint = "";

  /** With --sbom, each SBOM attestation attached, written as signatures are; one per manifest signed. Empty without --sbom. */
  @func()
  sbomAttestations: string[] = [];

  /** All fields as one JSON object. */
  @func()
  json = "";
}

/** What one verify call checked and found: the image read back, and with --signature the bundles that verified. */
@object()
export class Verification {
  /** The image verified, host/repo@sha256:… (a tag given to --image is resolved to this digest). */
  @func()
  image = "";

  /** The digest verified: the index (whose platform manifests are checked too) or the single manifest. */
  @func()
  digest = "";

  /** Each platform image's manifest digest, os/arch=sha256:…, as read back from the registry. */
  @func()
  platformDigests: string[] = [];

  /** The commit every platform config's org.opencontainers.image.revision label equals (--commit); empty without --commit. */
  @func()
  commit = "";

  /** With --signature, each signature that verified: host/repo@sha256:<signed manifest>=sha256:<referrer holding its Sigstore bundle>, at least one per manifest (the index and each platform); empty without --signature. */
  @func()
  signatures: string[] = [];

  /** With --signature, the identity in the verified signatures' certificates (--certificate-identity's value). */
  @func()
  signerIdentity = "";

  /** With --signature, the OIDC issuer in the verified signatures' certificates (--certificate-oidc-issuer's value). */
  @func()
  signerIssuer = "";

  /** With --signature, each other statement that verified under the same policy: host/repo@sha256:<manifest>=sha256:<referrer>;predicate-type=<its predicate type, e.g. https://slsa.dev/provenance/v1>. */
  @func()
  attestations: string[] = [];

  /** All fields as one JSON object. */
  @func()
  json = "";
}

/** Builds an image from a Dockerfile and publishes it under commit-derived tags. */
@object()
export class Dockyard {
  source?: Directory;
  authHosts: string[] = [];
  authUsernames: string[] = [];
  authPasswords: Secret[] = [];
  buildSecretIds: string[] = [];
  buildSecretValues: Secret[] = [];

  constructor(
    /** The build context and git checkout, e.g. --source=. (keep its .git: commit and ref are read from it). */
    source?: Directory,
  ) {
    this.source = source;
  }

  /** Adds credentials for one registry host; chain it once per registry. They win over --username/--password. */
  @func()
  withRegistryAuth(
    /** Registry host, or an image name whose host is meant, e.g. ghcr.io or ghcr.io/acme/app. */
    address: string,
    /** Registry user name. */
    username: string,
    /** Registry password or token, e.g. env:GHCR_TOKEN. */
    password: Secret,
  ): Dockyard {
    const host = parseRegistryAddress(address);
    parseUsername(username, "--username");
    const next = this.copy();
    next.authHosts = [...(this.authHosts ?? []), host];
    next.authUsernames = [...(this.authUsernames ?? []), username];
    next.authPasswords = [...(this.authPasswords ?? []), password];
    return next;
  }

  /** Adds a secret that the Dockerfile reads with RUN --mount=type=secret,id=<id>. */
  @func()
  withBuildSecret(
    /** The id the Dockerfile names; the secret is mounted at /run/secrets/<id>. */
    id: string,
    /** The secret value, e.g. file://$HOME/.npmrc. */
    secret: Secret,
  ): Dockyard {
    parseSecretId(id, "--id");
    const next = this.copy();
    const keep = (this.buildSecretIds ?? []).map((existing) => existing !== id);
    next.buildSecretIds = [...(this.buildSecretIds ?? []).filter((_, i) => keep[i]), id];
    next.buildSecretValues = [...(this.buildSecretValues ?? []).filter((_, i) => keep[i]), secret];
    return next;
  }

  /** The image tags for a commit and ref. With both given it makes no engine call. */
  @func()
  async tags(
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag; auto here looks at the release tag alone (no registry is read: publish also checks each repository's releases). */
    latest: Latest = Latest.AUTO,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
  ): Promise<string[]> {
    const req = tagRequest({ commit, ref, shaLength, latest, tags });
    const git = await this.resolve(req, req.commit !== undefined && req.ref !== undefined);
    return computeTags(tagInput(req, git));
  }

  /** Commit, ref, tags and OCI labels, as one object. */
  @func()
  async metadata(
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag; auto here looks at the release tag alone (no registry is read: publish also checks each repository's releases). */
    latest: Latest = Latest.AUTO,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** URL of the source repository (http or https, no credentials), for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time (RFC 3339) for org.opencontainers.image.created; omitted when not given. */
    created?: string,
  ): Promise<Metadata> {
    const req = metadataRequest({ commit, ref, shaLength, latest, tags, labels, sourceUrl, created });
    const git = await this.resolve(req, req.commit !== undefined && req.ref !== undefined && !this.source);
    const dirty = git.inRepository ? (await this.uncommittedPaths()).length > 0 : false;
    const meta = computeMetadata({ ...tagInput(req, git), ...req.labelInput, dirty });
    return toMetadata(meta);
  }

  /** Builds the image from the commit's tree (or the working folder with --allow-dirty), with OCI labels applied. */
  @func()
  async build(
    /** Dockerfile path, relative to --context. */
    dockerfile = "Dockerfile",
    /** Build context: a folder of the source, relative to its root. */
    context = ".",
    /** Build stage to stop at. */
    target?: string,
    /** Build arguments as NAME=VALUE. */
    buildArgs: string[] = [],
    /** Platform to build for, e.g. linux/amd64; default: the engine's. */
    platform?: Platform,
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** URL of the source repository (http or https, no credentials), for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time (RFC 3339) for org.opencontainers.image.created; omitted when not given. */
    created?: string,
    /** Build the working folder as it is (never a .git), even with uncommitted changes; dirty unless it equals the commit. */
    allowDirty = false,
  ): Promise<Container> {
    const req = buildRequest(
      {
        dockerfile,
        context,
        target,
        buildArgs,
        platforms: platform ? [platform] : [],
        labels,
        commit,
        ref,
        sourceUrl,
        created,
        allowDirty,
      },
      "--platform",
    );
    const plan = await this.prepareBuild(req);
    const meta = computeMetadata({ ...tagInput(req, plan.git), ...req.labelInput, dirty: plan.dirty });
    return this.buildContainer(plan.context, req, meta.labels, await this.namedBuildSecrets(), req.platforms[0]);
  }

  /**
   * Builds once per platform and pushes every tag to every image; returns what it pushed, for the next CI step.
   * Cached for the session: reading any number of the result's fields pushes once; a new dagger call pushes again.
   */
  @func({ cache: "session" })
  async publish(
    /** Image names without tag, e.g. ghcr.io/acme/app; every tag goes to each. */
    images: string[],
    /** Registry user for every image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for every image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** Platforms to build; several publish one multi-platform image. Default: the engine's platform. */
    platforms: Platform[] = [],
    /** Dockerfile path, relative to --context. */
    dockerfile = "Dockerfile",
    /** Build context: a folder of the source, relative to its root. */
    context = ".",
    /** Build stage to stop at. */
    target?: string,
    /** Build arguments as NAME=VALUE. */
    buildArgs: string[] = [],
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** OCI annotations as [level:]key=value, level manifest (the default: each platform manifest) or index (a multi-platform image's index; a single platform's manifest), e.g. index:org.opencontainers.image.description=Acme web app; they add to or override the org.opencontainers.image.* labels, which are set at both levels by default. */
    annotations: string[] = [],
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag. */
    latest: Latest = Latest.AUTO,
    /** Plan only: every check a real publish makes (git, uncommitted changes, paths), then the refs; builds and pushes nothing. */
    dryRun = false,
    /** Push the image; false builds every platform and pushes nothing (pull requests, forks). */
    push = true,
    /** Read every pushed ref back from its registry (from the module's container): the tag must name the pushed digest, every body hash to its digest and each platform's config carry the commit as org.opencontainers.image.revision; a mismatch fails the call. False skips the read. */
    verify = true,
    /** Build the working folder as it is (never a .git), even with uncommitted changes; dirty unless it equals the commit. */
    allowDirty = false,
    /** URL of the source repository (http or https, no credentials), for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time (RFC 3339) for org.opencontainers.image.created; omitted when not given. */
    created?: string,
    /** Further attempts for a push that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one push attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
    /** Push only the staging tag <sha tag>-<os>-<arch>[-<variant>] of the one platform (publish: the one --platforms; publish-containers: the one container), never the final tags: one native runner's part of a multi-platform image, which merge assembles. */
    staging = false,
    /** Sign what was pushed with Sigstore: the final digest in every repository (the index and each platform manifest), each bundle attached as an OCI 1.1 referrer (fallback tag sha256-<hex> where the registry has no referrers API), for cosign verify. Needs --oidc-token (keyless) or --signing-key. */
    sign = false,
    /** The CI's OIDC identity token for --sign, e.g. env:SIGSTORE_ID_TOKEN (GitHub: permissions id-token: write, minted for audience sigstore; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore); sent to Fulcio and Rekor only. */
    oidcToken?: Secret,
    /** Fulcio (the Sigstore certificate authority) address for --sign; a private instance's https URL. */
    fulcioUrl = DEFAULT_FULCIO_URL,
    /** Rekor (the Sigstore transparency log) address for --sign; a private instance's https URL. */
    rekorUrl = DEFAULT_REKOR_URL,
    /** A PEM EC P-256 private key for --sign instead of --oidc-token (PKCS#8, SEC1, or encrypted PKCS#8 with --signing-key-password), e.g. env:SIGNING_KEY: no Fulcio, each bundle names the key by its fingerprint, verified with its public key (cosign verify --key). Read by the module only, never sent. cosign's own encrypted key format is refused. */
    signingKey?: Secret,
    /** The password of an encrypted --signing-key, e.g. env:SIGNING_KEY_PASSWORD. */
    signingKeyPassword?: Secret,
    /** With --signing-key: log each signature in Rekor (--rekor-url), as cosign does; false makes no entry, for air-gapped use (then cosign verify --key needs --insecure-ignore-tlog=true). Keyless signing always logs, so false needs --signing-key. */
    tlog = true,
    /** With --sign: attach a signed SLSA v1 provenance statement about every manifest signed: commit, source URL, ref, platforms, images, tags, the engine's version and (publish) the Dockerfile, target, build arguments by value and build secrets by id only. */
    provenance = false,
    /** With --sign: an SBOM file (SPDX 2.x JSON or CycloneDX JSON, from any scanner) attached as a signed attestation about every manifest signed; read and checked before anything is built or sent to a registry. Not with --sbom-scanner. */
    sbom?: File,
    /** With --sign: a scanner image the engine can pull, e.g. anchore/syft:v1.18.0, run over each platform's image (an OCI tarball at /dockyard/image.tar) before the push; what it prints on stdout (SPDX 2.x or CycloneDX JSON) is a signed attestation about that platform's manifest, none about the index. Not with --sbom. */
    sbomScanner?: Container,
    /** What --sbom-scanner runs after its entrypoint, reading /dockyard/image.tar and printing the SBOM on stdout, e.g. scan,oci-archive:/dockyard/image.tar,-o,spdx-json (syft) or image,--input,/dockyard/image.tar,--format,spdx-json (trivy). */
    sbomScannerArgs: string[] = [],
  ): Promise<Publication> {
    // Every argument is checked before the first engine call: bad input builds and pushes nothing.
    const req = publishRequest({
      staging,
      images,
      username,
      password,
      tags,
      platforms,
      dockerfile,
      context,
      target,
      buildArgs,
      labels,
      annotations,
      commit,
      ref,
      shaLength,
      latest,
      dryRun,
      push,
      verify,
      allowDirty,
      sourceUrl,
      created,
      retries,
      pushTimeout,
    });
    const signing = signingRequest(
      { sign, oidcToken, signingKey, signingKeyPassword, fulcioUrl, rekorUrl, tlog },
      req.push,
    );
    const attest = attestationRequest({ provenance, sbom, sbomScanner, sbomScannerArgs }, signing !== undefined);
    const startedOn = new Date().toISOString();
    // The token or key is read and checked before anything is built: a bad one builds and pushes nothing.
    const prepared = await this.readSigner(signing, req);
    const sbomStatement = await readSbom(attest);
    // A dry run makes every check the real run makes (git, dirty guard, paths); it only stops before building.
    const plan = await this.prepareBuild(req);
    const client = this.registryClient("publish", req.images, req);
    const { meta, planned } = await this.planTags("publish", req, plan.git, plan.dirty, req.platforms, client);
    if (attest.provenance && plan.dirty)
      throw new InvalidInputError(
        `--provenance with --allow-dirty: the working folder differs from commit ${plan.git.commit}, so no provenance can name what was built; commit the changes, or drop --provenance`,
      );
    const provenanceInput = await checkedProvenance(attest, {
      commit: plan.git.commit,
      refs: plan.git.refs,
      ...(req.labelInput.sourceUrl !== undefined ? { sourceUrl: req.labelInput.sourceUrl } : {}),
      dockerfile: req.dockerfile,
      ...(req.target !== undefined ? { target: req.target } : {}),
      buildArgs: req.buildArgs,
      buildSecretIds: this.buildSecretIds ?? [],
      platforms: req.platforms,
      images: planned.result.images,
      tags: planned.result.tags,
      startedOn,
    });
    if (dryRun) return toPublication(planned.result);

    const annotated = planAnnotations(meta.labels, req.annotations, req.platforms.length || 1);
    if (req.push) this.warmClient(clientReach(req, planned.targets, annotated.index.length > 0, !!signing), client);
    const secrets = await this.namedBuildSecrets();
    const variants = await Promise.all(
      (req.platforms.length ? req.platforms : [undefined]).map((platform) =>
        this.buildContainer(plan.context, req, meta.labels, secrets, platform).sync(),
      ),
    );
    const platformsBuilt = req.platforms.length ? req.platforms : [await variants[0]!.platform()];
    const builtProvenance = provenanceInput && { ...provenanceInput, platforms: platformsBuilt };
    const annotatedVariants = variants.map((v) => withAnnotations(v, annotated.manifest));
    // Each platform, as it will be pushed, is scanned first: a failed scan or a non-SBOM output pushes nothing.
    const scanned = attest.scanner ? await scanPlatforms(attest.scanner, annotatedVariants, platformsBuilt) : [];
    return this.pushVariants(
      "publish",
      req,
      planned.targets,
      annotatedVariants,
      annotated,
      client,
      {
        ...planned.result,
        platforms: platformsBuilt,
      },
      prepared && {
        ...prepared,
        attestations: () => publishAttestations(builtProvenance, sbomStatement, now(), scanned),
      },
    );
  }

  /**
   * Publishes platform variants built elsewhere (Dagger's API, another module, a scanned and approved container)
   * under dockyard's tags, with its OCI labels applied to each; auth, retries and the result are publish's.
   * Commit and ref come from --commit and --ref, else from --source's .git (no --source needed when both are
   * given). dockyard did not build these containers and cannot see what went into them, so the result's dirty is
   * false and no dockyard.dirty label is applied: the module that built them answers for their contents.
   */
  @func({ cache: "session" })
  async publishContainers(
    /** The containers to publish, one per platform; several publish one multi-platform image. */
    containers: Container[],
    /** Image names without tag, e.g. ghcr.io/acme/app; every tag goes to each. */
    images: string[],
    /** Registry user for every image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for every image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** OCI annotations as [level:]key=value, level manifest (the default: each platform manifest) or index (a multi-platform image's index; a single platform's manifest), e.g. index:org.opencontainers.image.description=Acme web app; they add to or override the org.opencontainers.image.* labels, which are set at both levels by default. */
    annotations: string[] = [],
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag. */
    latest: Latest = Latest.AUTO,
    /** Plan only: every check a real publish makes (git, one container per platform), then the refs; pushes nothing. Reading a container's platform evaluates it. */
    dryRun = false,
    /** Push the image; false checks and labels every container and pushes nothing (pull requests, forks). */
    push = true,
    /** Read every pushed ref back from its registry (from the module's container): the tag must name the pushed digest, every body hash to its digest and each platform's config carry the commit as org.opencontainers.image.revision; a mismatch fails the call. False skips the read. */
    verify = true,
    /** URL of the source repository (http or https, no credentials), for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time (RFC 3339) for org.opencontainers.image.created; omitted when not given. */
    created?: string,
    /** Further attempts for a push that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one push attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
    /** Push only the staging tag <sha tag>-<os>-<arch>[-<variant>] of the one platform (publish: the one --platforms; publish-containers: the one container), never the final tags: one native runner's part of a multi-platform image, which merge assembles. */
    staging = false,
    /** Sign what was pushed with Sigstore: the final digest in every repository (the index and each platform manifest), each bundle attached as an OCI 1.1 referrer (fallback tag sha256-<hex> where the registry has no referrers API), for cosign verify. Needs --oidc-token (keyless) or --signing-key. */
    sign = false,
    /** The CI's OIDC identity token for --sign, e.g. env:SIGSTORE_ID_TOKEN (GitHub: permissions id-token: write, minted for audience sigstore; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore); sent to Fulcio and Rekor only. */
    oidcToken?: Secret,
    /** Fulcio (the Sigstore certificate authority) address for --sign; a private instance's https URL. */
    fulcioUrl = DEFAULT_FULCIO_URL,
    /** Rekor (the Sigstore transparency log) address for --sign; a private instance's https URL. */
    rekorUrl = DEFAULT_REKOR_URL,
    /** A PEM EC P-256 private key for --sign instead of --oidc-token (PKCS#8, SEC1, or encrypted PKCS#8 with --signing-key-password), e.g. env:SIGNING_KEY: no Fulcio, each bundle names the key by its fingerprint, verified with its public key (cosign verify --key). Read by the module only, never sent. cosign's own encrypted key format is refused. */
    signingKey?: Secret,
    /** The password of an encrypted --signing-key, e.g. env:SIGNING_KEY_PASSWORD. */
    signingKeyPassword?: Secret,
    /** With --signing-key: log each signature in Rekor (--rekor-url), as cosign does; false makes no entry, for air-gapped use (then cosign verify --key needs --insecure-ignore-tlog=true). Keyless signing always logs, so false needs --signing-key. */
    tlog = true,
    /** With --sign: attach a signed SLSA v1 provenance statement about every manifest signed: commit, source URL, ref, platforms, images, tags, the engine's version and (publish) the Dockerfile, target, build arguments by value and build secrets by id only. */
    provenance = false,
    /** With --sign: an SBOM file (SPDX 2.x JSON or CycloneDX JSON, from any scanner) attached as a signed attestation about every manifest signed; read and checked before anything is built or sent to a registry. Not with --sbom-scanner. */
    sbom?: File,
    /** With --sign: a scanner image the engine can pull, e.g. anchore/syft:v1.18.0, run over each platform's image (an OCI tarball at /dockyard/image.tar) before the push; what it prints on stdout (SPDX 2.x or CycloneDX JSON) is a signed attestation about that platform's manifest, none about the index. Not with --sbom. */
    sbomScanner?: Container,
    /** What --sbom-scanner runs after its entrypoint, reading /dockyard/image.tar and printing the SBOM on stdout, e.g. scan,oci-archive:/dockyard/image.tar,-o,spdx-json (syft) or image,--input,/dockyard/image.tar,--format,spdx-json (trivy). */
    sbomScannerArgs: string[] = [],
  ): Promise<Publication> {
    // Every argument is checked before the first engine call: bad input pushes nothing.
    const req = publishContainersRequest({
      containers,
      images,
      username,
      password,
      tags,
      labels,
      annotations,
      commit,
      ref,
      shaLength,
      latest,
      dryRun,
      push,
      verify,
      sourceUrl,
      created,
      retries,
      pushTimeout,
      staging,
    });
    const signing = signingRequest(
      { sign, oidcToken, signingKey, signingKeyPassword, fulcioUrl, rekorUrl, tlog },
      req.push,
    );
    const attest = attestationRequest({ provenance, sbom, sbomScanner, sbomScannerArgs }, signing !== undefined);
    const startedOn = new Date().toISOString();
    // The token or key is read and checked before any container is evaluated: a bad one pushes nothing.
    const prepared = await this.readSigner(signing, req);
    const sbomStatement = await readSbom(attest);
    const git = await this.resolve(req, false);
    // Our own check, before any push: Dagger's publish would refuse the same platform twice only when it exports.
    const platforms = requireOnePerPlatform(await Promise.all(req.containers.map((c) => c.platform())));
    const client = this.registryClient("publish-containers", req.images, req);
    const { meta, planned } = await this.planTags("publish-containers", req, git, false, platforms, client);
    // Built elsewhere: no Dockerfile, target, build arguments or secrets to record.
    const provenanceInput = await checkedProvenance(attest, {
      commit: git.commit,
      refs: git.refs,
      ...(req.labelInput.sourceUrl !== undefined ? { sourceUrl: req.labelInput.sourceUrl } : {}),
      platforms,
      images: planned.result.images,
      tags: planned.result.tags,
      startedOn,
    });
    if (req.dryRun) return toPublication(planned.result);
    const annotated = planAnnotations(meta.labels, req.annotations, req.containers.length);
    const variants = req.containers.map((c) => withAnnotations(withLabels(c, meta.labels), annotated.manifest));
    // Each container as it will be pushed (labels and annotations on) is scanned first: a failed scan pushes nothing.
    const scanned = attest.scanner ? await scanPlatforms(attest.scanner, variants, platforms) : [];
    const signed = prepared && {
      ...prepared,
      attestations: () => publishAttestations(provenanceInput, sbomStatement, now(), scanned),
    };
    return this.pushVariants(
      "publish-containers",
      req,
      planned.targets,
      variants,
      annotated,
      client,
      planned.result,
      signed,
    );
  }

  /**
   * Copies an image already in a registry, pinned by digest, under dockyard's tags to every image, without
   * rebuilding: each target holds the source's manifest bytes, so the same digest (an index with every platform).
   * Same repository: a manifest PUT per tag; same registry: blobs mounted; another registry: blobs streamed through
   * the module, each platform's manifest before the index. Every tag is read back and must name that digest.
   * Tags, credentials, retries and the result are publish's; it reads registry passwords to log in itself, so the
   * engine's registry settings and docker login do not apply, and localhost is the module's own container.
   * Nothing is built: the result's built is false. --sign signs the digest in every image after the read-back,
   * --sbom attested beside each signature; --provenance is refused (it is made where the image is built).
   */
  @func({ cache: "session" })
  async promote(
    /** The image to promote, pinned by digest, e.g. ghcr.io/acme/app@sha256:… (publish's digest); a tag before the digest is ignored. */
    from: string,
    /** Image names without tag, e.g. ghcr.io/acme/app; every tag goes to each. */
    images: string[],
    /** Registry user for --from's host and every image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for --from's host and every image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag. */
    latest: Latest = Latest.AUTO,
    /** Further attempts for a push that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one push attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
    /** Sign what was pushed with Sigstore: the final digest in every repository (the index and each platform manifest), each bundle attached as an OCI 1.1 referrer (fallback tag sha256-<hex> where the registry has no referrers API), for cosign verify. Needs --oidc-token (keyless) or --signing-key. */
    sign = false,
    /** The CI's OIDC identity token for --sign, e.g. env:SIGSTORE_ID_TOKEN (GitHub: permissions id-token: write, minted for audience sigstore; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore); sent to Fulcio and Rekor only. */
    oidcToken?: Secret,
    /** Fulcio (the Sigstore certificate authority) address for --sign; a private instance's https URL. */
    fulcioUrl = DEFAULT_FULCIO_URL,
    /** Rekor (the Sigstore transparency log) address for --sign; a private instance's https URL. */
    rekorUrl = DEFAULT_REKOR_URL,
    /** A PEM EC P-256 private key for --sign instead of --oidc-token (PKCS#8, SEC1, or encrypted PKCS#8 with --signing-key-password), e.g. env:SIGNING_KEY: no Fulcio, each bundle names the key by its fingerprint, verified with its public key (cosign verify --key). Read by the module only, never sent. cosign's own encrypted key format is refused. */
    signingKey?: Secret,
    /** The password of an encrypted --signing-key, e.g. env:SIGNING_KEY_PASSWORD. */
    signingKeyPassword?: Secret,
    /** With --signing-key: log each signature in Rekor (--rekor-url), as cosign does; false makes no entry, for air-gapped use (then cosign verify --key needs --insecure-ignore-tlog=true). Keyless signing always logs, so false needs --signing-key. */
    tlog = true,
    /** Refused: provenance records a build and this function builds nothing; attest it where the image is built (publish or publish-containers --sign --provenance). */
    provenance = false,
    /** With --sign: an SBOM file (SPDX 2.x JSON or CycloneDX JSON, from any scanner) attached as a signed attestation about every manifest signed; read and checked before anything is built or sent to a registry. */
    sbom?: File,
  ): Promise<Publication> {
    // Every argument, and a credential for every target host, is checked before the first engine or registry call.
    const req = promoteRequest({
      from,
      images,
      username,
      password,
      tags,
      commit,
      ref,
      shaLength,
      latest,
      retries,
      pushTimeout,
    });
    const signing = signingRequest({ sign, oidcToken, signingKey, signingKeyPassword, fulcioUrl, rekorUrl, tlog });
    const attest = pushedAttestationRequest("promote", { provenance, sbom }, signing !== undefined);
    return this.pushWithOwnClient("promote", req, [req.from], signing, attest, async (targets, sessions) => {
      const { source, refs } = await promoteAll(req.from, targets, sessions);
      return { refs, digest: source.root.digest, platforms: source.platforms, platformDigests: source.platformDigests };
    });
  }

  /**
   * Assembles one multi-platform image from images pushed one platform each (by native runners with publish
   * --staging), pinned by digest: an OCI index naming each child by its own digest (children's digests preserved,
   * the platform read from each child's config), PUT under dockyard's tags to every image. Children held elsewhere
   * are brought first, as promote brings them (blobs mounted on the same registry, streamed from another). Every
   * child is read, and an index, a child without a platform, two of one platform or a child whose config's
   * org.opencontainers.image.revision is not the commit refused, before any write. The index carries the
   * org.opencontainers.image.* labels every child shares as annotations, and --annotations. Every tag is read back
   * and must name the index's digest. Tags, credentials, retries, --sign, --sbom and the result are promote's.
   */
  @func({ cache: "session" })
  async merge(
    /** The images to merge, one per platform, each pinned by digest, e.g. ghcr.io/acme/app@sha256:… (each runner's publish --staging digest); a tag before a digest is ignored. */
    from: string[],
    /** Image names without tag, e.g. ghcr.io/acme/app; every tag goes to each. */
    images: string[],
    /** Registry user for --from's hosts and every image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for --from's hosts and every image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** OCI annotations for the index as index:key=value, e.g. index:org.opencontainers.image.description=Acme web app; they add to or override the org.opencontainers.image.* labels every child carries with the same value, which the index carries by default. Manifest level is refused: it would change the children's digests. */
    annotations: string[] = [],
    /** Full commit id (40 hex; 64 only for a --source without .git); default: HEAD of --source's .git. */
    commit?: string,
    /** Git ref: refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge or refs/merge-requests/<n>/head (a bare name is a branch, a bare version is refused); default: from --source's .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = DEFAULT_SHA_LENGTH,
    /** When to add the latest tag. */
    latest: Latest = Latest.AUTO,
    /** Further attempts for a push that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one push attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
    /** Sign what was pushed with Sigstore: the final digest in every repository (the index and each platform manifest), each bundle attached as an OCI 1.1 referrer (fallback tag sha256-<hex> where the registry has no referrers API), for cosign verify. Needs --oidc-token (keyless) or --signing-key. */
    sign = false,
    /** The CI's OIDC identity token for --sign, e.g. env:SIGSTORE_ID_TOKEN (GitHub: permissions id-token: write, minted for audience sigstore; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore); sent to Fulcio and Rekor only. */
    oidcToken?: Secret,
    /** Fulcio (the Sigstore certificate authority) address for --sign; a private instance's https URL. */
    fulcioUrl = DEFAULT_FULCIO_URL,
    /** Rekor (the Sigstore transparency log) address for --sign; a private instance's https URL. */
    rekorUrl = DEFAULT_REKOR_URL,
    /** A PEM EC P-256 private key for --sign instead of --oidc-token (PKCS#8, SEC1, or encrypted PKCS#8 with --signing-key-password), e.g. env:SIGNING_KEY: no Fulcio, each bundle names the key by its fingerprint, verified with its public key (cosign verify --key). Read by the module only, never sent. cosign's own encrypted key format is refused. */
    signingKey?: Secret,
    /** The password of an encrypted --signing-key, e.g. env:SIGNING_KEY_PASSWORD. */
    signingKeyPassword?: Secret,
    /** With --signing-key: log each signature in Rekor (--rekor-url), as cosign does; false makes no entry, for air-gapped use (then cosign verify --key needs --insecure-ignore-tlog=true). Keyless signing always logs, so false needs --signing-key. */
    tlog = true,
    /** Refused: provenance records a build and this function builds nothing; attest it where the image is built (publish or publish-containers --sign --provenance). */
    provenance = false,
    /** With --sign: an SBOM file (SPDX 2.x JSON or CycloneDX JSON, from any scanner) attached as a signed attestation about every manifest signed; read and checked before anything is built or sent to a registry. */
    sbom?: File,
  ): Promise<Publication> {
    // Every argument, and a credential for every target host, is checked before the first engine or registry call.
    const req = mergeRequest({
      from,
      images,
      username,
      password,
      tags,
      annotations,
      commit,
      ref,
      shaLength,
      latest,
      retries,
      pushTimeout,
    });
    const signing = signingRequest({ sign, oidcToken, signingKey, signingKeyPassword, fulcioUrl, rekorUrl, tlog });
    const attest = pushedAttestationRequest("merge", { provenance, sbom }, signing !== undefined);
    return this.pushWithOwnClient("merge", req, req.from, signing, attest, async (targets, sessions, commit) => {
      const intent = { commit, annotations: req.annotations };
      const { index, refs, platformDigests } = await mergeAll(req.from, targets, sessions, intent);
      return { refs, digest: index.digest, platforms: index.platforms, platformDigests };
    });
  }

  /**
   * Signs an image already pushed, keyless with Sigstore: the digest given (a tag is resolved to its digest once)
   * and, for an index, every platform manifest it names, each bundle attached in that repository as an OCI 1.1
   * referrer (fallback tag sha256-<hex> where the registry has no referrers API), for cosign verify. One signing
   * certificate for the call. --sbom is attested beside each signature. It reads registry passwords to log in
   * itself, as promote does.
   */
  @func({ cache: "session" })
  async sign(
    /** The image to sign, e.g. ghcr.io/acme/app@sha256:… (publish's digest; a tag before the digest is ignored), or ghcr.io/acme/app:1.2.3, resolved to its digest once. */
    image: string,
    /** The CI's OIDC identity token for keyless signing, e.g. env:SIGSTORE_ID_TOKEN (GitHub: permissions id-token: write, minted for audience sigstore; GitLab: id_tokens SIGSTORE_ID_TOKEN with aud sigstore); sent to Fulcio and Rekor only. Needs this or --signing-key. */
    oidcToken?: Secret,
    /** Registry user for --image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for --image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** Fulcio (the Sigstore certificate authority) address; a private instance's https URL. */
    fulcioUrl = DEFAULT_FULCIO_URL,
    /** Rekor (the Sigstore transparency log) address; a private instance's https URL. */
    rekorUrl = DEFAULT_REKOR_URL,
    /** A PEM EC P-256 private key instead of --oidc-token (PKCS#8, SEC1, or encrypted PKCS#8 with --signing-key-password), e.g. env:SIGNING_KEY: no Fulcio, each bundle names the key by its fingerprint, verified with its public key (cosign verify --key). Read by the module only, never sent. cosign's own encrypted key format is refused. */
    signingKey?: Secret,
    /** The password of an encrypted --signing-key, e.g. env:SIGNING_KEY_PASSWORD. */
    signingKeyPassword?: Secret,
    /** With --signing-key: log each signature in Rekor (--rekor-url), as cosign does; false makes no entry, for air-gapped use (then cosign verify --key needs --insecure-ignore-tlog=true). Keyless signing always logs, so false needs --signing-key. */
    tlog = true,
    /** Further attempts for a request that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one request attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
    /** Refused: provenance records a build and this function builds nothing; attest it where the image is built (publish or publish-containers --sign --provenance). */
    provenance = false,
    /** An SBOM file (SPDX 2.x JSON or CycloneDX JSON, from any scanner) attached as a signed attestation about every manifest signed; read and checked before anything is built or sent to a registry. */
    sbom?: File,
  ): Promise<Signatures> {
    // Every argument is checked before the first engine or registry call.
    const req = signRequest({
      image,
      oidcToken,
      signingKey,
      signingKeyPassword,
      username,
      password,
      fulcioUrl,
      rekorUrl,
      tlog,
      retries,
      pushTimeout,
    });
    const prepared = (await this.readSigner(req.signing, req))!;
    const attest = pushedAttestationRequest("sign", { provenance, sbom }, true);
    const sbomStatement = await readSbom(attest);
    const sessions = await this.registryClient("sign", [req.image], req)();
    const { host, repository, name } = req.image;
    const s = sessions.session(host);
    const digest = req.image.digest ?? (await resolveTag(s, repository, name, req.image.tag ?? ""));
    const report = await signPushed(
      "sign",
      [{ host, repository, name, digest }],
      `${name}@${digest}`,
      prepared.mask,
      { session: sessions.session, signer: prepared.signer, created: () => new Date().toISOString() },
      publishAttestations(undefined, sbomStatement, now()),
    );
    const fields = {
      image: `${name}@${digest}`,
      digest,
      signatures: report.signatures.map(formatSignature),
      signerIdentity: report.identity,
      signerIssuer: report.issuer,
      signerKeyFingerprint: report.keyFingerprint,
      // Every field, as the object has them: the JSON is the object's, empty lists included.
      sbomAttestations: (report.attestations.sbom ?? []).map(formatSignature),
    };
    return Object.assign(new Signatures(), fields, { json: JSON.stringify(fields, null, 2) });
  }

  /**
   * Verifies an image already pushed, reading only: the digest given (a tag is resolved to its digest once) and, for
   * an index, every platform manifest it names, each body hashed against its digest; with --commit each platform
   * config's revision label; with --signature every one of those manifests must carry a Sigstore signature (an OCI
   * 1.1 referrer, or the sha256-<hex> fallback tag's) that verifies for the identity, issuer and trusted root given.
   * A failure names the manifest, the check and the fix. It reads registry passwords to log in itself, as sign does.
   */
  @func({ cache: "session" })
  async verify(
    /** The image to verify, e.g. ghcr.io/acme/app@sha256:… (publish's digest; a tag before the digest is ignored), or ghcr.io/acme/app:1.2.3, resolved to its digest once. */
    image: string,
    /** Registry user for --image's host (with --password); with-registry-auth wins for its host. */
    username?: string,
    /** Registry password or token for --image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** The full commit id every platform image's config must carry as its org.opencontainers.image.revision label. */
    commit?: string,
    /** Check Sigstore signatures: the index and each platform manifest must carry a bundle that verifies. Needs --certificate-identity, --certificate-oidc-issuer and --trusted-root. */
    signature = false,
    /** With --signature: the signer's identity its certificate must name exactly, e.g. https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main (publish's signer-identity). */
    certificateIdentity?: string,
    /** With --signature: the OIDC issuer its certificate must name exactly, e.g. https://token.actions.githubusercontent.com or https://gitlab.com. */
    certificateOidcIssuer?: string,
    /** With --signature: Sigstore's trusted_root.json (its Fulcio CAs and Rekor keys), e.g. ./trusted_root.json; the module cannot fetch it. */
    trustedRoot?: File,
    /** Further attempts for a request that failed with a rate limit, a transient registry error or a timeout. */
    retries = DEFAULT_RETRIES,
    /** Seconds one request attempt may take before it counts as a transient failure. */
    pushTimeout = DEFAULT_PUSH_TIMEOUT_SECONDS,
  ): Promise<Verification> {
    // Every argument, the trusted root's text included, is checked before the first registry request.
    const req = verifyImageRequest({
      image,
      username,
      password,
      commit,
      signature,
      certificateIdentity,
      certificateOidcIssuer,
      trustedRoot,
      retries,
      pushTimeout,
    });
    const root = req.signature ? trustedRootJson(await req.signature.trustedRoot.contents()) : undefined;
    const sessions = await this.registryClient("verify", [req.image], req)();
    const { host, repository, name } = req.image;
    const s = sessions.session(host);
    const digest = req.image.digest ?? (await resolveTag(s, repository, name, req.image.tag ?? ""));
    const found = await verifyImage(
      s,
      { repository, name, digest },
      {
        ...(req.commit !== undefined ? { commit: req.commit } : {}),
        ...(req.signature && root
          ? {
              signature: {
                policy: {
                  certificateIdentity: req.signature.certificateIdentity,
                  certificateOidcIssuer: req.signature.certificateOidcIssuer,
                },
                trustedRoot: root,
              },
            }
          : {}),
      },
    );
    const fields = {
      image: `${name}@${digest}`,
      digest,
      platformDigests: found.platformDigests,
      commit: req.commit ?? "",
      signatures: found.signatures.map((v) => formatVerified(v)),
      signerIdentity: found.identity,
      signerIssuer: found.issuer,
      attestations: found.attestations.map((v) => formatVerified(v, true)),
    };
    return Object.assign(new Verification(), fields, { json: JSON.stringify(fields, null, 2) });
  }

  /**
   * What promote and merge share around their own registry client: a credential for every target host (checked
   * before any engine call), the tags from git, each image × tag, one logged-in session per host, then the result.
   */
  private async pushWithOwnClient(
    fn: "promote" | "merge",
    req: TagRequest & PushRequest<Secret>,
    sources: readonly { host: string }[],
    signing: SigningRequest<Secret> | undefined,
    attest: AttestationRequest<File>,
    push: (
      targets: PublishTarget[],
      sessions: PromoteEffects,
      commit: string,
    ) => Promise<{ refs: string[]; digest: string; platforms: string[]; platformDigests: string[] }>,
  ): Promise<Publication> {
    const credentialFor = this.credentialLookup(req.credentials);
    requireTargetCredentials(req.images, (host) => credentialFor(host) !== undefined, fn);
    // The token or key is read and checked before any registry request: a bad one copies nothing.
    const prepared = await this.readSigner(signing, req);
    const sbomStatement = await readSbom(attest);
    const git = await this.resolve(req, false);
    const client = this.registryClient(fn, [...sources, ...req.images], req);
    const sessions = await client();
    const { latest, latestNote } = await this.autoLatest(fn, req, git.refs, client);
    const tags = computeTags(tagInput({ ...req, latest }, git));
    const { refs, digest, platforms, platformDigests } = await push(
      planPublish(req.images, tags),
      sessions,
      git.commit,
    );
    const images = req.images.map((i) => i.name);
    const { commit } = git;
    // Nothing built (so neither built nor dirty); verified, since pushToTargets read every tag back at the digest.
    const published: PublicationData = {
      refs,
      digest,
      tags,
      images,
      platforms,
      platformDigests,
      built: false,
      pushed: true,
      verified: true,
      commit,
      dirty: false,
      latestNote,
    };
    if (!prepared) return toPublication(published);
    // The same digest in every repository: what was copied or assembled there and read back.
    const repositories: SignedRepository[] = req.images.map((image) => ({ ...image, digest }));
    const report = await signPushed(
      fn,
      repositories,
      refs.join(", "),
      prepared.mask,
      { session: sessions.session, signer: prepared.signer, created: () => new Date().toISOString() },
      publishAttestations(undefined, sbomStatement, now()),
    );
    return toPublication({ ...published, ...signedFields(report) });
  }

  /**
   * --latest=auto on a release reads each target repository's tags (read only, dry runs and --push=false too, so
   * they show the tags a push would make) and withholds latest when one holds a higher release, saying why.
   */
  private async autoLatest(
    fn: string,
    req: TagRequest & PushRequest<Secret>,
    refs: readonly string[],
    client: RegistryClient,
  ): Promise<{ latest: LatestMode; latestNote: string }> {
    const release = autoLatestRelease(req.latest, refs);
    if (!release) return unchangedLatest(req);
    const sessions = await client();
    const verdict = await registryLatestVerdict(release, req.images, sessions.session);
    const latestNote = describeVerdict(verdict);
    if (latestNote) console.error(`dockyard: ${fn}: ${latestNote}`);
    return { latest: verdict.move ? req.latest : "never", latestNote };
  }

  /**
   * The tags to push and the result as planned: with --staging the one platform's staging tag (no latest, so no
   * registry is read for it), else every tag rule's tag, --latest=auto decided against each repository.
   */
  private async planTags(
    fn: "publish" | "publish-containers",
    req: MetadataRequest & PushRequest<Secret> & { staging: boolean },
    git: ResolvedGit,
    dirty: boolean,
    platforms: string[],
    client: RegistryClient,
  ): Promise<{ meta: ImageMetadata; planned: { targets: PublishTarget[]; result: PublicationData } }> {
    const decided = req.staging ? unchangedLatest(req) : await this.autoLatest(fn, req, git.refs, client);
    const meta = publishMetadata({ ...req, latest: decided.latest }, git, dirty);
    const staged = req.staging ? [stagingTag(meta.commit.slice(0, req.shaLength), platforms[0]!)] : meta.tags;
    return { meta, planned: planPublication(req, { ...meta, tags: staged }, platforms, decided.latestNote) };
  }

  /** Each host's credential: with-registry-auth's for its host, else the function's --username/--password. */
  private credentialLookup(
    shared: { username: string; password: Secret } | undefined,
  ): (host: string) => Credential<Secret> | undefined {
    const registered = this.registeredCredentials();
    return (host) => pickCredential(host, registered, shared);
  }

  /**
   * The sessions of one function call, opened on first use and then shared (the latest check, the tags, the
   * read-back), so each password's plaintext is read and each token fetched once per call.
   */
  private registryClient(fn: string, names: readonly { host: string }[], req: PushRequest<Secret>): RegistryClient {
    let opened: Promise<PromoteEffects> | undefined;
    return () => (opened ??= this.registrySessions(fn, names, req, this.credentialLookup(req.credentials)));
  }

  /** One session of dockyard's registry client per host, logged in with the host's credential (read only here). */
  private async registrySessions(
    fn: string,
    names: readonly { host: string }[],
    req: PushRequest<Secret>,
    credentialFor: (host: string) => Credential<Secret> | undefined,
  ): Promise<PromoteEffects> {
    const policy = retryPolicy(req);
    const sessions = new Map<string, RegistrySession>();
    const hosts = [...new Set(names.map((n) => n.host))];
    // The plaintexts go only into the sessions' Authorization headers, never into a message; read side by side.
    const plaintexts = await Promise.all(hosts.map((host) => credentialFor(host)?.password.plaintext()));
    for (const [i, host] of hosts.entries()) {
      const credential = credentialFor(host);
      const password = plaintexts[i];
      const credentials = credential && password !== undefined && { username: credential.username, password };
      sessions.set(
        host,
        new RegistrySession({
          host,
          plainHttp: isLoopbackHost(host),
          policy,
          ...(credentials ? { credentials } : {}),
          onRetry: (attempt, delay, message) =>
            console.error(
              `dockyard: ${fn}: a request to ${host} failed (${maskUrlCredentials(message)}); retry ${attempt}/${policy.retries} in ${delay} ms`,
            ),
        }),
      );
    }
    return { session: (host) => sessions.get(host)! };
  }

  /**
   * Pushes the variants to every target (unless --push=false) with retries, writes the index annotations into each
   * image's index after its first push, then (unless --verify=false) reads every ref back with dockyard's own
   * registry client; the result says what was pushed and verified.
   */
  private async pushVariants(
    fn: "publish" | "publish-containers",
    req: PushRequest<Secret>,
    targets: PublishTarget[],
    variants: Container[],
    annotations: PlannedAnnotations,
    client: RegistryClient,
    planned: PublicationData,
    signing?: PreparedSigner & { attestations?: () => Attestation[] },
  ): Promise<Publication> {
    const built = { ...planned, built: true };
    if (!req.push) return toPublication(built);
    const policy = retryPolicy(req);
    const abandoned = { count: 0 };
    const credentialFor = this.credentialLookup(req.credentials);
    const push = (t: PublishTarget) => this.pushOne(t, variants, credentialFor, policy, abandoned);
    // One client session per host, for the index annotations, the tags after each image's first and the read-back.
    const rewritesIndex = annotations.index.length > 0;
    const reach = clientReach(req, targets, rewritesIndex, signing !== undefined);
    this.warmClient(reach, client);
    const sessions = reach.needed ? await client() : undefined;
    // One fan-out per call: the index rewrite hands it the bytes it PUT, so the other tags read nothing first.
    const fanOut = sessions ? new ManifestFanOut(sessions.session) : undefined;
    const tag = fanOut ? this.manifestTagger(fn, fanOut, credentialFor, push) : push;
    const firstPush =
      sessions && rewritesIndex ? this.indexAnnotator(fn, sessions, fanOut, annotations, credentialFor, push) : push;
    const hasTwoTags = (name: string) => targets.filter((t) => t.image.name === name).length > 1;
    // A repository's manifest is read as soon as its first push lands, while the other repositories' still run.
    const first = fanOut
      ? async (target: PublishTarget) => {
          const pinned = await firstPush(target);
          if (hasTwoTags(target.image.name)) fanOut.readAhead(target, pinned);
          return pinned;
        }
      : firstPush;
    const refs = await pushAll(targets, first, fn, tag).finally(() => endAfterAbandonedPushes(abandoned.count));
    const pushed = { ...built, refs, digest: digestOf(refs[0] ?? ""), pushed: true };
    if (!sessions) return toPublication(pushed);
    const verified = req.verify
      ? { ...pushed, verified: true, ...(await verifyPushed(fn, targets, refs, planned.commit, sessions)) }
      : pushed;
    if (!signing) return toPublication(verified);
    // Each repository's final digest: the one its tags name after the index rewrite and the fan-out.
    const repositories: SignedRepository[] = req.images.map((image) => {
      const i = targets.findIndex((t) => t.image.name === image.name);
      return { ...image, digest: digestOf(refs[i] ?? "") };
    });
    const report = await signPushed(
      fn,
      repositories,
      refs.join(", "),
      signing.mask,
      {
        session: sessions.session,
        signer: signing.signer,
        created: () => new Date().toISOString(),
      },
      signing.attestations?.() ?? [],
    );
    return toPublication({ ...verified, ...signedFields(report) });
  }

  /**
   * Opens the client's sessions and learns the auth of each host it will contact, without waiting: called before
   * the build, the credential reads, the process's first fetch and each 401 challenge overlap it.
   */
  private warmClient(reach: ClientReach, client: RegistryClient): void {
    if (!reach.needed) return;
    void client()
      .then((sessions) =>
        Promise.all(reach.contacted.map(({ host, repository }) => sessions.session(host).prepare(repository))),
      )
      // Best effort: whatever failed here fails again, reported, where the push needs it.
      .catch(() => undefined);
  }

  /**
   * The OIDC token (a JWT, not expired, sub and iss) or the signing key (and its password) read once and checked;
   * undefined without --sign. `mask` is the secret read, masked out of every signing error.
   */
  private async readSigner(
    signing: SigningRequest<Secret> | undefined,
    req: PushRequest<Secret>,
  ): Promise<PreparedSigner | undefined> {
    if (!signing) return undefined;
    const policy = { ...retryPolicy(req), attemptTimeoutMs: 60_000 };
    if (isKeySigning(signing)) {
      const [pem, password] = await Promise.all([
        signing.signingKey.plaintext(),
        signing.signingKeyPassword?.plaintext(),
      ]);
      const key = parseSigningKey(pem, password);
      const { rekorUrl } = signing;
      return { mask: pem, signer: () => Promise.resolve(keySigner({ key, rekorUrl, policy })) };
    }
    const token = await signing.oidcToken.plaintext();
    const { fulcioUrl, rekorUrl } = signing;
    checkSignerOptions({ oidcToken: token, fulcioUrl, rekorUrl });
    // One Fulcio certificate for the whole call, with the call's retry policy.
    return { mask: token, signer: () => keylessSigner({ oidcToken: token, fulcioUrl, rekorUrl, policy }) };
  }

  /**
   * Tags after a repository's first by a PUT of its manifest (src/push/fanout.ts); where the module's container
   * cannot reach the registry, by a Dagger push each, said once per host.
   */
  private manifestTagger(
    fn: string,
    fanOut: ManifestFanOut,
    credentialFor: (host: string) => Credential<Secret> | undefined,
    push: (target: PublishTarget) => Promise<string>,
  ): (target: PublishTarget, firstPinned: string) => Promise<string> {
    const warned = new Set<string>();
    return async (target, firstPinned) => {
      try {
        return await fanOut.tag(target, firstPinned);
      } catch (e) {
        const message = errorMessage(e);
        const { host } = target.image;
        if (e instanceof UnreachableRegistry) {
          if (!warned.has(host))
            console.error(
              `dockyard: ${fn}: the module's container cannot reach ${host} (${maskUrlCredentials(message)}); its other tags go by a Dagger push each`,
            );
          warned.add(host);
          return push(target);
        }
        const given = credentialFor(host) ? "given" : "none";
        throw new Error(describePushFailure(target, classifyPushError(message), message, given));
      }
    };
  }

  /**
   * Each image's first push, then its index rewritten with the index annotations under that tag (src/push/annotate.ts).
   * Where the module's container cannot reach the registry, the default annotations stay on the manifests alone
   * (said once per host), and annotations given at index level fail the push.
   */
  private indexAnnotator(
    fn: string,
    sessions: PromoteEffects,
    fanOut: ManifestFanOut | undefined,
    annotations: PlannedAnnotations,
    credentialFor: (host: string) => Credential<Secret> | undefined,
    push: (target: PublishTarget) => Promise<string>,
  ): (target: PublishTarget) => Promise<string> {
    const annotator = new IndexAnnotator(sessions.session, annotations.index, fanOut);
    const warned = new Set<string>();
    return async (target) => {
      const pinned = await push(target);
      try {
        return await annotator.annotate(target, pinned);
      } catch (e) {
        const message = maskUrlCredentials(errorMessage(e));
        const { host } = target.image;
        if (e instanceof UnreachableRegistry && !annotations.indexGiven) {
          if (!warned.has(host))
            console.error(
              `dockyard: ${fn}: the module's container cannot reach ${host} (${message}); the index keeps no annotations (each platform manifest has them)`,
            );
          warned.add(host);
          return pinned;
        }
        if (e instanceof UnreachableRegistry)
          throw new Error(
            `the index annotations given with --annotations could not be written: the module's container cannot reach ${host} (${message}); ${target.ref} holds ${digestOf(pinned)} without them: publish to a registry the module reaches by name, or give them at manifest level`,
          );
        const given = credentialFor(host) ? "given" : "none";
        throw new Error(
          `writing the index annotations into ${digestOf(pinned)}: ${describePushFailure(target, classifyPushError(message), message, given)}`,
        );
      }
    };
  }

  private async pushOne(
    target: PublishTarget,
    variants: Container[],
    credentialFor: (host: string) => Credential<Secret> | undefined,
    policy: RetryPolicy,
    abandoned: { count: number },
  ): Promise<string> {
    const single = variants.length === 1 ? variants[0] : undefined;
    const credential = credentialFor(target.image.host);
    const base = credential
      ? (single ?? dag.container()).withRegistryAuth(credential.host, credential.username, credential.password)
      : (single ?? dag.container());
    // A fresh array per attempt: the SDK swaps list items for their IDs in place, racing concurrent pushes.
    const opts = () => (single ? {} : { platformVariants: [...variants] });
    try {
      const published = await withPushRetry(() => base.publish(target.ref, opts()), policy, {
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        onAbandon: () => void abandoned.count++,
        onRetry: (attempt, delay, message) =>
          console.error(
            `dockyard: push of ${target.ref} failed (${maskUrlCredentials(message)}); retry ${attempt}/${policy.retries} in ${delay} ms`,
          ),
      });
      return pinnedRef(target.ref, published);
    } catch (e) {
      const message = errorMessage(e);
      // pushAll masks URL credentials in the reason it reports.
      throw new Error(describePushFailure(target, classifyPushError(message), message, credential ? "given" : "none"));
    }
  }

  private registeredCredentials(): Credential<Secret>[] {
    const hosts = this.authHosts ?? [];
    return hosts.flatMap((host, i) => {
      const username = this.authUsernames?.[i];
      const password = this.authPasswords?.[i];
      return username !== undefined && password ? [{ host, username, password }] : [];
    });
  }

  /**
   * Git facts, the dirty guard (fail closed) and the build context: the commit's tree, or with --allow-dirty the
   * working folder, which is dirty unless it provably equals the commit's tree (ignored files included).
   */
  private async prepareBuild(req: BuildRequest): Promise<{ git: ResolvedGit; dirty: boolean; context: Directory }> {
    const source = this.requireSource("build");
    const git = await this.resolve(req, false, req.allowDirty);
    if (git.inRepository && !req.allowDirty) {
      const changed = await this.uncommittedPaths();
      if (changed.length > 0) throw dirtyCheckoutError(git.commit, changed);
    }
    const commitTree = git.inRepository ? source.asGit().commit(git.commit).tree({ discardGitDir: true }) : undefined;
    const root = commitTree && !req.allowDirty ? commitTree : source.filter({ exclude: WORKING_FOLDER_EXCLUDES });
    const dirty = !req.allowDirty
      ? false
      : commitTree
        ? await differsFrom(root, commitTree, git.commit)
        : // A .git the engine cannot read (a worktree's file, a SHA-256 repository) proves nothing: dirty.
          git.unreadableGit;
    const context = await this.checkBuildPaths(root, req);
    return { git, dirty, context };
  }

  /** Fails early, naming the paths, when the context is not a folder or the Dockerfile not a file in it. */
  private async checkBuildPaths(root: Directory, req: BuildRequest): Promise<Directory> {
    const known = req.context === "." ? {} : { context: await pathFacts(root, req.context) };
    // A context that is not a folder is reported before its Dockerfile is looked for.
    checkBuildPaths(req.context, req.dockerfile, known);
    const context = req.context === "." ? root : root.directory(req.context);
    checkBuildPaths(req.context, req.dockerfile, { ...known, dockerfile: await pathFacts(context, req.dockerfile) });
    return context;
  }

  private buildContainer(
    context: Directory,
    req: BuildRequest,
    labels: KeyValue[],
    secrets: Secret[],
    platform: string | undefined,
  ): Container {
    const ctr = context.dockerBuild({
      dockerfile: req.dockerfile,
      buildArgs: req.buildArgs,
      // A fresh array per build: the SDK swaps list items for their IDs in place.
      secrets: [...secrets],
      ...(req.target ? { target: req.target } : {}),
      ...(platform ? { platform: platform as Platform } : {}),
    });
    return withLabels(ctr, labels);
  }

  /** Build secrets are mounted under their Secret's name, so each must be named by its id. */
  private async namedBuildSecrets(): Promise<Secret[]> {
    const ids = this.buildSecretIds ?? [];
    const values = this.buildSecretValues ?? [];
    return Promise.all(
      ids.map(async (id, i) => {
        const secret = values[i];
        if (!secret) throw new InvalidInputError(`build secret "${id}": no value`);
        if ((await secret.name()) === id) return secret;
        // dockerBuild takes no mount name, and CLI-passed secrets have none: re-register the value under its id.
        return dag.setSecret(id, await secret.plaintext());
      }),
    );
  }

  /** Commit and refs, from the arguments and the source's .git. `trustArgs` skips git when both are given. */
  private async resolve(
    req: TagRequest,
    trustArgs: boolean,
    allowUnreadableGit = false,
  ): Promise<ResolvedGit & { unreadableGit: boolean }> {
    const given = { commit: req.commit, ref: req.ref };
    const source: SourceGit | { kind: "unreadable .git" } = trustArgs
      ? { kind: "no source" }
      : await this.sourceGit(allowUnreadableGit, req);
    const unreadableGit = source.kind === "unreadable .git";
    const git = await resolveGit(given, unreadableGit ? { kind: "no .git" } : source);
    requireShaLengthFits(req.shaLength, git.commit);
    return { ...git, unreadableGit };
  }

  private async sourceGit(
    allowUnreadableGit: boolean,
    req: TagRequest,
  ): Promise<SourceGit | { kind: "unreadable .git" }> {
    if (!this.source) return { kind: "no source" };
    const source = this.source;
    const hasGit = await source.exists(".git");
    if (!hasGit) return { kind: "no .git" };
    const repo = source.asGit();
    let head: Promise<GitHead> | undefined;
    const reader: GitReader = {
      head: () =>
        (head ??= Promise.all([repo.head().commit(), repo.head().ref()]).then(([commit, ref]) => ({ commit, ref }))),
      tags: () => repo.tags(),
      tagCommit: (name) => repo.tag(name).commit(),
      mergeBase: (commit) => repo.head().commonAncestor(repo.commit(commit)).commit(),
    };
    if (allowUnreadableGit && req.commit !== undefined) {
      // --allow-dirty with --commit: a .git the engine cannot read (a worktree's file) is no reason to stop.
      const readable = await reader.head().then(
        () => true,
        () => false,
      );
      if (!readable) return { kind: "unreadable .git" };
    }
    return { kind: "git", reader };
  }

  /** Paths changed since HEAD; any error is thrown (the guard fails closed). */
  private async uncommittedPaths(): Promise<string[]> {
    const source = this.requireSource("check for uncommitted changes");
    try {
      return await changedPaths(source.asGit().uncommitted());
    } catch (e) {
      throw dirtyCheckFailedError(errorMessage(e));
    }
  }

  private requireSource(what: string): Directory {
    if (!this.source) {
      throw new InvalidInputError(`no source to ${what}: pass --source=. (the folder to build, with its .git)`);
    }
    return this.source;
  }

  private copy(): Dockyard {
    return Object.assign(Object.create(Dockyard.prototype) as Dockyard, this);
  }
}

/** Time for the entrypoint to hand the result to the engine before a lingering process is ended. */
const ABANDONED_EXIT_GRACE_MS = 10_000;

/**
 * A push request we stopped waiting for stays open and keeps the runtime's process alive after the result is
 * returned, so the engine would never see the call end: once the result has had time to go, end the process.
 */
function endAfterAbandonedPushes(count: number): void {
  if (count === 0) return;
  setTimeout(() => process.exit(process.exitCode ?? 0), ABANDONED_EXIT_GRACE_MS).unref();
}

// Every .git, nested clones' too: a .git/config may hold a token (actions/checkout leaves one).
const WORKING_FOLDER_EXCLUDES = [".git", "**/.git"];

/** True unless `folder` holds exactly the commit's files (by content and git mode); a failed check says true. */
async function differsFrom(folder: Directory, commitTree: Directory, commit: string): Promise<boolean> {
  try {
    const paths = await changedPaths(folder.changes(commitTree));
    if (paths.length === 0) return false;
    console.error(
      `dockyard: --allow-dirty: the working folder differs from ${commit.slice(0, DEFAULT_SHA_LENGTH)} (${describePaths(paths)}), ignored files included; the image is labelled dockyard.dirty=true`,
    );
  } catch (e) {
    console.error(
      `dockyard: --allow-dirty: could not compare the working folder with the commit (${maskUrlCredentials(errorMessage(e))}): dirty`,
    );
  }
  return true;
}

/** A changeset's paths, modified then added then removed; none when it is empty (checked first, cheaply). */
async function changedPaths(changes: Changeset): Promise<string[]> {
  if (await changes.isEmpty()) return [];
  const [added, modified, removed] = await Promise.all([
    changes.addedPaths(),
    changes.modifiedPaths(),
    changes.removedPaths(),
  ]);
  return [...modified, ...added, ...removed];
}

/** What the engine says about a path, as the pure checks take it. */
async function pathFacts(dir: Directory, path: string): Promise<PathFacts> {
  const [file, folder, any, symlink] = await Promise.all([
    dir.exists(path, { expectedType: ExistsType.RegularType }),
    dir.exists(path, { expectedType: ExistsType.DirectoryType }),
    dir.exists(path),
    dir.exists(path, { expectedType: ExistsType.SymlinkType, doNotFollowSymlinks: true }),
  ]);
  return { kind: file ? "file" : folder ? "folder" : any ? "other" : "missing", symlink };
}

/** The container with each annotation set (withAnnotation): Dagger writes them on its manifest and its descriptor. */
function withAnnotations(container: Container, annotations: readonly KeyValue[]): Container {
  let ctr = container;
  for (const a of annotations) ctr = ctr.withAnnotation(a.name, a.value);
  return ctr;
}

/** The container with each label set (withLabel); a later label of one name wins. */
function withLabels(container: Container, labels: readonly KeyValue[]): Container {
  let ctr = container;
  for (const label of labels) ctr = ctr.withLabel(label.name, label.value);
  return ctr;
}

/** The image's metadata for a publish: the first image's name is its title. */
function publishMetadata(req: MetadataRequest & PushRequest<Secret>, git: ResolvedGit, dirty: boolean): ImageMetadata {
  const title = req.images[0] && imageTitle(req.images[0]);
  return computeMetadata({ ...tagInput(req, git), ...req.labelInput, title, dirty });
}

/** Every ref to push, and the result as it stands before anything is built or pushed. */
function planPublication(
  req: PushRequest<Secret>,
  meta: ImageMetadata,
  platforms: string[],
  latestNote: string,
): { targets: PublishTarget[]; result: PublicationData } {
  const targets = planPublish(req.images, meta.tags);
  const result: PublicationData = {
    refs: targets.map((t) => t.ref),
    digest: "",
    tags: meta.tags,
    images: req.images.map((i) => i.name),
    platforms,
    platformDigests: [],
    built: false,
    pushed: false,
    verified: false,
    commit: meta.commit,
    dirty: meta.dirty,
    latestNote,
  };
  return { targets, result };
}

/** --latest as given, with nothing to say about it. */
function unchangedLatest(req: TagRequest): { latest: LatestMode; latestNote: string } {
  return { latest: req.latest, latestNote: "" };
}

/** The retry policy of --retries and --push-timeout. */
function retryPolicy(req: PushRequest<unknown>): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, retries: req.retries, attemptTimeoutMs: req.pushTimeoutSeconds * 1000 };
}

/** What the tag rules take: the commit and refs found, and the tag arguments. */
function tagInput(req: TagRequest, git: ResolvedGit) {
  return { commit: git.commit, refs: git.refs, shaLength: req.shaLength, latest: req.latest, userTags: req.userTags };
}

function toMetadata(m: ImageMetadata): Metadata {
  return Object.assign(new Metadata(), { ...m, labels: formatLabels(m.labels) });
}

/** The digest a tag names now, read once: what sign then signs, whatever the tag names later. */
async function resolveTag(s: RegistrySession, repository: string, name: string, tag: string): Promise<string> {
  const head = await headManifest(s, repository, tag);
  if (!head)
    throw new InvalidInputError(
      `--image "${name}:${tag}": the registry has no such tag; give the digest publish reported`,
    );
  return head.digest;
}

/** A signing report as the Publication's fields. */
function signedFields(
  report: SigningReport,
): Pick<
  PublicationData,
  | "signatures"
  | "signerIdentity"
  | "signerIssuer"
  | "signerKeyFingerprint"
  | "provenanceAttestations"
  | "sbomAttestations"
> {
  const provenance = report.attestations.provenance ?? [];
  const sbom = report.attestations.sbom ?? [];
  return {
    signatures: report.signatures.map(formatSignature),
    signerIdentity: report.identity,
    signerIssuer: report.issuer,
    ...(report.keyFingerprint ? { signerKeyFingerprint: report.keyFingerprint } : {}),
    ...(provenance.length ? { provenanceAttestations: provenance.map(formatSignature) } : {}),
    ...(sbom.length ? { sbomAttestations: sbom.map(formatSignature) } : {}),
  };
}

/** The renderings are fields filled here, so reading one is a field read: no module run (core/object.go:1344-1380). */
function toPublication(p: PublicationData): Publication {
  const { refs, digest, tags, images, platforms, platformDigests, built, pushed, verified, commit, dirty } = p;
  const signed = p.signatures?.length
    ? {
        signatures: p.signatures,
        signerIdentity: p.signerIdentity ?? "",
        signerIssuer: p.signerIssuer ?? "",
        ...(p.signerKeyFingerprint ? { signerKeyFingerprint: p.signerKeyFingerprint } : {}),
      }
    : {};
  const data: PublicationData = {
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
    ...signed,
    ...(p.provenanceAttestations?.length ? { provenanceAttestations: p.provenanceAttestations } : {}),
    ...(p.sbomAttestations?.length ? { sbomAttestations: p.sbomAttestations } : {}),
  };
  return Object.assign(new Publication(), data, {
    json: renderJson(data),
    githubOutput: renderGithubOutput(data),
    // Only the summary says why latest was withheld: the other renderings' tags already show it is not there.
    markdown: renderMarkdown({ ...data, latestNote: p.latestNote ?? "" }),
    dotenv: renderDotenv(data),
  });
}

const now = () => new Date().toISOString();

/** Each platform's image scanned by --sbom-scanner (its tarball mounted read-only), the output checked before any push. */
async function scanPlatforms(
  scanner: { container: Container; args: string[] },
  variants: Container[],
  platforms: readonly string[],
): Promise<ScannedSbom[]> {
  return Promise.all(
    variants.map(async (variant, i) => {
      const platform = String(platforms[i]);
      const ran = scanner.container
        .withMountedFile(SBOM_SCANNER_TARBALL, variant.asTarball())
        .withExec(scanner.args, { useEntrypoint: true, expect: ReturnType.Any });
      const [exitCode, stdout, stderr] = await Promise.all([ran.exitCode(), ran.stdout(), ran.stderr()]);
      return { platform, sbom: scannedSbom(platform, { exitCode, stdout, stderr }) };
    }),
  );
}

/** --sbom's text, read once and checked (SPDX 2.x or CycloneDX JSON) before anything is built. */
async function readSbom(attest: AttestationRequest<File, Container>): Promise<SbomPredicate | undefined> {
  return attest.sbom ? sbomPredicate(await attest.sbom.contents(), "--sbom") : undefined;
}

/**
 * --provenance's input with the engine's version, checked now (without the finish time) so a bad one is refused
 * before anything is built; undefined without --provenance.
 */
async function checkedProvenance(
  attest: AttestationRequest<File, Container>,
  known: Omit<PublishProvenance, "engineVersion">,
): Promise<ProvenanceInput | undefined> {
  if (!attest.provenance) return undefined;
  const input = publishProvenance({ ...known, engineVersion: await dag.version() });
  // Without --platforms the engine's own is known once built: any one stands in for this check.
  provenancePredicate({ ...input, platforms: input.platforms.length ? input.platforms : ["linux/amd64"] });
  return input;
}
