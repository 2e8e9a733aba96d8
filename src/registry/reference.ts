/**
 * What a registry request names, checked before any request: the host (as image references write it), a
 * repository (distribution's path grammar), a tag, a digest. Also where the API lives: Docker Hub's `docker.io`
 * is served by registry-1.docker.io, and plain http is used only when the caller asks for it.
 */
import { InvalidInputError } from "../errors/index.js";
import { isIPv4 } from "node:net";

import { hostProblem, splitPort } from "../input/host.js";
import { isDigestText } from "./digest.js";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;

/** The registry API's base URL for `host`, e.g. `https://ghcr.io`. */
export function registryBaseUrl(host: string, plainHttp = false): string {
  const problem = hostProblem(host);
  if (problem) throw new InvalidInputError(`registry host "${host}": ${problem.why} (${problem.fix ?? problem.hint})`);
  const apiHost = host === "docker.io" || host === "index.docker.io" ? "registry-1.docker.io" : host;
  return `${plainHttp ? "http" : "https"}://${apiHost}`;
}

/**
 * True for localhost and loopback addresses, which Dagger's engine reaches over plain http as containerd's
 * `docker.MatchLocalhost` decides (engine/server/registryhosts.go:73, 85-90 at v0.21.8); from the module, such a
 * host is the module's own container.
 */
export function isLoopbackHost(host: string): boolean {
  const { name } = splitPort(host);
  return name === "localhost" || name === "[::1]" || (isIPv4(name) && name.startsWith("127."));
}

export function checkRepository(repository: string): string {
  const parts = repository.split("/");
  if (repository.length > 255 || !parts.every((p) => PATH_COMPONENT.test(p))) {
    throw new InvalidInputError(
      `repository "${repository}": not a repository name (lowercase letters and digits, separated by ".", "_", "__", "-" or "/", up to 255 characters, e.g. "acme/app")`,
    );
  }
  return repository;
}

export function checkTag(tag: string): string {
  if (!TAG.test(tag)) {
    throw new InvalidInputError(
      `tag "${tag}": not a tag (letters, digits, "_", "." and "-", not starting with "." or "-", up to 128 characters)`,
    );
  }
  return tag;
}

/** A manifest reference: a tag, or a digest (`sha256:<64 hex>`, `sha512:<128 hex>`). */
export function checkManifestRef(ref: string): string {
  return ref.includes(":") ? checkDigest(ref) : checkTag(ref);
}

export function checkDigest(digest: string): string {
  if (!isDigestText(digest)) {
    throw new InvalidInputError(
      `digest "${digest}": not a digest (sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)`,
    );
  }
  return digest;
}
