// Rung 3 (engine double): builds with the real Docker engine (BuildKit) and pushes to a real registry with our own
// client that follows containerd v2.2.3's pusher, as Dagger v0.21.8's publish does (test/engine/CONFORMANCE.md).
//
// Push path in Dagger v0.21.8: core/container.go Publish -> engine/engineutil/containerimage.go:162-199 ->
// engine/engineutil/imageexport/publish.go:58-107 -> engine/server/resolver/resolver.go:577-661 (PushImage) ->
// containerd v2.2.3 core/remotes/docker/pusher.go. Nothing on that path adds a prefix, reads Retry-After or backs off.
// Error texts (containerd v2.2.3):
// - core/remotes/errors/errors.go:42-44 `unexpected status from <METHOD> request to <URL>: <resp.Status>`, joined
//   (core/remotes/docker/errcode.go:289-305) with the registry's JSON errors, one `<code>: <message>` per line;
// - core/remotes/docker/resolver.go:643-646 `failed to do request: <Go url.Error>` (`Put "<url>": EOF`, ...);
// - core/remotes/docker/pusher.go:199-204 `push access denied, repository does not exist or may require authorization: `
//   + authorizer.go:201-202 `authorization failed: no basic auth credentials`;
// - core/content/helpers.go:205-211 `failed commit on ref "<kind>-sha256:...": ...` around every PUT's outcome,
//   including pusher.go:533-541 `got digest <header>, expected <digest>`.
// Re-sends (resolver.go:716-773): 401 after a Basic or Bearer challenge, 408 and 429 until 6 responses, 500/503/504
// again unless the previous response had the same status, a 405 HEAD on a manifest as a GET; never 502, 403, 404 or
// a network error. No waiting between them.
// Bearer (CONFORMANCE R30): containerd's dockerAuthorizer (core/remotes/docker/authorizer.go) with the token fetch of
// core/remotes/docker/auth/fetch.go, one authorizer per push as Dagger's PushImage makes one (resolver.go:603-605,
// 1078-1092 at v0.21.8).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import {
  annotationsField,
  type Backend,
  type BuildRequest,
  type BuiltImage,
  type ExecRequest,
  type ExecResult,
  type PushRequest,
  type PushVariant,
  type RegistryCredential,
} from "./backend.js";
import { withoutSyntaxDirective } from "./directory.js";
import { DOCKER, hostArch, mustRun, run } from "../infra/docker.js";

const MT = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** containerd's ref key prefix for a descriptor (core/remotes/handlers.go:61-91). */
type BlobKind = "layer" | "config" | "manifest" | "index";

/** `docker image inspect` format of an image's platform, "os/arch[/variant]". */
const PLATFORM_FORMAT = "{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}";

interface Blob {
  kind: BlobKind;
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface ParsedRef {
  host: string;
  repo: string;
  tag: string;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const blobOf = (kind: BlobKind, mediaType: string, bytes: Buffer): Blob => ({
  kind,
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

/** "host[:port]/path/name[:tag]" -> parts; the tag defaults to "latest" as Docker does. */
export function parseReference(address: string): ParsedRef {
  const slash = address.indexOf("/");
  if (slash < 0) throw new Error(`invalid reference ${JSON.stringify(address)}: no registry host`);
  const host = address.slice(0, slash);
  const rest = address.slice(slash + 1);
  if (rest.includes("@"))
    throw new Error(`invalid reference ${JSON.stringify(address)}: digest references are not supported by the double`);
  const colon = rest.lastIndexOf(":");
  return colon > rest.lastIndexOf("/") && colon >= 0
    ? { host, repo: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { host, repo: rest, tag: "latest" };
}

/** Splits "os/arch[/variant]". */
function platformParts(platform: string): { os: string; architecture: string; variant?: string } {
  const [osName = "linux", architecture = hostArch(), variant] = platform.split("/");
  return variant ? { os: osName, architecture, variant } : { os: osName, architecture };
}

/** Replaces secret plaintexts (and their trimmed form) in text, as Dagger does in command output. */
function scrub(text: string, secrets: { plaintext: string }[]): string {
  let out = text;
  for (const s of secrets) {
    for (const v of new Set([s.plaintext, s.plaintext.trim()])) if (v.length > 0) out = out.split(v).join("***");
  }
  return out;
}

/** BuildKit prints the failure last (`executor failed running [...]: exit code: 3`, `failed to solve with frontend ...`). */
function buildFailure(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? "docker build failed without output";
}

/**
 * Docker 20.10's built-in Dockerfile frontend does not expand the automatic TARGET* args in the global scope
 * (`ARG TARGETARCH` + `FROM img-${TARGETARCH}` resolves to `img-`); current BuildKit does. Passing them as
 * build args gives the current behaviour, so multi-platform fixtures can pick a per-arch local base image.
 */
function platformArgs(platform: string, given: { name: string }[]): string[] {
  const p = platformParts(platform);
  const auto: Record<string, string> = { TARGETPLATFORM: platform, TARGETOS: p.os, TARGETARCH: p.architecture };
  if (p.variant) auto.TARGETVARIANT = p.variant;
  const names = new Set(given.map((a) => a.name));
  return Object.entries(auto)
    .filter(([k]) => !names.has(k))
    .flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
}

/** Reads an image out of `docker save`: its config bytes and uncompressed layer tars, in order. */
async function savedImage(image: string): Promise<{ config: Buffer; layers: Buffer[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-save-"));
  try {
    await mustRun(DOCKER, ["save", "-o", path.join(dir, "image.tar"), image]);
    await mustRun("tar", ["-xf", path.join(dir, "image.tar"), "-C", dir]);
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
      Config: string;
      Layers: string[];
    }[];
    const entry = manifest[0];
    if (!entry) throw new Error(`docker save ${image}: empty manifest.json`);
    const config = await readFile(path.join(dir, entry.Config));
    const layers: Buffer[] = [];
    for (const l of entry.Layers) layers.push(await readFile(path.join(dir, l)));
    return { config, layers };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface DockerConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: { Labels?: Record<string, string> | null; [k: string]: unknown } | null;
  rootfs?: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean }[];
}

/** JSON with sorted keys at the top, as Go marshals the map patchImageConfig builds. */
function sortedJson(obj: Record<string, unknown>): Buffer {
  const sorted = Object.fromEntries(
    Object.entries(obj)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return Buffer.from(JSON.stringify(sorted));
}

/**
 * The image config as Dagger's publish writes it (engine/engineutil/containerimage.go:46-61,
 * imageexport/writer.go:224-245, 449-622): platform, the container's runtime config (labels merged), rootfs, and
 * a history rebuilt with one entry per layer stamped with the layer snapshot's creation time; `created` is the
 * last of those. No SOURCE_DATE_EPOCH: CommitOpts carries no Epoch. Docker's per-step times stand in for the
 * snapshots' creation times; its created_by strings stand in for the snapshots' descriptions.
 */
function daggerConfig(raw: Buffer, labels: Record<string, string>): Buffer {
  const d = JSON.parse(raw.toString("utf8")) as DockerConfig;
  const runtime = { ...(d.config ?? {}) };
  if (Object.keys(labels).length > 0) runtime.Labels = { ...(runtime.Labels ?? {}), ...labels };
  const layerSteps = (d.history ?? []).filter((h) => h.empty_layer !== true);
  const diffIds = d.rootfs?.diff_ids ?? [];
  const history = diffIds.map((_, i) => ({
    created: layerSteps[i]?.created ?? d.created,
    created_by: layerSteps[i]?.created_by ?? "created by buildkit",
    comment: "buildkit.exporter.image.v0",
  }));
  return sortedJson({
    architecture: d.architecture,
    config: runtime,
    created: history.at(-1)?.created ?? null,
    history,
    os: d.os,
    rootfs: { type: "layers", diff_ids: diffIds },
    variant: d.variant || undefined,
  });
}

/** A push failure carrying the HTTP status when there was one. */
export class PushError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "PushError";
  }
}

/** containerd's ErrInvalidAuthorization (resolver.go:50): a push goes on without the existence check. */
class InvalidAuthorization extends PushError {}

/** Go's url.Error Op: the method with only its first letter upper-case. */
const goMethod = (m: string) => m.charAt(0) + m.slice(1).toLowerCase();

interface RegistryResponse {
  method: string;
  url: string;
  status: number;
  /** resp.Status in Go: the code and the reason phrase exactly as the registry sent them. */
  statusLine: string;
  headers: http.IncomingHttpHeaders;
  /** Each WWW-Authenticate header as sent (Node joins repeated headers in `headers`; Go keeps them apart). */
  authenticate: string[];
  body: Buffer;
}

interface RegistryRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** false once the upload location moved to another host: containerd drops the authorizer (pusher.go:251-261). */
  authorize: boolean;
}

/** Node's socket errors rendered as Go's url.Error from http.Client.Do: `<Op> "<url>": <net error>`. */
function goClientError(method: string, url: string, err: NodeJS.ErrnoException, local?: string): string {
  const u = new URL(url);
  let tail: string;
  if (err.code === "ECONNREFUSED") tail = `dial tcp ${u.host}: connect: connection refused`;
  else if (err.message === "socket hang up") tail = "EOF";
  else if (err.code === "ECONNRESET")
    tail = `read tcp ${local ?? "127.0.0.1:0"}->${u.host}: read: connection reset by peer`;
  else if (err.code === "EPIPE") tail = `write tcp ${local ?? "127.0.0.1:0"}->${u.host}: write: broken pipe`;
  else tail = err.message;
  return `${goMethod(method)} "${url}": ${tail}`;
}

/** Node's socket errors rendered like Go's net errors inside containerd's "failed to do request" (resolver.go:643-646). */
function networkError(method: string, url: string, err: NodeJS.ErrnoException, local?: string): string {
  return `failed to do request: ${goClientError(method, url, err, local)}`;
}

/** unexpectedResponseErr (errcode.go:289-305): the status line, then the registry's errors as containerd prints them. */
function unexpected(res: RegistryResponse): PushError {
  let msg = `unexpected status from ${res.method} request to ${res.url}: ${res.statusLine}`;
  const lines = registryErrorLines(res.body);
  if (lines !== undefined) msg += `\n${lines}`;
  return new PushError(msg, res.status);
}

/** containerd's five registry codes print by name; any other code is "unknown" (errdesc.go:32-92, errcode.go:80-90). */
const KNOWN_CODES: Record<string, string> = {
  UNKNOWN: "unknown error",
  UNSUPPORTED: "The operation is unsupported.",
  UNAUTHORIZED: "authentication required",
  DENIED: "requested access to the resource is denied",
  UNAVAILABLE: "service unavailable",
  TOOMANYREQUESTS: "too many requests",
};

function registryErrorLines(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  let parsed: { errors?: { code?: unknown; message?: unknown; detail?: unknown }[] };
  try {
    parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
  } catch {
    return undefined;
  }
  const errs = Array.isArray(parsed?.errors) ? parsed.errors : [];
  if (errs.length === 0) return undefined;
  const texts = errs.map((e) => {
    const code = typeof e.code === "string" && e.code in KNOWN_CODES ? e.code : "UNKNOWN";
    const name = code.toLowerCase().replace(/_/g, " ");
    const message = typeof e.message === "string" ? e.message : "";
    const plain = (e.detail === undefined || e.detail === null) && (message === "" || message === KNOWN_CODES[code]);
    return plain ? name : `${name}: ${message}`;
  });
  return texts.length === 1 ? texts[0] : `errors:\n${texts.map((t) => `${t}\n`).join("")}`;
}

/** Every value of one header, from Node's flat [name, value, name, value, ...] list. */
const headerValues = (raw: string[], name: string): string[] =>
  raw.flatMap((v, i) => (i % 2 === 1 && raw[i - 1]?.toLowerCase() === name ? [v] : []));

/** An auth challenge from a WWW-Authenticate header (core/remotes/docker/auth/parse.go:37-45). */
interface Challenge {
  scheme: "basic" | "digest" | "bearer";
  params: Record<string, string>;
}

/** RFC 2616 token characters: any CHAR but CTLs and separators (parse.go:65-95). */
const isTokenChar = (c: number) => c > 31 && c < 127 && !' \t"(),/:;<=>?@[]\\{}'.includes(String.fromCharCode(c));
const isSpaceChar = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";

/** expectToken (parse.go:157-165). */
function expectToken(s: string): [string, string] {
  let i = 0;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return [s.slice(0, i), s.slice(i)];
}

/** expectTokenOrQuoted (parse.go:167-200): a quoted value with `\` escapes; an unterminated one is empty. */
function expectTokenOrQuoted(s: string): [string, string] {
  if (!s.startsWith('"')) return expectToken(s);
  let out = "";
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return [out, s.slice(i + 1)];
    if (c === "\\") {
      i++;
      if (i >= s.length) break;
      out += s[i]!;
    } else out += c;
  }
  return ["", ""];
}

/** parseValueAndParams (parse.go:119-145): the lower-cased scheme, then `key=value` pairs split by commas. */
function parseValueAndParams(header: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  let [value, s] = expectToken(header);
  if (value === "") return { value, params };
  value = value.toLowerCase();
  for (;;) {
    const skipped = s.replace(/^[ \t\r\n]*/, "");
    let key: string;
    [key, s] = expectToken(skipped);
    if (key === "" || !s.startsWith("=")) return { value, params };
    let v: string;
    [v, s] = expectTokenOrQuoted(s.slice(1));
    params[key.toLowerCase()] = v;
    let i = 0;
    while (i < s.length && isSpaceChar(s[i]!)) i++;
    s = s.slice(i);
    if (!s.startsWith(",")) return { value, params };
    s = s.slice(1);
  }
}

/** ParseAuthHeader (parse.go:97-117): basic, digest and bearer challenges, bearer first, then digest, then basic. */
function parseAuthHeader(values: string[]): Challenge[] {
  const rank = { bearer: 0, digest: 1, basic: 2 } as const;
  const out: Challenge[] = [];
  for (const h of values) {
    const { value, params } = parseValueAndParams(h);
    if (value === "basic" || value === "digest" || value === "bearer") out.push({ scheme: value, params });
  }
  return out.sort((a, b) => rank[a.scheme] - rank[b.scheme]); // Array.prototype.sort is stable, as sort.Stable
}

/** Go's url.QueryEscape: unreserved `A-Za-z0-9-_.~` kept, space as `+`, every other UTF-8 byte `%XX`. */
function goQueryEscape(v: string): string {
  let out = "";
  for (const byte of Buffer.from(v, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go's url.Values.Encode: keys sorted, each key's values in the order they were added. */
function goEncodeValues(values: [string, string][]): string {
  const keys = [...new Set(values.map(([k]) => k))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys
    .flatMap((k) => values.filter(([key]) => key === k).map(([, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join("&");
}

/** auth.TokenOptions (fetch.go:70-86) as GenerateTokenOptions fills it from a challenge (fetch.go:41-68). */
interface TokenOptions {
  realm: string;
  service: string;
  scopes: string[];
  username: string;
  secret: string;
}

/** remoteerrors.ErrUnexpectedStatus (core/remotes/errors/errors.go:33-61): the status line only, never the body. */
class UnexpectedStatus extends Error {
  constructor(
    method: string,
    url: string,
    statusLine: string,
    readonly status: number,
  ) {
    super(`unexpected status from ${method} request to ${url}: ${statusLine}`);
  }
}

/** The User-Agent containerd's token requests carry: "containerd/" + version.Version (containerd: version/version.go:27). */
const TOKEN_USER_AGENT = "containerd/2.2.3+unknown";

/** One HTTP request to the token service, answered with its status, status line and JSON body. */
function tokenRequest(
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; statusLine: string; json: Buffer }> {
  const u = new URL(url);
  const all: Record<string, string> = { "User-Agent": TOKEN_USER_AGENT, ...headers };
  if (body !== undefined) all["Content-Length"] = String(Buffer.byteLength(body));
  // The double's registries are plain http on loopback; a realm elsewhere would need TLS.
  if (u.protocol !== "http:")
    throw new Error(`engine double: a token realm that is not http:// is not modelled (${url})`);
  return new Promise((resolve, reject) => {
    const r = http.request(
      { method, host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers: all, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e: NodeJS.ErrnoException) => reject(new Error(goClientError(method, url, e))));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusLine: `${res.statusCode ?? 0}${res.statusMessage ? ` ${res.statusMessage}` : ""}`,
            json: Buffer.concat(chunks),
          }),
        );
      },
    );
    r.on("error", (e: NodeJS.ErrnoException) => reject(new Error(goClientError(method, url, e))));
    r.end(body);
  });
}

/** The token answer's fields containerd reads (fetch.go:88-95, 158-165); the double refuses what Go would fail to decode. */
function tokenAnswer(json: Buffer): { token?: string; accessToken?: string; expiresIn: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString("utf8"));
  } catch {
    throw new Error("engine double: a token answer that is not JSON is not modelled (Go's decoder error text)");
  }
  const o = (parsed ?? {}) as Record<string, unknown>;
  const str = (k: string) => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string")
      throw new Error(`engine double: a token answer whose ${k} is not a string is not modelled`);
    return v;
  };
  const e = o.expires_in;
  if (e !== undefined && e !== null && !(typeof e === "number" && Number.isInteger(e)))
    throw new Error("engine double: a token answer whose expires_in is not an integer is not modelled");
  return { token: str("token"), accessToken: str("access_token"), expiresIn: typeof e === "number" ? e : 0 };
}

/** FetchTokenWithOAuth (fetch.go:97-156): the POST form, containerd's client_id; access_token required. */
async function fetchTokenWithOAuth(to: TokenOptions): Promise<{ token: string; expiresIn: number }> {
  const form: [string, string][] = [];
  if (to.scopes.length > 0) form.push(["scope", to.scopes.join(" ")]);
  form.push(["service", to.service], ["client_id", "containerd-client"]);
  if (to.username === "") form.push(["grant_type", "refresh_token"], ["refresh_token", to.secret]);
  else form.push(["grant_type", "password"], ["username", to.username], ["password", to.secret]);
  const res = await tokenRequest(
    "POST",
    to.realm,
    { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
    goEncodeValues(form),
  );
  if (res.status < 200 || res.status >= 400) throw new UnexpectedStatus("POST", to.realm, res.statusLine, res.status);
  const a = tokenAnswer(res.json);
  if (!a.accessToken) throw new Error("authorization server did not include a token in the response");
  return { token: a.accessToken, expiresIn: a.expiresIn };
}

/** FetchToken (fetch.go:167-234): GET the realm with service and each scope, Basic when there is a secret. */
async function fetchToken(to: TokenOptions): Promise<{ token: string; expiresIn: number }> {
  const realm = new URL(to.realm);
  const query: [string, string][] = [...realm.searchParams.entries()];
  if (to.service !== "") query.push(["service", to.service]);
  for (const scope of to.scopes) query.push(["scope", scope]);
  const url = `${realm.origin}${realm.pathname}${query.length > 0 ? `?${goEncodeValues(query)}` : ""}`;
  const headers: Record<string, string> = {};
  if (to.secret !== "")
    headers.Authorization = `Basic ${Buffer.from(`${to.username}:${to.secret}`).toString("base64")}`;
  const res = await tokenRequest("GET", url, headers);
  if (res.status < 200 || res.status >= 400) throw new UnexpectedStatus("GET", url, res.statusLine, res.status);
  const a = tokenAnswer(res.json);
  const token = a.accessToken || a.token; // access_token wins when both are set (fetch.go:222-227)
  if (!token) throw new Error("authorization server did not include a token in the response");
  return { token, expiresIn: a.expiresIn };
}

/** One scope set's token: the header, or the error every later request with those scopes gets (authorizer.go:215-222). */
interface AuthResult {
  header?: string;
  error?: Error;
  /** ms since the epoch; undefined when the answer had no positive expires_in (getExpirationTime, authorizer.go:351-357). */
  expires?: number;
}

/** authHandler (authorizer.go:224-251): Basic with the credential, or Bearer with the challenge and the cached tokens. */
type AuthHandler =
  | { scheme: "basic"; header: string }
  | { scheme: "bearer"; common: TokenOptions; tokens: Map<string, Promise<AuthResult>> };

/** doBearerAuth (authorizer.go:275-349): POST with a secret (GET with Basic on 404, 401, 400, or 405 with a user), else anonymous GET. */
async function bearerToken(to: TokenOptions): Promise<AuthResult> {
  const done = (t: { token: string; expiresIn: number }): AuthResult => ({
    header: `Bearer ${t.token}`,
    ...(t.expiresIn > 0 ? { expires: Date.now() + t.expiresIn * 1000 } : {}),
  });
  if (to.secret !== "") {
    try {
      try {
        return done(await fetchTokenWithOAuth(to));
      } catch (e) {
        const fallback =
          e instanceof UnexpectedStatus &&
          ((e.status === 405 && to.username !== "") || e.status === 404 || e.status === 401 || e.status === 400);
        if (!fallback) throw e;
        return done(await fetchToken(to));
      }
    } catch (e) {
      return { error: new Error(`failed to fetch oauth token: ${(e as Error).message}`) };
    }
  }
  try {
    return done(await fetchToken(to));
  } catch (e) {
    return { error: new Error(`failed to fetch anonymous token: ${(e as Error).message}`) };
  }
}

/** GetTokenScopes (scope.go:75-101): the push's scopes plus the challenge's, sorted bytewise, repeats dropped. */
function tokenScopes(pushScopes: string[], common: string[]): string[] {
  const all = [...pushScopes, ...common].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return all.filter((s, i) => i === 0 || s !== all[i - 1]);
}

/** One push's HTTP conversation, with containerd's authorizer and retry rules. */
class ContainerdSession {
  /** dockerAuthorizer.handlers, by host (authorizer.go:42-43). */
  private readonly handlers = new Map<string, AuthHandler>();
  private readonly agent = new http.Agent({ keepAlive: true });

  /**
   * `scopes`: what the pusher puts in the request context, `repository:<name>:pull,push`
   * (pusher.go:75, scope.go:29-55).
   */
  constructor(
    private readonly base: string,
    private readonly creds: RegistryCredential | undefined,
    private readonly scopes: string[],
  ) {}

  url(p: string): string {
    return `${this.base}${p}`;
  }

  close(): void {
    this.agent.destroy();
  }

  /** request.doWithRetries (resolver.go:697-733). */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const responses: RegistryResponse[] = [];
    for (;;) {
      const res = await this.send(req);
      responses.push(res);
      if (!this.retryRequest(req, responses)) return res;
    }
  }

  /** retryRequest (resolver.go:735-773). */
  private retryRequest(req: RegistryRequest, responses: RegistryResponse[]): boolean {
    if (responses.length > 5) return false;
    const last = responses[responses.length - 1];
    if (!last) return false;
    switch (last.status) {
      case 401:
        return this.addResponses(responses);
      case 405:
        if (req.method === "HEAD" && req.url.includes("/manifests/")) {
          req.method = "GET";
          return true;
        }
        return false;
      case 408:
      case 429:
        return true;
      case 500:
      case 503:
      case 504:
        return !(responses.length > 1 && responses[responses.length - 2]?.status === last.status);
      default:
        return false;
    }
  }

  /**
   * dockerAuthorizer.AddResponses (authorizer.go:153-213). Dagger's credentials function answers "" for a host it
   * has none for (engine/server/resolver/resolver.go:798-806, 842-854). No supported challenge: not re-sent.
   */
  private addResponses(responses: RegistryResponse[]): boolean {
    const last = responses[responses.length - 1]!;
    const host = new URL(last.url).host;
    const username = this.creds?.username ?? "";
    const secret = this.creds?.password ?? "";
    for (const c of parseAuthHeader(last.authenticate)) {
      if (c.scheme === "bearer") {
        // invalidAuthorization (authorizer.go:359-377): a challenge with `error` drops the handler; the same
        // request refused twice in a row is an error.
        const errStr = c.params.error ?? "";
        if (errStr !== "") {
          const prev = responses[responses.length - 2];
          const same = prev !== undefined && prev.method === last.method && prev.url === last.url;
          this.handlers.delete(host);
          if (same) throw new InvalidAuthorization(`server message: ${errStr}: authorization failed`, 401);
        }
        if (this.handlers.has(host)) return true;
        const realm = c.params.realm;
        if (realm === undefined) throw new PushError("no realm specified for token auth challenge", 401);
        if (!URL.canParse(realm))
          throw new Error(`engine double: a realm Go's url.Parse reads and WHATWG does not is not modelled: ${realm}`);
        this.handlers.set(host, {
          scheme: "bearer",
          common: {
            realm,
            service: c.params.service ?? "",
            scopes: c.params.scope !== undefined ? c.params.scope.split(" ") : [],
            username,
            secret,
          },
          tokens: new Map(),
        });
        return true;
      }
      if (c.scheme === "basic") {
        if (username === "" || secret === "") {
          throw new InvalidAuthorization("authorization failed: no basic auth credentials", 401);
        }
        this.handlers.set(host, {
          scheme: "basic",
          header: `Basic ${Buffer.from(`${username}:${secret}`).toString("base64")}`,
        });
        return true;
      }
    }
    return false;
  }

  /** dockerAuthorizer.Authorize (authorizer.go:120-144): the host's handler, if any, sets Authorization. */
  private async authorize(req: RegistryRequest): Promise<string | undefined> {
    if (!req.authorize) return undefined;
    const h = this.handlers.get(new URL(req.url).host);
    if (!h) return undefined;
    if (h.scheme === "basic") return h.header;
    const to = { ...h.common, scopes: tokenScopes(this.scopes, h.common.scopes) };
    const key = to.scopes.join(" ");
    let pending = h.tokens.get(key);
    const cached = pending ? await pending : undefined;
    if (!pending || (cached?.expires !== undefined && cached.expires <= Date.now())) {
      pending = bearerToken(to);
      h.tokens.set(key, pending);
    }
    const result = await pending;
    // request.do (resolver.go:621-623).
    if (result.error) throw new PushError(`failed to authorize: ${result.error.message}`);
    return result.header;
  }

  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    const u = new URL(req.url);
    const headers: Record<string, string> = { ...req.headers };
    const authorization = await this.authorize(req);
    if (authorization) headers.Authorization = authorization;
    if (req.body) headers["Content-Length"] = String(req.body.length);
    const { method, url } = req;
    return new Promise((resolve, reject) => {
      const r = http.request(
        { method, host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e: NodeJS.ErrnoException) => reject(new PushError(networkError(method, url, e))));
          res.on("end", () =>
            resolve({
              method,
              url,
              status: res.statusCode ?? 0,
              statusLine: `${res.statusCode ?? 0}${res.statusMessage ? ` ${res.statusMessage}` : ""}`,
              headers: res.headers,
              authenticate: headerValues(res.rawHeaders, "www-authenticate"),
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      r.on("error", (e: NodeJS.ErrnoException) => {
        const local = r.socket?.localPort ? `${r.socket.localAddress ?? "127.0.0.1"}:${r.socket.localPort}` : undefined;
        reject(new PushError(networkError(method, url, e, local)));
      });
      r.end(req.body);
    });
  }
}

/** One descriptor pushed as containerd's dockerPusher.push + content.Copy do it (pusher.go:70-310, 482-551). */
async function pushBlob(s: ContainerdSession, repo: string, blob: Blob, object: string): Promise<void> {
  const isManifest = blob.kind === "manifest" || blob.kind === "index";
  const existPath = isManifest ? `/v2/${repo}/manifests/${object}` : `/v2/${repo}/blobs/${blob.digest}`;
  try {
    const head = await s.request({
      method: "HEAD",
      url: s.url(existPath),
      headers: { Accept: `${blob.mediaType}, */*` },
      authorize: true,
    });
    if (head.status === 200) {
      // A manifest looked up by tag exists only if the tag already points at this digest.
      const byTag = isManifest && object !== blob.digest;
      if (!byTag || head.headers["docker-content-digest"] === blob.digest) return;
    } else if (head.status !== 404) throw unexpected(head);
  } catch (e) {
    if (!(e instanceof InvalidAuthorization)) throw e;
  }

  let put: RegistryRequest;
  if (isManifest) {
    put = {
      method: "PUT",
      url: s.url(`/v2/${repo}/manifests/${object}`),
      headers: { "Content-Type": blob.mediaType },
      body: blob.bytes,
      authorize: true,
    };
  } else {
    let post: RegistryResponse;
    try {
      post = await s.request({
        method: "POST",
        url: s.url(`/v2/${repo}/blobs/uploads/`),
        headers: {},
        authorize: true,
      });
    } catch (e) {
      if (e instanceof InvalidAuthorization) {
        throw new PushError(
          `push access denied, repository does not exist or may require authorization: ${e.message}`,
          e.status,
        );
      }
      throw e;
    }
    if (post.status === 201) return;
    if (![200, 202, 204].includes(post.status)) throw unexpected(post);
    const location = String(post.headers.location ?? "");
    const base = new URL(s.url("/"));
    const target = new URL(
      location.startsWith("/")
        ? `${base.origin}${location}`
        : location.includes("://")
          ? location
          : `${base.protocol}//${location}`,
    );
    const query = new URLSearchParams(target.search);
    query.append("digest", blob.digest);
    query.sort();
    put = {
      method: "PUT",
      url: `${target.origin}${target.pathname}?${query.toString()}`,
      headers: { "Content-Type": "application/octet-stream" },
      body: blob.bytes,
      authorize: target.host === base.host,
    };
  }

  const ref = `${blob.kind}-${blob.digest}`;
  const commitFailed = (e: unknown): PushError =>
    new PushError(`failed commit on ref ${JSON.stringify(ref)}: ${(e as Error).message}`, (e as PushError).status);
  let res: RegistryResponse;
  try {
    res = await s.request(put);
  } catch (e) {
    throw commitFailed(e);
  }
  if (![200, 201, 204].includes(res.status)) throw commitFailed(unexpected(res));
  const header = res.headers["docker-content-digest"];
  if (typeof header === "string" && header !== "") {
    if (!/^sha256:[0-9a-f]{64}$/.test(header)) {
      throw commitFailed(new Error(`invalid content digest in response: invalid checksum digest format`));
    }
    if (header !== blob.digest) throw commitFailed(new Error(`got digest ${header}, expected ${blob.digest}`));
  }
}

interface ExportedImage {
  config: Buffer;
  layers: Blob[];
}

/** `docker save` plus gzip of an image's layers; Node's gzip writes no timestamp, so the same tar gives the same digest. */
async function exportImage(image: string): Promise<ExportedImage> {
  const saved = await savedImage(image);
  return {
    config: saved.config,
    layers: saved.layers.map((tar) => blobOf("layer", MT.layerGzip, gzipSync(tar, { level: 6 }))),
  };
}

/** One variant's image manifest and the blobs under it. */
function manifestOf(v: PushVariant, exported: ExportedImage): { manifest: Blob; blobs: Blob[] } {
  const config = blobOf("config", MT.config, daggerConfig(exported.config, v.labels));
  const desc = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const body = {
    schemaVersion: 2,
    mediaType: MT.manifest,
    config: desc(config),
    layers: exported.layers.map(desc),
    ...annotationsField(v.annotations),
  };
  return {
    manifest: blobOf("manifest", MT.manifest, Buffer.from(JSON.stringify(body))),
    blobs: [...exported.layers, config],
  };
}

function indexOf(variants: PushVariant[], manifests: Blob[]): Blob {
  const entries = manifests.map((m, i) => ({
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...annotationsField(variants[i]?.annotations),
    platform: platformParts(variants[i]?.platform ?? ""),
  }));
  const body = { schemaVersion: 2, mediaType: MT.index, manifests: entries };
  return blobOf("index", MT.index, Buffer.from(JSON.stringify(body)));
}

export interface DockerBackendOptions {
  /** The CLI host's docker config by registry host: used for a host the session has no credential for. */
  hostDockerConfig?: Record<string, RegistryCredential>;
}

export class DockerBackend implements Backend {
  readonly name = "docker" as const;
  readonly defaultPlatform = `linux/${hostArch()}`;
  readonly hostDockerConfig: Readonly<Record<string, RegistryCredential>>;
  // Image IDs are content addresses: export each once, as BuildKit does, however many refs it is pushed to.
  private readonly exports = new Map<string, Promise<ExportedImage>>();

  constructor(opts: DockerBackendOptions = {}) {
    this.hostDockerConfig = opts.hostDockerConfig ?? {};
  }

  private exported(image: string): Promise<ExportedImage> {
    let e = this.exports.get(image);
    if (!e) {
      e = exportImage(image);
      e.catch(() => this.exports.delete(image));
      this.exports.set(image, e);
    }
    return e;
  }

  async build(req: BuildRequest): Promise<BuiltImage> {
    if (
      req.ignoreFile !== undefined &&
      req.ignoreFile !== ".dockerignore" &&
      existsSync(path.join(req.contextDir, ".dockerignore"))
    ) {
      // Docker would apply .dockerignore again on top of the Dockerfile-specific patterns Dagger used alone.
      throw new Error(
        `engine double: ${req.ignoreFile} next to a kept .dockerignore is not modelled on the docker backend`,
      );
    }
    const tmp = await mkdtemp(path.join(os.tmpdir(), "dockyard-build-"));
    try {
      const iidfile = path.join(tmp, "iid");
      // The Dockerfile as Dagger read it, outside the context: Docker never reads the context's own copy.
      const dockerfile = path.join(tmp, "Dockerfile");
      await writeFile(dockerfile, withoutSyntaxDirective(req.dockerfileText));
      const args = ["build", "--network", "none", "--progress", "plain", "--iidfile", iidfile, "-f", dockerfile];
      if (req.target) args.push("--target", req.target);
      if (req.platform) args.push("--platform", req.platform);
      for (const a of req.buildArgs) args.push("--build-arg", `${a.name}=${a.value}`);
      args.push(...platformArgs(req.platform ?? this.defaultPlatform, req.buildArgs));
      for (const [i, s] of req.secrets.entries()) {
        const file = path.join(tmp, `secret-${i}`);
        await writeFile(file, s.plaintext, { mode: 0o600 });
        args.push("--secret", `id=${s.name},src=${file}`);
      }
      args.push(req.contextDir);
      const r = await run(DOCKER, args, { env: { ...process.env, DOCKER_BUILDKIT: "1" } });
      if (r.code !== 0) throw new Error(scrub(buildFailure(r.stderr), req.secrets));
      const image = (await readFile(iidfile, "utf8")).trim();
      const platform = (await mustRun(DOCKER, ["image", "inspect", "--format", PLATFORM_FORMAT, image])).trim();
      return { image, platform };
    } finally {
      await rm(tmp, { recursive: true, force: true }); // secret files live only as long as the build
    }
  }

  /**
   * resolver.PushImage: blobs first, then manifests from the leaves to the root; a child manifest goes by digest,
   * the root by tag (pusher.go:312-329 with the `<tag>@<digest>` ref Dagger builds at resolver.go:593-601).
   */
  async push(req: PushRequest): Promise<string> {
    const ref = parseReference(req.address);
    const s = new ContainerdSession(`http://${ref.host}`, req.auth, [`repository:${ref.repo}:pull,push`]);
    try {
      if (req.variants.length === 0) throw new PushError("no platform variants to push");
      // The index lists platforms sorted by their key (engine/engineutil/containerimage.go:67-69).
      const variants = [...req.variants].sort((a, b) =>
        a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0,
      );
      const images = [];
      for (const v of variants) images.push(manifestOf(v, await this.exported(v.image)));
      const pushed = new Set<string>();
      for (const b of images.flatMap((i) => i.blobs)) {
        if (pushed.has(b.digest)) continue;
        pushed.add(b.digest);
        await pushBlob(s, ref.repo, b, b.digest);
      }
      const only = images.length === 1 ? images[0] : undefined;
      if (only) {
        await pushBlob(s, ref.repo, only.manifest, ref.tag);
        return only.manifest.digest;
      }
      for (const i of images) await pushBlob(s, ref.repo, i.manifest, i.manifest.digest);
      const index = indexOf(
        variants,
        images.map((i) => i.manifest),
      );
      await pushBlob(s, ref.repo, index, ref.tag);
      return index.digest;
    } finally {
      s.close();
    }
  }

  /** A local image by name or ID; the double never pulls, so a missing one fails by name. */
  async image(address: string): Promise<BuiltImage> {
    const r = await run(DOCKER, ["image", "inspect", "--format", PLATFORM_FORMAT, address]);
    if (r.code !== 0)
      throw new Error(
        `engine double: Container.from(${JSON.stringify(address)}): no such local image (the double never pulls; make it in the test)`,
      );
    const id = (await mustRun(DOCKER, ["image", "inspect", "--format", "{{.Id}}", address])).trim();
    return { image: id, platform: r.stdout.trim() };
  }

  /**
   * The OCI layout Dagger's asTarball writes for one platform (index.json, oci-layout, blobs, and a docker
   * manifest.json), holding the very manifest, config and layers push sends for the same variant.
   */
  async tarball(variant: PushVariant): Promise<string> {
    const { manifest, blobs } = manifestOf(variant, await this.exported(variant.image));
    const dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-tarball-"));
    const layout = path.join(dir, "layout");
    await mkdir(path.join(layout, "blobs/sha256"), { recursive: true });
    for (const b of [...blobs, manifest])
      await writeFile(path.join(layout, "blobs/sha256", b.digest.slice("sha256:".length)), b.bytes);
    const blobPath = (b: Blob) => `blobs/sha256/${b.digest.slice("sha256:".length)}`;
    const config = blobs.find((b) => b.kind === "config")!;
    const layers = blobs.filter((b) => b.kind === "layer");
    const index = {
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.size,
          ...annotationsField(variant.annotations),
          platform: platformParts(variant.platform),
        },
      ],
    };
    await writeFile(path.join(layout, "index.json"), JSON.stringify(index));
    await writeFile(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const docker = [{ Config: blobPath(config), RepoTags: null, Layers: layers.map(blobPath) }];
    await writeFile(path.join(layout, "manifest.json"), JSON.stringify(docker));
    const tar = path.join(dir, "container.tar");
    const entries = ["oci-layout", "index.json", "manifest.json", "blobs"];
    await mustRun("tar", [
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "-C",
      layout,
      "-cf",
      tar,
      ...entries,
    ]);
    return tar;
  }

  /** `docker run` of the image with each file bind-mounted read-only, no network; both streams kept apart. */
  async exec(req: ExecRequest): Promise<ExecResult> {
    const args = ["run", "--rm", "--network", "none"];
    for (const m of req.mounts) args.push("--mount", `type=bind,source=${m.hostPath},target=${m.path},readonly`);
    if (!req.useEntrypoint) {
      if (req.args.length === 0)
        throw new Error("engine double: withExec with no args and no entrypoint is not modelled");
      args.push("--entrypoint", req.args[0]!, req.image, ...req.args.slice(1));
    } else args.push(req.image, ...req.args);
    const r = await run(DOCKER, args);
    // 125: docker run itself failed (the container never ran), which the engine reports as an error, not an exit code.
    if (r.code === 125) throw new Error(`engine double: docker run failed: ${r.stderr.trim()}`);
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** Its registries are real ones on loopback, which the module reaches as they are. */
  async moduleNetwork(): Promise<Readonly<Record<string, string>>> {
    return {};
  }

  async close(): Promise<void> {}
}
