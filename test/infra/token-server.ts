// Rung 3 (engine double): a small Docker-token-spec server for the registry's `auth: token:` config (JWTs signed with a fresh key).
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
  /** The user whose Basic credentials came with the request; undefined when anonymous. */
  user: string | undefined;
  scopes: string[];
  service: string | null;
  /** "granted", or the status the server refused with. */
  outcome: "granted" | 401;
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  readonly requests: TokenRequest[];
  /** The answer's field for the token, switchable between tests. */
  field: "token" | "access_token";
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
  const state = { field: opts.field ?? "token" };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const scopes = url.searchParams.getAll("scope");
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [user, password] = basic ? Buffer.from(basic, "base64").toString("utf8").split(/:(.*)/s) : [];
    const known = user !== undefined && opts.users[user] === password;
    if (basic && !known) {
      requests.push({ user, scopes, service: url.searchParams.get("service"), outcome: 401 });
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    requests.push({ user, scopes, service: url.searchParams.get("service"), outcome: "granted" });
    const now = Math.floor(Date.now() / 1000);
    const expiresInS = opts.expiresInS ?? 300;
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
    const token = `${signed}.${b64url(sign("sha256", Buffer.from(signed), key))}`;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ [state.field]: token, expires_in: expiresInS }));
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
