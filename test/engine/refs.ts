// Rung 3 (engine double): image references parsed the way Docker's distribution/reference does (the subset publish needs).

export interface ImageRef {
  /** Registry host, Docker Hub normalised to "docker.io"; host:port kept. */
  host: string;
  /** Repository path without host, e.g. "library/alpine" or "acme/app". */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** A first path component is a host when it has a dot, a port, or is localhost (Docker's rule). */
function looksLikeHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

/** Docker Hub answers to three names; credentials and refs treat them as one. */
export function normaliseHost(host: string): string {
  return DOCKER_HUB_ALIASES.has(host) ? "docker.io" : host;
}

/** Parses "host/repo:tag@digest"; throws Docker's "invalid reference format" errors. */
export function parseImageRef(address: string): ImageRef {
  let rest = address;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new Error(`invalid reference format: ${address}`);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasHost = slash >= 0 && looksLikeHost(first);
  const host = normaliseHost(hasHost ? first : "docker.io");
  let path = hasHost ? rest.slice(slash + 1) : rest;
  let tag: string | undefined;
  const colon = path.lastIndexOf(":");
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new Error(`invalid reference format: ${address}`);
  }
  if (path === "") throw new Error(`invalid reference format: ${address}`);
  if (path !== path.toLowerCase()) throw new Error("invalid reference format: repository name must be lowercase");
  if (!path.split("/").every((c) => COMPONENT_RE.test(c))) throw new Error(`invalid reference format: ${address}`);
  const repository = host === "docker.io" && !path.includes("/") ? `library/${path}` : path;
  return { host, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/**
 * The host an auth address names, as Dagger's parseAuthAddress (auth/registry.go:69-133) computes it: URL prefix,
 * digest and tag dropped; "localhost..." and "host:port" kept as given; a bare name or anything holding
 * "docker.io" is Docker Hub; otherwise the first component must hold a dot.
 */
export function authHost(address: string): string {
  let a = address
    .replace(/^http:\/\//, "")
    .replace(/^https:\/\//, "")
    .replace(/\/$/, "");
  a = a.split("@")[0] ?? "";
  if ((a.match(/:/g) ?? []).length > 1) a = a.slice(0, a.lastIndexOf(":"));
  if (a.includes(":") && a.slice(a.lastIndexOf(":")).includes(".")) a = a.slice(0, a.lastIndexOf(":"));
  const domain = a.split("/")[0] ?? "";
  const portStr = domain.slice(domain.lastIndexOf(":") + 1);
  const port = /^[+-]?\d+$/.test(portStr) ? Number(portStr) : 0; // strconv.Atoi: a sign, then digits; else 0
  if (domain.includes("localhost")) return domain;
  if (a.length >= 1 && domain.includes(":") && port > 0) return domain;
  if (a.length === 1 && !domain.includes(".")) return "docker.io";
  if (!a.includes(".") && !a.includes(":")) return "docker.io";
  if (a.includes("docker.io")) return "docker.io";
  if (domain.includes(".")) return domain;
  throw new Error(`failed parsing [${domain}], expected address format: [registrydomain.extension]`);
}

/** The host a credential is looked up under (auth/registry.go:154-170): Docker Hub's aliases are docker.io. */
export function credentialHost(host: string): string {
  return host === "registry-1.docker.io" || host === "index.docker.io" ? "docker.io" : host;
}

/** What Dagger's publish returns: the normalised name, its tag, then "@digest". */
export function formatPublished(ref: ImageRef, digest: string): string {
  return `${ref.host}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}@${digest}`;
}
