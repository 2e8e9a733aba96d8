import { InvalidInputError } from "./errors/index.js";

export interface ImageName {
  /** Registry host as Docker normalises it: `docker.io` for Docker Hub, a port kept (`localhost:5000`). */
  host: string;
  /** Path inside the registry: `acme/app`, `library/app`. */
  repository: string;
  /** `host/repository`, ready for `:tag`. */
  name: string;
}

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

// Docker's reference grammar (distribution/reference): path components and domain.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const MAX_NAME_LENGTH = 255;

/** The host credentials are looked up by: Docker Hub's three names are one, everything else as given (lowercase). */
export function registryHost(address: string): string {
  const host = address
    .trim()
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]
    ?.toLowerCase();
  if (!host) throw new InvalidInputError(`registry address "${address}": must name a host (try "ghcr.io")`);
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

function looksLikeHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

/**
 * Parses an image name the way Docker does: `app` is `docker.io/library/app`, `acme/app` is
 * `docker.io/acme/app`. Tags and digests are refused: dockyard chooses the tags.
 */
export function parseImageName(image: string): ImageName {
  const input = image.trim();
  const fail = (why: string): never => {
    throw new InvalidInputError(`image "${image}": ${why}`);
  };
  if (input === "") fail(`must not be empty (try "ghcr.io/acme/app")`);
  if (input.includes("@")) fail(`must not carry a digest (try "${input.split("@")[0]}"; dockyard adds tags itself)`);
  const parts = input.split("/");
  const last = parts[parts.length - 1] ?? "";
  if (last.includes(":")) {
    const bare = [...parts.slice(0, -1), last.split(":")[0]].join("/");
    fail(`must not carry a tag (try "${bare}" and pass the tag with --tags)`);
  }
  const first = parts[0] ?? "";
  const hasHost = parts.length > 1 && looksLikeHost(first);
  const rawHost = hasHost ? first : DOCKER_HUB;
  if (!DOMAIN.test(rawHost)) fail(`registry host "${rawHost}" is not a valid host name`);
  const host = registryHost(rawHost);
  let path = hasHost ? parts.slice(1) : parts;
  if (path.some((c) => /[A-Z]/.test(c))) {
    fail(`repository must be lowercase (try "${input.toLowerCase()}")`);
  }
  for (const component of path) {
    if (!PATH_COMPONENT.test(component)) {
      fail(
        `path component "${component}" is invalid: use lowercase letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (host === DOCKER_HUB && path.length === 1) path = ["library", ...path];
  const repository = path.join("/");
  const name = `${host}/${repository}`;
  if (name.length > MAX_NAME_LENGTH) fail(`name is longer than ${MAX_NAME_LENGTH} characters`);
  return { host, repository, name };
}

/** The last path component of the repository, the image's short title. */
export function imageTitle(image: ImageName): string {
  return image.repository.split("/").pop() ?? image.repository;
}
