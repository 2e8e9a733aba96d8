/**
 * Build a container image from a Dockerfile, tag it by git commit, branch, tag, pull request and
 * semver, and publish it to one or more OCI registries with secret-backed auth.
 *
 * The same call runs on a laptop, in GitHub Actions and in GitLab CI. Commit and ref come from
 * explicit arguments or from the .git directory inside the source.
 */
import { argument, Container, dag, Directory, func, object, Platform, Secret } from "@dagger.io/dagger";

import { mapWithLimit } from "./concurrency.js";
import { InvalidInputError } from "./errors/index.js";
import { dirtyCheckoutError, headRefs, missingCommitError, tagName, type GitHead } from "./gitsource.js";
import { imageTitle, registryHost } from "./image.js";
import { parseBuildArgs, parseLabels, validatePlatforms, validateSecretId } from "./keyvalue.js";
import { computeMetadata, type ImageMetadata, type MetadataInput } from "./metadata.js";
import {
  checkCredentialPair,
  describePushFailure,
  parseImageList,
  pinnedRef,
  planPublish,
  pushAll,
  type PublishTarget,
} from "./publish.js";
import { classifyPushError, DEFAULT_RETRY_POLICY, errorMessage, withPushRetry } from "./retry.js";
import { computeTags, normalizeCommit, validateTagOptions } from "./tags.js";

const MAX_RETRIES = 10;
const TAG_LOOKUPS_IN_FLIGHT = 16;

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
}

/** Builds an image from a Dockerfile and publishes it under commit-derived tags. */
@object()
export class Dockyard {
  source: Directory;
  authAddresses: string[] = [];
  authUsernames: string[] = [];
  authSecrets: Secret[] = [];
  buildSecretIds: string[] = [];
  buildSecretValues: Secret[] = [];

  constructor(
    /** The build context and git checkout; keep its .git directory: commit and ref are read from it. */
    @argument({ defaultPath: "/" })
    source: Directory,
  ) {
    this.source = source;
  }

  /** Adds credentials for one registry host; chain it once per registry. */
  @func()
  withRegistryAuth(
    /** Registry host or image address, e.g. "ghcr.io" or "ghcr.io/acme/app". */
    address: string,
    /** Registry user name. */
    username: string,
    /** Registry password or token. */
    secret: Secret,
  ): Dockyard {
    const host = registryHost(address);
    const next = this.copy();
    next.authAddresses = [...(this.authAddresses ?? []), host];
    next.authUsernames = [...(this.authUsernames ?? []), username];
    next.authSecrets = [...(this.authSecrets ?? []), secret];
    return next;
  }

  /** Adds a secret that the Dockerfile reads with RUN --mount=type=secret,id=<id>. */
  @func()
  withBuildSecret(
    /** The id the Dockerfile names; the secret is mounted at /run/secrets/<id>. */
    id: string,
    /** The secret value. */
    secret: Secret,
  ): Dockyard {
    validateSecretId(id);
    const next = this.copy();
    const keep = (this.buildSecretIds ?? []).map((existing) => existing !== id);
    next.buildSecretIds = [...(this.buildSecretIds ?? []).filter((_, i) => keep[i]), id];
    next.buildSecretValues = [...(this.buildSecretValues ?? []).filter((_, i) => keep[i]), secret];
    return next;
  }

  /** The image tags for a commit and ref. With both given it makes no engine call. */
  @func()
  async tags(
    /** Full commit id; default: HEAD of the source's .git. */
    commit?: string,
    /** Git ref, e.g. refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge or a branch name; default: from .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = 7,
    /** Add the latest tag: auto (for a non-prerelease semver tag), true or false. */
    latest = "auto",
    /** More tags, used as given; each must already be a valid tag. */
    extraTags: string[] = [],
  ): Promise<string[]> {
    validateTagOptions({ shaLength, latest, extraTags });
    const git = await this.resolveGit(commit, ref);
    return computeTags({ ...gitInput(git), shaLength, latest, extraTags });
  }

  /** Commit, ref, tags and OCI labels, as one object. */
  @func()
  async metadata(
    /** Full commit id; default: HEAD of the source's .git. */
    commit?: string,
    /** Git ref; default: from .git. */
    ref?: string,
    /** Length of the sha tag. */
    shaLength = 7,
    /** Add the latest tag: auto, true or false. */
    latest = "auto",
    /** More tags, used as given. */
    extraTags: string[] = [],
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** URL of the source repository, for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time for org.opencontainers.image.created (RFC 3339); omitted when empty. */
    created?: string,
  ): Promise<Metadata> {
    const input = { shaLength, latest, extraTags, labels, sourceUrl, created };
    validateTagOptions(input);
    parseLabels(labels);
    const git = await this.resolveGit(commit, ref);
    const dirty = await this.changedPaths().then((p) => (p ? p.length > 0 : false));
    return toMetadata(computeMetadata({ ...input, ...gitInput(git), dirty }));
  }

  /** Builds the image from the Dockerfile, with OCI labels applied. */
  @func()
  async build(
    /** Dockerfile path, relative to context. */
    dockerfile = "Dockerfile",
    /** Build context: a folder inside source. */
    context = ".",
    /** Build stage to stop at. */
    target?: string,
    /** Build arguments as NAME=VALUE. */
    buildArgs: string[] = [],
    /** Platform to build for, e.g. linux/amd64; default: the engine's. */
    platform?: Platform,
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** Full commit id; default: HEAD of the source's .git. */
    commit?: string,
    /** Git ref; default: from .git. */
    ref?: string,
    /** URL of the source repository, for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time for org.opencontainers.image.created; omitted when empty. */
    created?: string,
  ): Promise<Container> {
    const args = parseBuildArgs(buildArgs);
    if (platform) validatePlatforms([platform]);
    parseLabels(labels);
    const git = await this.resolveGit(commit, ref);
    await this.checkDockerfile(context, dockerfile);
    const meta = computeMetadata({ labels, sourceUrl, created, ...gitInput(git) });
    return this.buildContainer({ dockerfile, context, target, buildArgs: args, platform, labels: meta.labels });
  }

  /** Builds once per platform and pushes every tag to every image; returns digest-pinned refs. */
  @func()
  async publish(
    /** Image names without tag, e.g. ghcr.io/acme/app; every tag goes to each. */
    images: string[],
    /** Registry user for every image's host (with password). */
    username?: string,
    /** Registry password or token for every image's host, e.g. env:REGISTRY_TOKEN. */
    password?: Secret,
    /** More tags, used as given; each must already be a valid tag. */
    tags: string[] = [],
    /** Platforms to build; several publish one multi-platform image. Default: the engine's platform. */
    platforms: Platform[] = [],
    /** Dockerfile path, relative to context. */
    dockerfile = "Dockerfile",
    /** Build context: a folder inside source. */
    context = ".",
    /** Build stage to stop at. */
    target?: string,
    /** Build arguments as NAME=VALUE. */
    buildArgs: string[] = [],
    /** Labels as key=value; they override the OCI labels. */
    labels: string[] = [],
    /** Full commit id; default: HEAD of the source's .git. */
    commit?: string,
    /** Git ref, e.g. $GITHUB_REF; default: from .git. */
    ref?: string,
    /** Length of the sha tag, from 4 to the commit's length. */
    shaLength = 7,
    /** Add the latest tag: auto (for a non-prerelease semver tag), true or false. */
    latest = "auto",
    /** Return the refs that would be pushed; build and push nothing. */
    dryRun = false,
    /** Publish even when the checkout has uncommitted changes. */
    allowDirty = false,
    /** URL of the source repository, for org.opencontainers.image.source. */
    sourceUrl?: string,
    /** Creation time for org.opencontainers.image.created; omitted when empty. */
    created?: string,
    /** Further attempts for a push that failed with a rate limit or a transient registry error. */
    retries = 3,
  ): Promise<string[]> {
    // Validate every input before the first engine call: bad input builds and pushes nothing.
    const imageNames = parseImageList(images);
    validatePlatforms(platforms);
    const args = parseBuildArgs(buildArgs);
    parseLabels(labels);
    checkCredentialPair(username, password !== undefined && password !== null);
    if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
      throw new InvalidInputError(`retries ${retries}: must be a whole number from 0 to ${MAX_RETRIES} (try 3)`);
    }
    const tagInput = { shaLength, latest, extraTags: tags, labels, sourceUrl, created };
    validateTagOptions(tagInput, "tags");

    const git = await this.resolveGit(commit, ref);
    if (!allowDirty) {
      const changed = await this.changedPaths();
      if (changed && changed.length > 0) throw dirtyCheckoutError(git.commit, changed);
    }
    await this.checkDockerfile(context, dockerfile);
    const title = imageNames[0] && imageTitle(imageNames[0]);
    const meta = computeMetadata({ ...tagInput, ...gitInput(git), title });
    const targets = planPublish(imageNames, meta.tags);
    if (dryRun) return targets.map((t) => t.ref);

    const variants = await Promise.all(
      (platforms.length ? platforms : [undefined]).map((platform) =>
        this.buildContainer({ dockerfile, context, target, buildArgs: args, platform, labels: meta.labels }).then((c) =>
          c.sync(),
        ),
      ),
    );
    const policy = { ...DEFAULT_RETRY_POLICY, retries };
    return pushAll(targets, (t) => this.pushOne(t, variants, { username, password }, policy));
  }

  private async pushOne(
    target: PublishTarget,
    variants: Container[],
    shared: { username?: string; password?: Secret },
    policy: typeof DEFAULT_RETRY_POLICY,
  ): Promise<string> {
    const single = variants.length === 1 ? variants[0] : undefined;
    const base = this.withAuthFor(single ?? dag.container(), target.image.host, shared);
    // A fresh array per attempt: the SDK swaps list items for their IDs in place, racing concurrent pushes.
    const opts = () => (single ? {} : { platformVariants: [...variants] });
    try {
      const published = await withPushRetry(() => base.publish(target.ref, opts()), policy, {
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        onRetry: (attempt, delay, message) =>
          console.error(
            `dockyard: push of ${target.ref} failed (${message}); retry ${attempt}/${policy.retries} in ${delay} ms`,
          ),
      });
      return pinnedRef(target.ref, published);
    } catch (e) {
      const message = errorMessage(e);
      throw new Error(describePushFailure(target, classifyPushError(message), message));
    }
  }

  /** Credentials for one host: per-host ones from withRegistryAuth win over username/password. */
  private withAuthFor(ctr: Container, host: string, shared: { username?: string; password?: Secret }): Container {
    const addresses = this.authAddresses ?? [];
    const i = addresses.lastIndexOf(host);
    const secret = i >= 0 ? this.authSecrets?.[i] : undefined;
    const user = i >= 0 ? this.authUsernames?.[i] : undefined;
    if (secret && user !== undefined) return ctr.withRegistryAuth(host, user, secret);
    if (shared.username && shared.password) return ctr.withRegistryAuth(host, shared.username, shared.password);
    return ctr;
  }

  private async buildContainer(opts: {
    dockerfile: string;
    context: string;
    target?: string;
    buildArgs: { name: string; value: string }[];
    platform?: Platform;
    labels: string[];
  }): Promise<Container> {
    const dir = opts.context === "." ? this.source : this.source.directory(opts.context);
    let ctr = dir.dockerBuild({
      dockerfile: opts.dockerfile,
      buildArgs: opts.buildArgs,
      secrets: await this.namedBuildSecrets(),
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
    });
    for (const label of parseLabels(opts.labels)) ctr = ctr.withLabel(label.name, label.value);
    return ctr;
  }

  /** Fails early, naming both paths, when the Dockerfile is not where the build will look. */
  private async checkDockerfile(context: string, dockerfile: string): Promise<void> {
    const found = await this.source
      .directory(context)
      .exists(dockerfile)
      .catch((e: unknown) => {
        throw new InvalidInputError(`context "${context}": not a folder of the source (${errorMessage(e)})`);
      });
    if (!found) {
      throw new InvalidInputError(
        `dockerfile "${dockerfile}": not found in context "${context}" of the source (the path is relative to --context)`,
      );
    }
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
        // dockerBuild takes no mount name: a secret named otherwise (e.g. by a CLI hash) is re-registered under its id.
        return dag.setSecret(id, await secret.plaintext());
      }),
    );
  }

  /** Commit and refs: from the arguments, else from the .git inside source. */
  private async resolveGit(commit?: string, ref?: string): Promise<{ commit: string; refs: string[] }> {
    // A bad --commit fails here, before any engine call.
    const given = commit === undefined ? undefined : normalizeCommit(commit);
    if (given && ref) return { commit: given, refs: [ref] };
    const repo = this.source.asGit();
    let head: GitHead;
    try {
      const headRef = repo.head();
      head = { commit: await headRef.commit(), ref: await headRef.ref() };
    } catch (e) {
      if (given) return { commit: given, refs: ref ? [ref] : [] };
      throw missingCommitError(`the source has no readable .git (${errorMessage(e)})`);
    }
    const headCommit = normalizeCommit(head.commit);
    const resolved = given ?? headCommit;
    if (ref) return { commit: resolved, refs: [ref] };
    if (resolved !== headCommit) return { commit: resolved, refs: [] };
    if (head.ref.startsWith("refs/heads/")) return { commit: resolved, refs: headRefs(head, []) };
    const tags = await repo.tags();
    const commits = await mapWithLimit(tags, TAG_LOOKUPS_IN_FLIGHT, (t) => repo.tag(tagName(t)).commit());
    const atHead = tags.filter((_, i) => normalizeCommit(commits[i] ?? "") === resolved);
    return { commit: resolved, refs: headRefs(head, atHead) };
  }

  /** Paths changed since HEAD; undefined when the source has no .git to compare with. */
  private async changedPaths(): Promise<string[] | undefined> {
    try {
      const changes = this.source.asGit().uncommitted();
      if (await changes.isEmpty()) return [];
      const [added, modified, removed] = await Promise.all([
        changes.addedPaths(),
        changes.modifiedPaths(),
        changes.removedPaths(),
      ]);
      return [...modified, ...added, ...removed];
    } catch {
      return undefined;
    }
  }

  private copy(): Dockyard {
    return Object.assign(Object.create(Dockyard.prototype) as Dockyard, this);
  }
}

function gitInput(git: { commit: string; refs: string[] }): Pick<MetadataInput, "commit" | "ref" | "moreRefs"> {
  return { commit: git.commit, ref: git.refs[0], moreRefs: git.refs.slice(1) };
}

function toMetadata(m: ImageMetadata): Metadata {
  return Object.assign(new Metadata(), m);
}
