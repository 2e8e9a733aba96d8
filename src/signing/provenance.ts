/**
 * The SLSA Provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance) for one dockyard build: what was built
 * from which commit, with which Dockerfile, stage, build arguments and platforms, by which builder and when.
 */
import { InvalidInputError } from "../errors/index.js";
import { ArgumentError } from "../input/argument.js";
import { parseCreated } from "../input/timestamp.js";

/** Our buildType: how to read externalParameters and internalParameters below (src/signing/README.md). */
export const DOCKYARD_BUILD_TYPE = "https://github.com/dockyard-dev/dockyard/build/v1";
/** runDetails.builder.id when no caller names one: the module itself (the CI identity is the certificate's SAN). */
export const DOCKYARD_BUILDER_ID = "https://github.com/dockyard-dev/dockyard";

export interface ProvenanceInput {
  /** runDetails.builder.id: a URI naming the platform that ran the build, e.g. the CI run's workflow URL. */
  builderId: string;
  /** The full commit built: 40 hex (SHA-1) or 64 hex (SHA-256). */
  commit: string;
  /** The full git ref, e.g. "refs/heads/main"; omitted when unknown. */
  ref?: string;
  /** The repository's http(s) URL, e.g. "https://github.com/acme/app"; omitted when unknown. */
  sourceUrl?: string;
  /** The Dockerfile path, relative to the build context; omitted (with target, buildArgs, buildSecretIds) for containers built elsewhere. */
  dockerfile?: string;
  /** The build stage stopped at; omitted for the last stage. */
  target?: string;
  /** Build arguments as given to the build; never a secret (a secret is a build secret, named in buildSecretIds). */
  buildArgs?: readonly { name: string; value: string }[];
  /** The ids of the build secrets the Dockerfile could mount: recorded as names, their values are never seen here. */
  buildSecretIds?: readonly string[];
  /** The platforms built, e.g. "linux/amd64". */
  platforms: readonly string[];
  /** The image names pushed, without tag, e.g. "ghcr.io/acme/app". */
  images: readonly string[];
  /** The tags written to each image. */
  tags: readonly string[];
  /** internalParameters.engineVersion: the Dagger engine's version, e.g. "v0.21.9". */
  engineVersion: string;
  /** runDetails.metadata.invocationId, e.g. the CI run's URL or id; omitted when unknown. */
  invocationId?: string;
  /** RFC 3339 times, e.g. "2026-01-31T12:00:00Z"; omitted when unknown. */
  startedOn?: string;
  finishedOn?: string;
}

const HEX_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// What parseCreated says of a date-time written right that names no moment (a day, hour or offset out of range).
const NO_SUCH_TIME = /does not exist|has no day|leap second/;
const TIME_HINT = 'e.g. "2026-01-31T12:00:00Z" (date +%Y-%m-%dT%H:%M:%SZ -u)';

const refuse = (field: string, value: string, why: string, fix: string): never => {
  throw new InvalidInputError(`provenance ${field} ${JSON.stringify(value)}: ${why}; ${fix}`);
};

function text(field: string, value: string, fix: string): string {
  if (value === "") refuse(field, value, "must not be empty", fix);
  if (value !== value.trim()) refuse(field, value, "has leading or trailing whitespace", "remove it");
  return value;
}

function uri(field: string, value: string, fix: string): string {
  text(field, value, fix);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value) || !URL.canParse(value)) refuse(field, value, "is not a URI", fix);
  return value;
}

function time(field: string, value: string): number {
  text(field, value, TIME_HINT);
  try {
    parseCreated(value, field);
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    const why = NO_SUCH_TIME.test(e.why)
      ? "is not a date-time that exists"
      : "is not an RFC 3339 date-time with a zone";
    refuse(field, value, why, TIME_HINT);
  }
  return Date.parse(value);
}

function names(field: string, values: readonly string[], fix: string): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    text(field, value, fix);
    if (seen.has(value)) refuse(field, value, "is given twice", "name each once");
    seen.add(value);
  }
  return [...values];
}

/** Every field checked (InvalidInputError names the field and the fix), then the predicate with a fixed key order. */
export function provenancePredicate(input: ProvenanceInput): Record<string, unknown> {
  const builderId = uri("builderId", input.builderId, 'e.g. "https://github.com/acme/app/actions/runs/1"');
  const commit = text("commit", input.commit, "pass the full commit id, e.g. $(git rev-parse HEAD)");
  if (!HEX_COMMIT.test(commit))
    refuse("commit", commit, "is not 40 or 64 lowercase hex digits", "pass the full commit id: $(git rev-parse HEAD)");
  const ref = input.ref === undefined ? undefined : text("ref", input.ref, "leave it out when unknown");
  if (ref !== undefined && (!ref.startsWith("refs/") || /\s/.test(ref)))
    refuse("ref", ref, "is not a full git ref", 'e.g. "refs/heads/main" or "refs/tags/v1.2.3"');
  const fixUrl = 'e.g. "https://github.com/acme/app"; leave it out when unknown';
  const sourceUrl = input.sourceUrl === undefined ? undefined : uri("sourceUrl", input.sourceUrl, fixUrl);
  if (sourceUrl !== undefined) {
    const url = new URL(sourceUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") refuse("sourceUrl", sourceUrl, "is not http(s)", fixUrl);
    // A token in the URL would be published in the attestation: refuse it without echoing it.
    if (url.username !== "" || url.password !== "")
      throw new InvalidInputError(
        `provenance sourceUrl: holds credentials, which the attestation would publish; ${fixUrl}`,
      );
  }
  const dockerfile =
    input.dockerfile === undefined ? undefined : text("dockerfile", input.dockerfile, 'e.g. "Dockerfile"');
  const target =
    input.target === undefined ? undefined : text("target", input.target, "leave it out for the last stage");
  const buildSecretIds =
    input.buildSecretIds && names("buildSecretIds", input.buildSecretIds, "name each build secret by its id").sort();
  const argNames = names(
    "buildArgs",
    (input.buildArgs ?? []).map((a) => a.name),
    "name each build argument once",
  );
  for (const name of argNames) {
    // Only the name is quoted: a value passed here by mistake must not reach the error either.
    if (buildSecretIds?.includes(name))
      throw new InvalidInputError(
        `provenance buildArgs "${name}": is also a build secret id; pass it as a build secret only, never as a build argument`,
      );
  }
  const platforms = names("platforms", input.platforms, 'e.g. "linux/amd64"');
  if (platforms.length === 0)
    throw new InvalidInputError('provenance platforms: none given; pass the platforms built, e.g. "linux/amd64"');
  const images = names("images", input.images, 'e.g. "ghcr.io/acme/app"');
  if (images.length === 0)
    throw new InvalidInputError('provenance images: none given; pass the images pushed, e.g. "ghcr.io/acme/app"');
  const tags = names("tags", input.tags, "leave empty tags out");
  const engineVersion = text("engineVersion", input.engineVersion, 'e.g. "v0.21.9"');
  const invocationId =
    input.invocationId === undefined
      ? undefined
      : text("invocationId", input.invocationId, "leave it out when unknown");
  const started = input.startedOn === undefined ? undefined : time("startedOn", input.startedOn);
  const finished = input.finishedOn === undefined ? undefined : time("finishedOn", input.finishedOn);
  if (started !== undefined && finished !== undefined && finished < started)
    refuse(
      "finishedOn",
      input.finishedOn ?? "",
      `is before startedOn ${input.startedOn ?? ""}`,
      "pass the times in order",
    );

  const buildArgs =
    input.buildArgs &&
    Object.fromEntries(
      [...input.buildArgs]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((a) => [a.name, a.value]),
    );
  const metadata = {
    ...(invocationId !== undefined ? { invocationId } : {}),
    ...(input.startedOn !== undefined ? { startedOn: input.startedOn } : {}),
    ...(input.finishedOn !== undefined ? { finishedOn: input.finishedOn } : {}),
  };
  return {
    buildDefinition: {
      buildType: DOCKYARD_BUILD_TYPE,
      externalParameters: {
        ...(sourceUrl !== undefined ? { source: sourceUrl } : {}),
        ...(ref !== undefined ? { ref } : {}),
        commit,
        ...(dockerfile !== undefined ? { dockerfile } : {}),
        ...(target !== undefined ? { target } : {}),
        ...(buildArgs !== undefined ? { buildArgs } : {}),
        ...(buildSecretIds !== undefined ? { buildSecretIds } : {}),
        platforms,
        images,
        tags,
      },
      internalParameters: { engineVersion },
      resolvedDependencies: [
        {
          ...(sourceUrl !== undefined ? { uri: `git+${sourceUrl}${ref !== undefined ? `@${ref}` : ""}` } : {}),
          digest: { gitCommit: commit },
        },
      ],
    },
    runDetails: {
      builder: { id: builderId },
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    },
  };
}
