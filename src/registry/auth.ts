/**
 * Registry authentication: the `WWW-Authenticate` challenge (RFC 7235 §2.1, quoted strings with commas and
 * escapes, several challenges in one header), Basic credentials (ECR, htpasswd registries), and the Bearer
 * token flow Docker Hub, GHCR, GitLab and ACR use (GET the realm with service and scopes, Basic credentials or
 * anonymous; `token` or `access_token` in the answer), each token cached per scope for its `expires_in`.
 * Credentials are plain values here; they go only into an Authorization header, never into a message.
 */
export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  /** Lowercase: "bearer", "basic". */
  scheme: string;
  /** Parameter names lowercase, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const PARAM_START = /[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*/y;
const QUOTED = /"((?:[^"\\]|\\.)*)"/y;
const SEPARATORS = /[ \t,]*/y;

function match(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** Every challenge in a `WWW-Authenticate` value; [] when there is none that parses. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let at = 0;
  while (at < header.length) {
    at = match(SEPARATORS, header, at)?.[0] !== undefined ? SEPARATORS.lastIndex : at;
    const scheme = match(TOKEN, header, at);
    if (!scheme) break;
    at = TOKEN.lastIndex;
    const params: Record<string, string> = {};
    for (;;) {
      const param = match(PARAM_START, header, at);
      if (!param?.[1]) break;
      at = PARAM_START.lastIndex;
      const quoted = match(QUOTED, header, at);
      const value = quoted ? quoted[1]!.replace(/\\(.)/g, "$1") : match(TOKEN, header, at)?.[0];
      if (value === undefined) break;
      at = quoted ? QUOTED.lastIndex : TOKEN.lastIndex;
      params[param[1].toLowerCase()] = value;
      const sep = match(/[ \t]*,[ \t]*/y, header, at);
      if (!sep) break;
      at += sep[0].length;
    }
    out.push({ scheme: scheme[0].toLowerCase(), params });
  }
  return out;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/** The token endpoint's URL for a challenge: realm plus service and each space-separated scope as its own `scope`. */
export function tokenUrl(challenge: Challenge, fallbackScope: string): string {
  const realm = challenge.params.realm ?? "";
  if (!/^https?:\/\//.test(realm))
    throw new Error(`registry sent a Bearer challenge whose realm is not an http(s) URL`);
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.append("service", challenge.params.service);
  for (const scope of (challenge.params.scope ?? fallbackScope).split(" ").filter(Boolean))
    url.searchParams.append("scope", scope);
  return url.toString();
}

/** The token in a token endpoint's answer and how long it lasts (the token spec's default: 60 s). */
export function parseTokenAnswer(body: string): { token: string; expiresInS: number } {
  let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    throw new Error("the token endpoint's answer is not JSON");
  }
  const token = typeof answer.token === "string" && answer.token ? answer.token : answer.access_token;
  if (typeof token !== "string" || token === "") throw new Error("the token endpoint's answer holds no token");
  const expiresInS = typeof answer.expires_in === "number" && answer.expires_in > 0 ? answer.expires_in : 60;
  return { token, expiresInS };
}

/** Tokens by scope, dropped a little before they expire so a request never carries a just-expired one. */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; until: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** The token for `scope`; a repository's pull,push token also serves its pulls (it was granted both). */
  get(scope: string): string | undefined {
    const entry = this.tokens.get(scope) ?? (scope.endsWith(":pull") ? this.tokens.get(`${scope},push`) : undefined);
    return entry && entry.until > this.now() ? entry.token : undefined;
  }

  set(scope: string, token: string, expiresInS: number): void {
    this.tokens.set(scope, { token, until: this.now() + Math.max(expiresInS - 5, expiresInS / 2) * 1000 });
  }
}
