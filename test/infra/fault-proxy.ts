// Rung 3 (engine double): a loopback HTTP proxy in front of a registry that injects faults on demand and counts requests.
import http from "node:http";

/** A registry-style error in a fault's JSON body (OCI distribution spec: `{"errors":[{code,message}]}`). */
export interface RegistryErrorBody {
  code: string;
  message: string;
}

export type Fault =
  /**
   * Answered by the proxy; the registry never sees the request. `reason` replaces the status line's phrase;
   * `challenge` is a 401's WWW-Authenticate (default `Basic realm="dockyard-test"`).
   */
  | { status: number; reason?: string; retryAfter?: number; errors?: RegistryErrorBody[] | null; challenge?: string }
  /** The socket is destroyed before anything is forwarded. */
  | "drop"
  /** Never answered nor forwarded, until the client goes away or the proxy stops (a push timeout's food). */
  | "hang"
  /** Forwarded, so the registry acts on it (a manifest IS stored), then the client gets this status instead. */
  | { forwardThenFail: number; reason?: string; errors?: RegistryErrorBody[] | null }
  /** Forwarded; a 2xx answer's Docker-Content-Digest header is replaced by this value. */
  | { wrongDigest: string };

export interface RequestInfo {
  method: string;
  path: string;
}

export type RequestMatch = (req: RequestInfo) => boolean;

export interface ProxiedRequest extends RequestInfo {
  /** Status sent to the client; "drop" when the socket was destroyed; "hang" while (or if) never answered. */
  outcome: number | "drop" | "hang";
  /** The registry's own status, when the request reached it. */
  upstream?: number;
  faulted: boolean;
  /** Which fault was applied, by kind. */
  fault?: "status" | "drop" | "hang" | "forwardThenFail" | "wrongDigest";
}

/** What failNext returns: how often that fault has struck so far, and how many are left. */
export interface FaultHandle {
  readonly hits: number;
  readonly remaining: number;
}

export interface FaultProxy {
  readonly port: number;
  /** "127.0.0.1:<port>", to use as the registry host in image references. */
  readonly host: string;
  /** The next n requests that match (default: all) get `fault`; queued faults are tried in the order given. */
  failNext(n: number, fault: Fault, match?: RequestMatch): FaultHandle;
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[];
  /** How many requests seen so far match. */
  count(match: RequestMatch): number;
  /** Resolves once n requests matching have arrived (counting those already seen). */
  waitFor(match: RequestMatch, n: number): Promise<void>;
  /** How many requests were faulted so far. */
  readonly faulted: number;
  /** Drops every fault still queued, so one test's leftovers never reach the next. */
  clear(): void;
  stop(): Promise<void>;
}

/** Matches a method ("*" for any) and a path: a RegExp, or a substring. */
export function on(method: string, path: RegExp | string): RequestMatch {
  return (r) =>
    (method === "*" || r.method === method.toUpperCase()) &&
    (typeof path === "string" ? r.path.includes(path) : path.test(r.path));
}

/** Common matchers for failNext and count. */
export const match = {
  manifestPut: on("PUT", "/manifests/"),
  manifestHead: on("HEAD", "/manifests/"),
  blobHead: on("HEAD", "/blobs/sha256:"),
  blobPost: on("POST", /\/blobs\/uploads\/$/),
  blobPut: on("PUT", "/blobs/uploads/"),
  blobUpload: on("*", "/blobs/uploads/"),
  any: () => true,
} satisfies Record<string, RequestMatch>;

interface Pending {
  remaining: number;
  hits: number;
  fault: Fault;
  match: RequestMatch;
}

const DEFAULT_CODE: Record<number, string> = {
  401: "UNAUTHORIZED",
  403: "DENIED",
  404: "NAME_UNKNOWN",
  429: "TOOMANYREQUESTS",
  500: "UNKNOWN",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "UNAVAILABLE",
};

function errorBody(status: number, errors: RegistryErrorBody[] | null | undefined): string | undefined {
  if (errors === null) return undefined;
  const list = errors ?? [
    {
      code: DEFAULT_CODE[status] ?? "UNKNOWN",
      message: `injected by fault proxy: ${http.STATUS_CODES[status] ?? status}`,
    },
  ];
  return `${JSON.stringify({ errors: list })}\n`;
}

function sendStatus(
  res: http.ServerResponse,
  status: number,
  opts: { reason?: string; retryAfter?: number; errors?: RegistryErrorBody[] | null; challenge?: string },
): void {
  const headers: Record<string, string> = { "Docker-Distribution-Api-Version": "registry/2.0" };
  const body = errorBody(status, opts.errors);
  if (body !== undefined) headers["Content-Type"] = "application/json; charset=utf-8";
  if (opts.retryAfter !== undefined) headers["Retry-After"] = String(opts.retryAfter);
  if (status === 401) headers["WWW-Authenticate"] = opts.challenge ?? 'Basic realm="dockyard-test"';
  res.writeHead(status, opts.reason ?? http.STATUS_CODES[status] ?? "", headers);
  res.end(body);
}

/** Rewrites a Location pointing at the target so the client keeps going through the proxy. */
function rewriteLocation(value: string, targetPort: number, proxyPort: number): string {
  return value.replace(new RegExp(`^(https?://(?:127\\.0\\.0\\.1|localhost)):${targetPort}(?=/|$)`), `$1:${proxyPort}`);
}

/** Sends the request on to the registry; `answer` decides what the client gets from the registry's response. */
function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  targetPort: number,
  proxyPort: number,
  record: ProxiedRequest,
  answer?: (up: http.IncomingMessage, raw: string[]) => void,
): void {
  const upstream = http.request(
    { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      const raw = up.rawHeaders.slice();
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]?.toLowerCase() === "location") raw[i + 1] = rewriteLocation(raw[i + 1] ?? "", targetPort, proxyPort);
      }
      record.upstream = up.statusCode ?? 502;
      if (answer) return answer(up, raw);
      record.outcome = up.statusCode ?? 502;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, raw);
      up.pipe(res);
    },
  );
  upstream.on("error", () => {
    record.outcome = "drop";
    req.socket.destroy();
  });
  req.pipe(upstream);
}

/** Starts the proxy on 127.0.0.1 (free port) in front of 127.0.0.1:targetPort. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pending: Pending[] = [];
  const requests: ProxiedRequest[] = [];
  const waiters: { match: RequestMatch; n: number; done: () => void }[] = [];
  const count = (m: RequestMatch) => requests.filter((r) => m(r)).length;
  const wake = () => {
    for (const w of [...waiters]) {
      if (count(w.match) < w.n) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.done();
    }
  };
  let faulted = 0;
  let port = 0;

  const server = http.createServer((req, res) => {
    const info = { method: req.method ?? "GET", path: req.url ?? "/" };
    const record: ProxiedRequest = { ...info, outcome: 0, faulted: false };
    requests.push(record);
    const hit = pending.find((p) => p.remaining > 0 && p.match(info));
    // Waiters hear of the request once its fate is set, on the next turn of the event loop.
    setImmediate(wake);
    if (!hit) return forward(req, res, targetPort, port, record);
    hit.remaining--;
    hit.hits++;
    faulted++;
    record.faulted = true;
    const fault = hit.fault;
    if (fault === "drop") {
      record.fault = "drop";
      record.outcome = "drop";
      req.socket.destroy();
      return;
    }
    if (fault === "hang") {
      record.fault = "hang";
      record.outcome = "hang";
      req.resume(); // read the body so the client's write completes, then say nothing
      return;
    }
    if ("forwardThenFail" in fault) {
      record.fault = "forwardThenFail";
      return forward(req, res, targetPort, port, record, (up) => {
        up.resume();
        up.on("end", () => {
          record.outcome = fault.forwardThenFail;
          sendStatus(res, fault.forwardThenFail, fault);
        });
      });
    }
    if ("wrongDigest" in fault) {
      record.fault = "wrongDigest";
      return forward(req, res, targetPort, port, record, (up, raw) => {
        const status = up.statusCode ?? 502;
        if (status >= 200 && status < 300) {
          for (let i = 0; i + 1 < raw.length; i += 2)
            if (raw[i]?.toLowerCase() === "docker-content-digest") raw[i + 1] = fault.wrongDigest;
        }
        record.outcome = status;
        res.writeHead(status, up.statusMessage, raw);
        up.pipe(res);
      });
    }
    record.fault = "status";
    record.outcome = fault.status;
    req.resume(); // drain the request body before answering
    req.on("end", () => sendStatus(res, fault.status, fault));
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr !== "object") throw new Error("fault proxy: no address");
  port = addr.port;

  return {
    port,
    host: `127.0.0.1:${port}`,
    requests,
    count,
    waitFor: (m, n) =>
      new Promise<void>((resolve) => {
        waiters.push({ match: m, n, done: resolve });
        wake();
      }),
    get faulted() {
      return faulted;
    },
    failNext(n, fault, m = match.any) {
      const p: Pending = { remaining: n, hits: 0, fault, match: m };
      pending.push(p);
      return {
        get hits() {
          return p.hits;
        },
        get remaining() {
          return p.remaining;
        },
      };
    },
    clear() {
      pending.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
