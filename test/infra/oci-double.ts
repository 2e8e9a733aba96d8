// Rung 3 (engine double): an HTTP double of what docker-registry 2.8.2 lacks: tags/list pagination and the OCI 1.1
// referrers API, by the rules of the OCI distribution spec v1.1.0 (spec.md, "Content Discovery"), and writing a
// referrer ("Pushing Blobs", "Pushing Manifests with Subject"), behind an anonymous Bearer challenge as public
// repositories on GHCR and Docker Hub answer.
import { createHash } from "node:crypto";
import http from "node:http";

export interface DoubleDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface OciDouble {
  readonly host: string;
  /** Request paths with their query, in arrival order. */
  readonly requests: string[];
  /** Writes as "<method> <path>" (POST, PUT), in arrival order. */
  readonly writes: string[];
  /** Manifests stored by digest or tag. */
  readonly manifests: Map<string, Buffer>;
  stop(): Promise<void>;
}

export interface DoubleContent {
  /** Tags of `acme/app`, in any order. */
  tags: string[];
  /** Referrers by subject digest. */
  referrers: Record<string, DoubleDescriptor[]>;
  /** How many referrers one page holds (the spec allows the registry to paginate them with Link). */
  referrersPage: number;
}

const TOKEN = "anonymous-token";
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startOciDouble(content: DoubleContent): Promise<OciDouble> {
  const requests: string[] = [];
  const writes: string[] = [];
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>();
  const pushed: Record<string, DoubleDescriptor[]> = {};
  let uploads = 0;
  let origin = "";
  const server = http.createServer((req, res) => {
    void readBody(req).then((body) => answer(req, body, res));
  });
  const answer = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", origin);
    requests.push(`${url.pathname}${url.search}`);
    if (req.method === "POST" || req.method === "PUT") writes.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/token") return json(200, { access_token: TOKEN, expires_in: 300 });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      // Distribution's challenge form; the comma inside the quoted scope must not split the parameter.
      const challenge = `Bearer realm="${origin}/token",service="oci-double",scope="repository:acme/app:pull,push"`;
      return json(
        401,
        { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
        { "WWW-Authenticate": challenge },
      );
    }
    // "Listing Tags": lexical order, at most n, only tags after `last`; a Link to the next page when more remain.
    if (url.pathname === "/v2/acme/app/tags/list") {
      const n = url.searchParams.has("n") ? Number(url.searchParams.get("n")) : Infinity;
      const last = url.searchParams.get("last");
      const after = [...content.tags].sort().filter((t) => last === null || t > last);
      const page = after.slice(0, n);
      const more = after.length > page.length && page.length > 0;
      const link: Record<string, string> = more
        ? { Link: `</v2/acme/app/tags/list?n=${n}&last=${encodeURIComponent(page.at(-1)!)}>; rel="next"` }
        : {};
      return json(200, { name: "acme/app", tags: page }, link);
    }
    // "Pushing Blobs": a POST begins an upload (202 and Location), a monolithic PUT with ?digest= closes it (201).
    if (url.pathname === "/v2/acme/app/blobs/uploads/" && req.method === "POST") {
      res.writeHead(202, { Location: `/v2/acme/app/blobs/uploads/u${++uploads}`, "Content-Length": "0" });
      return res.end();
    }
    if (url.pathname.startsWith("/v2/acme/app/blobs/uploads/u") && req.method === "PUT") {
      const digest = url.searchParams.get("digest") ?? "";
      if (sha256(body) !== digest) return json(400, { errors: [{ code: "DIGEST_INVALID", message: digest }] });
      blobs.set(digest, body);
      res.writeHead(201, { "Docker-Content-Digest": digest, Location: `/v2/acme/app/blobs/${digest}` });
      return res.end();
    }
    const blob = /^\/v2\/acme\/app\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (blob && (req.method === "HEAD" || req.method === "GET")) {
      const bytes = blobs.get(blob[1]!);
      if (!bytes) return json(404, { errors: [{ code: "BLOB_UNKNOWN", message: blob[1] }] });
      res.writeHead(200, { "Content-Length": String(bytes.length), "Docker-Content-Digest": blob[1]! });
      return res.end(req.method === "HEAD" ? undefined : bytes);
    }
    const manifest = /^\/v2\/acme\/app\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest && req.method === "PUT") {
      const digest = sha256(body);
      manifests.set(manifest[1]!, body);
      manifests.set(digest, body);
      const headers: Record<string, string> = { "Docker-Content-Digest": digest, "Content-Length": "0" };
      // "Pushing Manifests with Subject": a registry with the referrers API answers OCI-Subject and lists it.
      const parsed = JSON.parse(body.toString("utf8")) as {
        mediaType: string;
        artifactType?: string;
        config?: { mediaType: string };
        subject?: { digest: string };
        annotations?: Record<string, string>;
      };
      if (parsed.subject) {
        headers["OCI-Subject"] = parsed.subject.digest;
        const list = (pushed[parsed.subject.digest] ??= []);
        if (!list.some((d) => d.digest === digest))
          list.push({
            mediaType: parsed.mediaType,
            digest,
            size: body.length,
            artifactType: parsed.artifactType ?? parsed.config?.mediaType ?? "",
            ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
          });
      }
      res.writeHead(201, headers);
      return res.end();
    }
    if (manifest && (req.method === "HEAD" || req.method === "GET")) {
      const bytes = manifests.get(manifest[1]!);
      if (!bytes) return json(404, { errors: [{ code: "MANIFEST_UNKNOWN", message: manifest[1] }] });
      const type = (JSON.parse(bytes.toString("utf8")) as { mediaType: string }).mediaType;
      res.writeHead(200, {
        "Content-Type": type,
        "Content-Length": String(bytes.length),
        "Docker-Content-Digest": sha256(bytes),
      });
      return res.end(req.method === "HEAD" ? undefined : bytes);
    }
    // "Listing Referrers": 200 and an image index (empty when none), never 404; OCI-Filters-Applied when filtered.
    const referrers = /^\/v2\/acme\/app\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (referrers) {
      const type = url.searchParams.get("artifactType");
      const all = [...(content.referrers[referrers[1]!] ?? []), ...(pushed[referrers[1]!] ?? [])].filter(
        (d) => type === null || d.artifactType === type,
      );
      const from = Number(url.searchParams.get("page") ?? "0");
      const page = all.slice(from, from + content.referrersPage);
      const headers: Record<string, string> = { "Content-Type": "application/vnd.oci.image.index.v1+json" };
      if (type !== null) headers["OCI-Filters-Applied"] = "artifactType";
      if (from + content.referrersPage < all.length) {
        const next = new URLSearchParams({
          ...(type !== null ? { artifactType: type } : {}),
          page: String(from + content.referrersPage),
        });
        headers.Link = `<${url.pathname}?${next.toString()}>; rel="next"`;
      }
      res.writeHead(200, headers);
      res.end(
        JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: page }),
      );
      return;
    }
    json(404, { errors: [{ code: "NOT_FOUND", message: "not in the double" }] });
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  origin = `http://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    writes,
    manifests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
