/**
 * Image names (`--images`) and registry addresses (`--address` of with-registry-auth), by Docker's reference
 * grammar (distribution/reference v0.6.0, the version Dagger v0.21.8 uses) made strict: what Docker would take
 * but a push would then fail on, or push somewhere unintended, is refused before any engine call.
 */
import {
  ArgumentError,
  checkText,
  hasUserinfo,
  isDigest,
  maskUrlCredentials,
  refuse,
  refuseDuplicates,
  splitList,
  type Grammar,
} from "./argument.js";
import { hostProblem } from "./host.js";
import { credentialHostProblem } from "./address.js";
import { stripUserinfo } from "./url.js";

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

// distribution/reference: path components, and separators between their alphanumeric runs.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// distribution/reference v0.6.0 limits the path (without the host) to 255 characters.
const MAX_PATH_LENGTH = 255;
const EXAMPLE = '"ghcr.io/acme/app"';

/** Docker Hub's three host names are one: `docker.io`. */
export function foldHubHost(host: string): string {
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/**
 * A name without `/` that is plainly a registry host (`ghcr.io`, `localhost:5000`, `192.168.1.1`): localhost, an
 * IPv4 address or a DNS name ending in a letters-only top-level label. Docker reads any name without `/` as a
 * Docker Hub repository (`ubuntu-12.04-base` is `docker.io/library/ubuntu-12.04-base`); these it would push to
 * `docker.io/library/ghcr.io`, which no one means.
 */
function namesHostOnly(component: string): boolean {
  const lower = component.toLowerCase();
  const colon = lower.lastIndexOf(":");
  const name = colon >= 0 ? lower.slice(0, colon) : lower;
  if (colon >= 0 && !/^\d+$/.test(lower.slice(colon + 1))) return false;
  const plainlyHost = name === "localhost" || /^[\d.]+$/.test(name) || /\.[a-z]{2,63}$/.test(name);
  return plainlyHost && hostProblem(lower) === undefined;
}

/** Docker's test for "the first component is a host" (splitDockerDomain), lowercase or not. */
function looksLikeHost(component: string): boolean {
  return /[.:]/.test(component) || component === "localhost" || component !== component.toLowerCase();
}

/** A path component rewritten to fit the grammar (lowercase, one separator between alphanumeric runs). */
function fitComponent(c: string): string {
  return c
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/[._-]{2,}/g, (m) => (/^_+$/.test(m) ? "__" : /^-+$/.test(m) ? m : "-"))
    .replace(/^[._-]+|[._-]+$/g, "");
}

/** The first `@` of an image name, past a bracketed IPv6 host (`[fe80::1%@zone]` is a bad host, not a user). */
function atSign(value: string): number {
  return value.indexOf("@", value.startsWith("[") ? Math.max(0, value.indexOf("]")) : 0);
}

/** The `@` of a value before a `/` (or with none) that does not start a digest: what precedes it is a user. */
function userAt(value: string): number {
  const at = atSign(value);
  const slash = value.indexOf("/");
  return at >= 0 && (slash < 0 || at < slash) && !isDigest(value.slice(at + 1)) ? at : -1;
}

/**
 * An image name or address as an error shows it: URL credentials masked, and a user before the host
 * (`bot@ghcr.io`) too, since nothing but a user or token goes there; a digest (`redis@sha256:…`) stays.
 */
function maskImageUser(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? "";
  const at = userAt(value.slice(scheme.length));
  const masked = at < 0 ? value : `${scheme}***${value.slice(scheme.length + at)}`;
  return maskUrlCredentials(hasUserinfo(value) ? value : masked);
}

/**
 * Parses an image name the way Docker does (`app` is `docker.io/library/app`, `acme/app` is
 * `docker.io/acme/app`, a port stays part of the host), refusing what Docker accepts but dockyard must not
 * publish to: a tag or digest (dockyard chooses the tags), uppercase (also in the host: credentials are matched by
 * the host as written), whitespace, a scheme or credentials, a host without a repository, a Docker Hub path
 * deeper than `namespace/name`, an impossible host or port.
 */
export function parseImageName(value: string, flag = "--images"): ImageName {
  const g: Grammar = { flag, check: (s) => parseImageName(s, flag), show: maskImageUser };
  if (value === "") refuse(g, value, "must not be empty", undefined, `name the image, e.g. ${EXAMPLE}`);
  checkText(g, value, { spaceFix: (v) => v.replace(/\s+/g, "-") });
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) {
    refuse(
      g,
      value,
      `an image name has no scheme ("${scheme[1]}://")`,
      stripUserinfo(value).slice(scheme[0].length),
      "drop the scheme",
    );
  }
  const credentials = "credentials do not go in the image name (use --username and --password, or with-registry-auth)";
  // `user:TOKEN/x@ghcr.io/acme/app`: userinfo by the rule URL masking uses, wherever its `@` is.
  if (hasUserinfo(value)) refuse(g, value, credentials, stripUserinfo(value), "drop the user part");
  const user = userAt(value);
  if (user >= 0) refuse(g, value, credentials, value.slice(user + 1), "drop the user part");
  const at = atSign(value);
  if (at >= 0) {
    refuse(
      g,
      value,
      "must not carry a digest: dockyard pushes tags and reports the digest",
      value.slice(0, at),
      "drop the digest",
    );
  }
  const parts = value.split("/");
  const first = parts[0] ?? "";
  if (parts.length === 1 && namesHostOnly(value)) {
    refuse(
      g,
      value,
      "names a registry host but no repository",
      undefined,
      `add the repository path, e.g. "${value.toLowerCase()}/acme/app"`,
    );
  }
  const last = parts[parts.length - 1] ?? "";
  if (last.includes(":")) {
    const bare = [...parts.slice(0, -1), last.slice(0, last.indexOf(":"))].join("/");
    refuse(g, value, "must not carry a tag: pass tags with --tags", bare, "drop the tag");
  }
  const hasHost = parts.length > 1 && looksLikeHost(first);
  if (value !== value.toLowerCase()) {
    const where = hasHost && first !== first.toLowerCase() ? "registry host" : "repository";
    refuse(g, value, `${where} must be lowercase`, value.toLowerCase(), "write it in lowercase");
  }
  const rawHost = hasHost ? first : DOCKER_HUB;
  const problem = hostProblem(rawHost);
  if (problem) {
    refuse(
      g,
      value,
      problem.why,
      problem.fix === undefined ? undefined : [problem.fix, ...parts.slice(1)].join("/"),
      problem.hint,
    );
  }
  const host = foldHubHost(rawHost);
  const path = hasHost ? parts.slice(1) : parts;
  if (hasHost && path.every((c) => c === "")) {
    refuse(
      g,
      value,
      "names a registry host but no repository",
      undefined,
      `add the repository path, e.g. "${first}/acme/app"`,
    );
  }
  const badAt = path.findIndex((c) => !PATH_COMPONENT.test(c));
  if (badAt >= 0) {
    const bad = path[badAt] ?? "";
    const fixed = path.map(fitComponent).filter((c) => c !== "");
    const candidate = fixed.length > 0 ? [...(hasHost ? [first] : []), ...fixed].join("/") : undefined;
    const why =
      bad === ""
        ? 'has an empty path component (a leading, trailing or double "/")'
        : `path component "${bad}" is invalid: lowercase letters and digits, separated by ".", "_", "__" or "-"`;
    refuse(g, value, why, candidate, `e.g. ${EXAMPLE}`);
  }
  if (host === DOCKER_HUB && path.length > 2) {
    refuse(
      g,
      value,
      "Docker Hub repositories are <namespace>/<name>, with no deeper path",
      undefined,
      'e.g. "docker.io/acme/app"',
    );
  }
  if (!hasHost && path.length === 1 && /^[a-f0-9]{64}$/.test(value)) {
    refuse(
      g,
      value,
      "a 64-character hex string is an image ID, not a name (Docker refuses it)",
      undefined,
      `e.g. ${EXAMPLE}`,
    );
  }
  const repository = (host === DOCKER_HUB && path.length === 1 ? ["library", ...path] : path).join("/");
  if (repository.length > MAX_PATH_LENGTH) {
    refuse(g, value, `the repository path is longer than ${MAX_PATH_LENGTH} characters`, undefined, "shorten it");
  }
  return { host, repository, name: `${host}/${repository}` };
}

/** Parses every image name; refuses an empty list and the same image twice (once normalised). */
export function parseImageList(values: readonly string[], flag = "--images"): ImageName[] {
  const g: Grammar = { flag, check: (s) => parseImageList(s === "" ? [] : splitList(s), flag), list: true };
  if (values.length === 0) {
    refuse(g, "", "give at least one image name", undefined, `e.g. --images=${EXAMPLE.slice(1, -1)}`);
  }
  const images = values.map((v) => parseImageName(v, flag));
  refuseDuplicates(
    g,
    values,
    (_v, i) => images[i]?.name,
    (a, b, name) => `"${a}" and "${b}" are the same image (${name ?? ""})`,
  );
  return images;
}

/**
 * The registry host of `--address` (with-registry-auth): a host (`ghcr.io`, `localhost:5000`, `127.0.0.1:5000`),
 * or an image name without tag or digest whose host is taken (`ghcr.io/acme/app`, `acme/app` is Docker Hub).
 * Like Dagger and `docker login`, a leading `https://` and one trailing `/` are dropped
 * (`https://index.docker.io/v1/` is Docker Hub); any other scheme, credentials, whitespace and a bare word that
 * is no host are refused. Docker Hub's names fold to `docker.io`. A host Dagger would file the credential under
 * another name (an IPv6 address; a host containing "docker.io") is refused.
 */
export function parseRegistryAddress(value: string, flag = "--address"): string {
  const g: Grammar = { flag, check: (s) => parseRegistryAddress(s, flag), show: maskImageUser };
  if (value === "") refuse(g, value, "must not be empty", undefined, 'give the registry host, e.g. "ghcr.io"');
  checkText(g, value);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme && scheme[0].toLowerCase() !== "https://") {
    refuse(
      g,
      value,
      `scheme "${scheme[1]}://" is not https:// (a credential is filed by host alone)`,
      value.slice(scheme[0].length),
      "drop the scheme",
    );
  }
  const rest = scheme ? value.slice(scheme[0].length) : value;
  const credentials = "credentials do not go in the address (use --username and --password)";
  if (hasUserinfo(value)) refuse(g, value, credentials, stripUserinfo(rest), "drop the user part");
  const user = userAt(rest);
  if (user >= 0) refuse(g, value, credentials, rest.slice(user + 1), "drop the user part");
  const at = atSign(rest);
  if (at >= 0 && !rest.slice(0, at).includes("/")) {
    refuse(g, value, "must not carry a digest: an address is a registry host", rest.slice(0, at), "drop the digest");
  }
  const address = rest.endsWith("/") ? rest.slice(0, -1) : rest;
  if (!address.includes("/")) return hostOf(g, value, address);
  try {
    const image = parseImageName(address, flag);
    return checkCredentialHost(g, value, image.host);
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    return refuse(g, value, e.why, e.fix, e.hint ?? "");
  }
}

function hostOf(g: Grammar, value: string, address: string): string {
  if (address.includes(":") && !/:\d*$/.test(address.replace(/^\[[^\]]*\]/, ""))) {
    refuse(g, value, "must not carry a tag", address.slice(0, address.lastIndexOf(":")), "drop the tag");
  }
  if (!looksLikeHost(address)) {
    refuse(
      g,
      value,
      `"${address}" is not a registry host (a host holds a "." or a ":port", or is localhost)`,
      DOCKER_HUB,
      'e.g. "ghcr.io"',
    );
  }
  const problem = hostProblem(address);
  if (problem) refuse(g, value, problem.why, problem.fix, problem.hint);
  return checkCredentialHost(g, value, foldHubHost(address));
}

function checkCredentialHost(g: Grammar, value: string, host: string): string {
  const problem = credentialHostProblem(host);
  if (problem) {
    const fix = host.startsWith("[::1]") ? host.replace("[::1]", "localhost") : undefined;
    refuse(g, value, problem, fix, "use a host name for this registry");
  }
  return host;
}

/** The host credentials are looked up by; kept for callers of the old name. */
export function registryHost(address: string): string {
  return parseRegistryAddress(address);
}

/** The last path component of the repository, the image's short title. */
export function imageTitle(image: ImageName): string {
  return image.repository.split("/").pop() ?? image.repository;
}
