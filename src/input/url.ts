/**
 * `--source-url` and every other URL dockyard writes into an image: an http(s) URL without credentials. An image's
 * labels are public to anyone who can pull it, so a URL carrying a token (GitLab's $CI_REPOSITORY_URL is
 * `https://gitlab-ci-token:<token>@host/group/project.git`) is refused, shown masked, with the clean URL as the fix.
 */
import { checkText, hasUserinfo, isSecretParam, refuse, rewriteUserinfo, type Grammar } from "./argument.js";

export { maskUrlCredentials } from "./argument.js";

const HINT = 'e.g. "https://github.com/acme/app", in GitHub Actions "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY"';

/** `value` without the userinfo (`user:pass@`) of any URL in it, as written otherwise (see `rewriteUserinfo`). */
export function stripUserinfo(value: string): string {
  return rewriteUserinfo(value, (scheme) => scheme);
}

/** `value` without query parameters that carry credentials, as written otherwise. */
export function stripSecretParams(value: string): string {
  const q = value.indexOf("?");
  if (q < 0) return value;
  const hash = value.indexOf("#", q);
  const end = hash < 0 ? value.length : hash;
  const kept = value
    .slice(q + 1, end)
    .split("&")
    .filter((p) => p !== "" && !isSecretParam(p.split("=")[0] ?? ""));
  return `${value.slice(0, q)}${kept.length ? `?${kept.join("&")}` : ""}${value.slice(end)}`;
}

/** Where a URL holds credentials, or undefined: userinfo (masking's rule), or a query parameter named like a token. */
export function urlCredentials(value: string): string | undefined {
  if (hasUserinfo(value)) return "holds credentials (user info before the host)";
  const q = value.indexOf("?");
  if (q >= 0) {
    const names = value
      .slice(q + 1)
      .split("#")[0]
      ?.split("&")
      .map((p) => p.split("=")[0] ?? "");
    const secret = names?.find(isSecretParam);
    if (secret !== undefined) return `holds a credential in its query ("${secret}")`;
  }
  return undefined;
}

/**
 * An http(s) URL with a host and no credentials, kept as given. Refused with a fix: credentials (masked),
 * scp-style and ssh/git URLs (`git@github.com:acme/app.git` is `https://github.com/acme/app.git`), spaces.
 */
export function parseSourceUrl(value: string, flag = "--source-url"): string {
  const g: Grammar = { flag, check: (s) => parseSourceUrl(s, flag) };
  if (value === "") refuse(g, value, "must not be empty", undefined, `${HINT}; leave ${flag} out for no source label`);
  checkText(g, value, { spaceFix: (v) => v.replace(/\s/g, "%20") });
  const scp = /^(?:[^@/\s]+@)?([a-z0-9.-]+\.[a-z]{2,}):(?!\/\/)(?!\d+(?:\/|$))(.+)$/i.exec(value);
  if (scp) {
    refuse(
      g,
      value,
      "is an ssh (scp-style) remote, not an http(s) URL",
      `https://${scp[1]}/${(scp[2] ?? "").replace(/^\/+/, "")}`,
      HINT,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  // `ci:TOKEN@gitlab.example/acme/app`: say it holds credentials before that it lacks a scheme.
  const bareCredentials = scheme === undefined ? urlCredentials(value) : undefined;
  if (bareCredentials) {
    refuse(g, value, `${bareCredentials}: image labels are public`, `https://${stripUserinfo(value)}`, HINT);
  }
  if (scheme === undefined) {
    refuse(
      g,
      value,
      "is not a URL (it needs https://)",
      /^[a-z0-9.-]+\.[a-z]{2,}\//i.test(value) ? `https://${value}` : undefined,
      HINT,
    );
  }
  const lower = scheme.toLowerCase();
  if (lower !== "http" && lower !== "https") {
    const rest = stripUserinfo(value).slice(scheme.length + 3);
    const ssh = lower === "ssh" || lower === "git" || lower === "git+ssh";
    const candidate = ssh ? `https://${rest.replace(/^([^/:]+):\d+\//, "$1/")}` : undefined;
    refuse(g, value, `scheme "${scheme}" is not http or https`, candidate, HINT);
  }
  const credentials = urlCredentials(value);
  if (credentials) {
    refuse(g, value, `${credentials}: image labels are public`, stripSecretParams(stripUserinfo(value)), HINT);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/(?:[/?#]|$)/i.test(value)) refuse(g, value, "has no host", undefined, HINT);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse(g, value, "is not a valid URL", undefined, HINT);
  }
  if (url.hostname === "") refuse(g, value, "has no host", undefined, HINT);
  return value;
}
