/** Registry credentials' plain parts: the user name, and which hosts Dagger can hold credentials for. */
import { checkText, refuse, type Grammar } from "./argument.js";

/**
 * The host Dagger files a credential under for `address`: a port of auth/registry.go `parseAuthAddress`
 * (dagger v0.21.8, lines 69-133), so dockyard can refuse a host Dagger would file under another name.
 * Undefined where Dagger returns an error.
 */
export function daggerAuthHost(address: string): string | undefined {
  let a = address.replace(/^http:\/\//, "").replace(/^https:\/\//, "");
  if (a.endsWith("/")) a = a.slice(0, -1);
  a = a.split("@")[0] ?? "";
  if ((a.match(/:/g) ?? []).length > 1) a = a.slice(0, a.lastIndexOf(":"));
  if (a.includes(":") && a.slice(a.lastIndexOf(":")).includes(".")) a = a.slice(0, a.lastIndexOf(":"));
  const domain = a.split("/")[0] ?? "";
  const portText = domain.slice(domain.lastIndexOf(":") + 1);
  // Go's strconv.Atoi: an optional sign, then digits only.
  const port = /^[+-]?\d+$/.test(portText) ? Number(portText) : 0;
  if (domain.includes("localhost")) return domain;
  if (a.length >= 1 && domain.includes(":") && port > 0) return domain;
  if (a.length === 1 && !domain.includes(".")) return "docker.io";
  if (!a.includes(".") && !a.includes(":")) return "docker.io";
  if (a.includes("docker.io")) return "docker.io";
  if (domain.includes(".")) return domain;
  return undefined;
}

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/**
 * Why Dagger's `withRegistryAuth` cannot hold a credential for `host` (already a valid, folded host), or
 * undefined when it can. Dagger keys credentials by its own reading of the address, and a push looks its host up
 * by exact match: where the two differ, the credential is never used (or lands on Docker Hub's).
 */
export function credentialHostProblem(host: string): string | undefined {
  const filed = daggerAuthHost(host);
  const folded = HUB_ALIASES.has(host) ? "docker.io" : host;
  if (filed === folded) return undefined;
  if (host.startsWith("[")) return "Dagger's withRegistryAuth cannot hold credentials for an IPv6 address";
  if (filed === "docker.io") return `Dagger files credentials for any host containing "docker.io" under Docker Hub`;
  return `Dagger would file its credentials under "${filed ?? "nothing"}", not "${host}"`;
}

function maskAfterColon(value: string): string {
  const colon = value.indexOf(":");
  return colon < 0 ? value : `${value.slice(0, colon)}:***`;
}

/**
 * A registry user name for HTTP Basic auth: not empty, no whitespace or control characters, no `:` (Basic auth
 * joins user and password with the first `:`). Anything else is kept as given: `dependabot[bot]`,
 * `gitlab-ci-token`, `AWS`, `robot$acme+ci`, `00000000-0000-0000-0000-000000000000`. A value holding `:` is shown
 * with what follows it masked, since that is likely a password.
 */
export function parseUsername(value: string, flag = "--username"): string {
  const g: Grammar = { flag, check: (s) => parseUsername(s, flag), show: maskAfterColon };
  if (value === "") {
    refuse(
      g,
      value,
      "must not be empty",
      undefined,
      'give the registry account, e.g. "$GITHUB_ACTOR" or "gitlab-ci-token"',
    );
  }
  checkText(g, value, { spaceFix: (v) => v.replace(/\s+/g, "-") });
  if (value.includes(":")) {
    refuse(
      g,
      value,
      'holds ":", which Basic auth cannot carry in a user name (it separates user and password)',
      value.slice(0, value.indexOf(":")),
      "give the user name alone; the password goes in --password",
    );
  }
  return value;
}
