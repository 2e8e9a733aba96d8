// Rung 3 (engine double): a small Docker-token-spec server for the registry's `auth: token:` config (JWTs signed with a fresh key).
// GET is distribution's token endpoint (docs/spec/auth/token.md: Basic credentials, `service` and `scope` in the
// query); POST is its OAuth2 endpoint (docs/spec/auth/oauth.md: a form with grant_type, service, client_id, scope,
// username and password; the answer's access_token, scope and expires_in), the one containerd tries first.
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { mustRun } from "./docker.js";

export interface TokenServerOptions {
  users: Record<string, string>;
  /** Where the signing key and its certificate (the registry's rootcertbundle) are written. */
  dir: string;
  /** The answer's field for the token: "token" (Docker Hub, distribution) or "access_token" (OAuth2 style). */
  field?: "token" | "access_token";
  expiresInS?: number;
}

export interface TokenRequest {
  /** GET (the token endpoint) or POST (the OAuth2 endpoint). */
  method: string;
  /** The user whose credentials came with the request (Basic on GET, the form on POST); undefined when anonymous. */
  user: string | undefined;
  /** GET: each `scope` parameter; POST: the form's space-separated `scope` list. */
  scopes: string[];
  service: string | null;
  /** POST only: the form's client_id and grant_type. */
  clientId?: string | null;
  grantType?: string | null;
  /** "granted", or the status the server refused with. */
  outcome: "granted" | number;
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  readonly requests: TokenRequest[];
  /** The answer's field for the token, switchable between tests. */
  field: "token" | "access_token";
  /**
   * When set, every POST is answered with this status and no token, as a token service without the OAuth2
   * endpoint does (GCR 404, Artifactory 401, ACR 400, per containerd's authorizer.go:320-323).
   */
  oauthRefusal: number | undefined;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/** Each `type:name:actions` scope as a JWT access claim; every action asked for is granted to a known user. */
function accessClaims(scopes: string[]) {
  return scopes.map((scope) => {
    const parts = scope.split(":");
    return { type: parts[0], name: parts.slice(1, -1).join(":"), actions: (parts.at(-1) ?? "").split(",") };
  });
}

/** Starts the server on a free loopback port; its key is RSA 2048, its certificate self-signed, one day long. */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const keyFile = path.join(opts.dir, "token-key.pem");
  const certFile = path.join(opts.dir, "token-cert.pem");
  await mustRun("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=dockyard-token",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString("base64");
  const service = "dockyard-registry";
  const issuer = "dockyard-token-issuer";
  const requests: TokenRequest[] = [];
  const state: { field: "token" | "access_token"; oauthRefusal: number | undefined } = {
    field: opts.field ?? "token",
    oauthRefusal: undefined,
  };

  const mint = (user: string | undefined, known: boolean, scopes: string[], expiresInS: number): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + expiresInS,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access: known ? accessClaims(scopes) : [],
    };
    const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signed}.${b64url(sign("sha256", Buffer.from(signed), key))}`;
  };
  const answer = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };

  /** The OAuth2 endpoint: a password grant for a known user gets a token for every scope asked (oauth.md). */
  const oauth = (form: URLSearchParams, res: http.ServerResponse) => {
    const scopeList = form.get("scope") ?? "";
    const scopes = scopeList === "" ? [] : scopeList.split(" ");
    const grantType = form.get("grant_type");
    const user = form.get("username") ?? undefined;
    const entry = {
      method: "POST",
      user,
      scopes,
      service: form.get("service"),
      clientId: form.get("client_id"),
      grantType,
    };
    if (state.oauthRefusal !== undefined) {
      requests.push({ ...entry, outcome: state.oauthRefusal });
      answer(res, state.oauthRefusal, { error: "the OAuth2 endpoint is switched off" });
      return;
    }
    if (grantType !== "password") {
      // No refresh tokens are issued here, so no other grant can succeed (RFC 6749 5.2).
      requests.push({ ...entry, outcome: 400 });
      answer(res, 400, { error: "unsupported_grant_type" });
      return;
    }
    if (user === undefined || opts.users[user] !== form.get("password")) {
      requests.push({ ...entry, outcome: 401 });
      answer(res, 401, { error: "invalid_grant" });
      return;
    }
    requests.push({ ...entry, outcome: "granted" });
    const expiresInS = opts.expiresInS ?? 300;
    answer(res, 200, {
      access_token: mint(user, true, scopes, expiresInS),
      scope: scopeList,
      expires_in: expiresInS,
      issued_at: new Date().toISOString(),
    });
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => oauth(new URLSearchParams(Buffer.concat(chunks).toString("utf8")), res));
      return;
    }
    const method = req.method ?? "GET";
    const scopes = url.searchParams.getAll("scope");
    if (method !== "GET") {
      requests.push({ method, user: undefined, scopes, service: url.searchParams.get("service"), outcome: 405 });
      answer(res, 405, { error: "method not allowed" });
      return;
    }
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [user, password] = basic ? Buffer.from(basic, "base64").toString("utf8").split(/:(.*)/s) : [];
    const known = user !== undefined && opts.users[user] === password;
    if (basic && !known) {
      requests.push({ method, user, scopes, service: url.searchParams.get("service"), outcome: 401 });
      answer(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      return;
    }
    requests.push({ method, user, scopes, service: url.searchParams.get("service"), outcome: "granted" });
    const expiresInS = opts.expiresInS ?? 300;
    answer(res, 200, { [state.field]: mint(user, known, scopes, expiresInS), expires_in: expiresInS });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    get field() {
      return state.field;
    },
    set field(value) {
      state.field = value;
    },
    get oauthRefusal() {
      return state.oauthRefusal;
    },
    set oauthRefusal(value) {
      state.oauthRefusal = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
