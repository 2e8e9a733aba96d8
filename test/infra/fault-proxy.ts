// Rung 3 (engine double): a loopback HTTP proxy in front of a registry that injects faults on demand.
import http from "node:http";

export type Fault = { status: 503 | 429 | 401 | 403 | 500 | 502; retryAfter?: number } | "drop";

export type RequestMatch = (req: { method: string; path: string }) => boolean;

export interface ProxiedRequest {
  method: string;
  path: string;
  /** Status sent to the client; "drop" when the socket was destroyed. */
  outcome: number | "drop";
  faulted: boolean;
}

export interface FaultProxy {
  readonly port: number;
  /** "127.0.0.1:<port>", to use as the registry host in image references. */
  readonly host: string;
  /** The next n requests that match (default: all) get `fault` instead of reaching the registry. */
  failNext(n: number, fault: Fault, match?: RequestMatch): void;
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[];
  /** How many requests were faulted so far. */
  readonly faulted: number;
  /** Drops every fault still queued, so one test's leftovers never reach the next. */
  clear(): void;
  stop(): Promise<void>;
}

/** Common matchers for failNext. */
export const match = {
  manifestPut: (r: { method: string; path: string }) => r.method === "PUT" && r.path.includes("/manifests/"),
  blobUpload: (r: { method: string; path: string }) => r.path.includes("/blobs/uploads/"),
  any: () => true,
} satisfies Record<string, RequestMatch>;

interface Pending {
  remaining: number;
  fault: Fault;
  match: RequestMatch;
}

/** A registry-style error body, so clients see what a real registry would send. */
function errorBody(status: number): string {
  const code: Record<number, string> = {
    401: "UNAUTHORIZED",
    403: "DENIED",
    429: "TOOMANYREQUESTS",
    500: "UNKNOWN",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
  };
  return (
    JSON.stringify({
      errors: [
        { code: code[status] ?? "UNKNOWN", message: `injected by fault proxy: ${http.STATUS_CODES[status] ?? status}` },
      ],
    }) + "\n"
  );
}

function sendFault(res: http.ServerResponse, status: number, retryAfter?: number): void {
  const headers: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    "Docker-Distribution-Api-Version": "registry/2.0",
  };
  if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  if (status === 401) headers["WWW-Authenticate"] = 'Basic realm="dockyard-test"';
  res.writeHead(status, http.STATUS_CODES[status], headers);
  res.end(errorBody(status));
}

/** Rewrites a Location pointing at the target so the client keeps going through the proxy. */
function rewriteLocation(value: string, targetPort: number, proxyPort: number): string {
  return value.replace(new RegExp(`^(https?://(?:127\\.0\\.0\\.1|localhost)):${targetPort}(?=/|$)`), `$1:${proxyPort}`);
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  targetPort: number,
  proxyPort: number,
  record: ProxiedRequest,
): void {
  const upstream = http.request(
    { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      const raw = up.rawHeaders.slice();
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]?.toLowerCase() === "location") raw[i + 1] = rewriteLocation(raw[i + 1] ?? "", targetPort, proxyPort);
      }
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
  let faulted = 0;
  let port = 0;

  const server = http.createServer((req, res) => {
    const info = { method: req.method ?? "GET", path: req.url ?? "/" };
    const record: ProxiedRequest = { ...info, outcome: 0, faulted: false };
    requests.push(record);
    const hit = pending.find((p) => p.remaining > 0 && p.match(info));
    if (!hit) return forward(req, res, targetPort, port, record);
    hit.remaining--;
    faulted++;
    record.faulted = true;
    if (hit.fault === "drop") {
      record.outcome = "drop";
      req.socket.destroy();
      return;
    }
    record.outcome = hit.fault.status;
    const { status, retryAfter } = hit.fault;
    req.resume(); // drain the request body before answering
    req.on("end", () => sendFault(res, status, retryAfter));
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
    get faulted() {
      return faulted;
    },
    failNext(n, fault, m = match.any) {
      pending.push({ remaining: n, fault, match: m });
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
