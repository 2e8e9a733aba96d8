// Rung 3 (engine double): one registry of the memory backend, held in memory and served on loopback HTTP by the
// rules of the OCI distribution spec v1.1.0 (spec.md: "Pulling manifests", "Pushing blobs", "Pushing manifests",
// "Listing Tags") and distribution 2.8's answers (relative Locations, NAME_UNKNOWN for an unknown repository,
// MANIFEST_BLOB_UNKNOWN for a manifest whose blobs or children are missing), behind Basic auth when it has users.
// The engine side of the double writes into it directly; the module's own registry client reaches it over HTTP.
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A tag written over HTTP (by the module's own client), with the Basic-auth user that wrote it. */
export interface HttpTagWrite {
  repository: string;
  tag: string;
  digest: string;
  username?: string;
}

export interface StoredManifest {
  mediaType: string;
  bytes: Buffer;
}

const digestOf = (bytes: Buffer): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
// Distribution's path grammar for a repository name (reference/regexp.go), then the route.
const ROUTE =
  /^\/v2\/((?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)\/(manifests\/[^/]+|blobs\/uploads\/[^/]*|blobs\/[^/]+|tags\/list)$/;

interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

class Answer extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class MemoryRegistry {
  /** "METHOD /path?query" of every HTTP request, in arrival order (the engine side's writes are not requests). */
  readonly requests: string[] = [];
  private readonly blobs = new Map<string, Buffer>();
  private readonly linked = new Map<string, Set<string>>();
  private readonly manifests = new Map<string, Map<string, StoredManifest>>();
  private readonly tagged = new Map<string, Map<string, string>>();
  private readonly uploads = new Map<string, { repository: string; chunks: Buffer[] }>();
  private server: http.Server | undefined;
  private started: Promise<string> | undefined;

  constructor(
    /** The host image references name it by ("ghcr.io", "reg.local:5000"). */
    readonly host: string,
    private readonly users?: Readonly<Record<string, string>>,
    private readonly onHttpTag: (write: HttpTagWrite) => void = () => undefined,
  ) {}

  /** Stores a blob in a repository, as a finished upload does. */
  putBlob(repository: string, bytes: Buffer): string {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    this.links(repository).add(digest);
    return digest;
  }

  /** Stores a manifest by digest and, for a tag reference, moves the tag; refuses one whose blobs are missing. */
  putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): string {
    const digest = digestOf(bytes);
    if (DIGEST.test(reference) && reference !== digest)
      throw new Answer(400, "DIGEST_INVALID", `provided digest ${reference} does not match content ${digest}`);
    for (const child of this.references(bytes)) {
      const known = child.manifest
        ? this.manifests.get(repository)?.has(child.digest)
        : this.links(repository).has(child.digest);
      if (!known) throw new Answer(400, "MANIFEST_BLOB_UNKNOWN", `blob unknown to registry: ${child.digest}`);
    }
    let byDigest = this.manifests.get(repository);
    if (!byDigest) this.manifests.set(repository, (byDigest = new Map()));
    byDigest.set(digest, { mediaType, bytes });
    if (!DIGEST.test(reference)) {
      let tags = this.tagged.get(repository);
      if (!tags) this.tagged.set(repository, (tags = new Map()));
      tags.set(reference, digest);
    }
    return digest;
  }

  /** The manifest a tag or digest names in a repository, if any. */
  manifest(repository: string, reference: string): (StoredManifest & { digest: string }) | undefined {
    const digest = DIGEST.test(reference) ? reference : this.tagged.get(repository)?.get(reference);
    const found = digest === undefined ? undefined : this.manifests.get(repository)?.get(digest);
    return found && digest !== undefined ? { ...found, digest } : undefined;
  }

  /** A blob's bytes, if the repository holds it. */
  blob(repository: string, digest: string): Buffer | undefined {
    return this.links(repository).has(digest) ? this.blobs.get(digest) : undefined;
  }

  /** The repository's tags, sorted as tags/list sorts them. */
  tags(repository: string): string[] {
    return [...(this.tagged.get(repository)?.keys() ?? [])].sort();
  }

  /** Starts serving on 127.0.0.1 (once); resolves with "127.0.0.1:<port>". */
  listen(): Promise<string> {
    this.started ??= new Promise<string>((resolve, reject) => {
      const server = http.createServer((req, res) => void this.handle(req, res));
      this.server = server;
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.unref(); // an idle double never keeps a test process alive
        resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      });
    });
    return this.started;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private links(repository: string): Set<string> {
    let set = this.linked.get(repository);
    if (!set) this.linked.set(repository, (set = new Set()));
    return set;
  }

  /** What a manifest points at: an index's children (manifests), an image's config and layers (blobs). */
  private references(bytes: Buffer): { digest: string; manifest: boolean }[] {
    const body = JSON.parse(bytes.toString("utf8")) as {
      manifests?: { digest: string }[];
      config?: { digest: string };
      layers?: { digest: string }[];
    };
    if (body.manifests) return body.manifests.map((m) => ({ digest: m.digest, manifest: true }));
    return [body.config, ...(body.layers ?? [])]
      .filter((d): d is { digest: string } => d !== undefined)
      .map((d) => ({ digest: d.digest, manifest: false }));
  }

  private knownRepository(repository: string): boolean {
    return this.linked.has(repository) || this.manifests.has(repository);
  }

  /** The Basic-auth user of a request, when it sent one. */
  private basicUser(req: http.IncomingMessage): { username: string; password: string } | undefined {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Basic ")) return undefined;
    const plain = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = plain.indexOf(":");
    return colon > 0 ? { username: plain.slice(0, colon), password: plain.slice(colon + 1) } : undefined;
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.users) return true;
    const user = this.basicUser(req);
    return user !== undefined && this.users[user.username] === user.password;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const method = req.method ?? "GET";
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    try {
      if (!this.authorized(req))
        throw new Answer(401, "UNAUTHORIZED", "authentication required", {
          "WWW-Authenticate": `Basic realm="${this.host}"`,
        });
      const answer = this.route(method, url, body, req.headers["content-type"] ?? "");
      const tagged = method === "PUT" ? /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname) : null;
      if (tagged && !DIGEST.test(decodeURIComponent(tagged[2]!))) {
        const username = this.basicUser(req)?.username;
        this.onHttpTag({
          repository: tagged[1]!,
          tag: decodeURIComponent(tagged[2]!),
          digest: answer.headers["Docker-Content-Digest"] ?? "",
          ...(username !== undefined ? { username } : {}),
        });
      }
      res.writeHead(answer.status, answer.headers);
      res.end(method === "HEAD" ? undefined : answer.body);
    } catch (e) {
      const a = e instanceof Answer ? e : new Answer(500, "UNKNOWN", `engine double: ${String(e)}`);
      res.writeHead(a.status, { "Content-Type": "application/json", ...a.headers });
      res.end(method === "HEAD" ? undefined : JSON.stringify({ errors: [{ code: a.code, message: a.message }] }));
    }
  }

  private route(method: string, url: URL, body: Buffer, contentType: string): Reply {
    if (url.pathname === "/v2/" && method === "GET")
      return { status: 200, headers: { "Content-Type": "application/json" }, body: "{}" };
    const route = ROUTE.exec(url.pathname);
    if (!route) throw new Answer(404, "NOT_FOUND", `engine double: ${method} ${url.pathname} is not modelled`);
    const repository = route[1]!;
    const tail = route[2]!;
    if (tail.startsWith("manifests/"))
      return this.manifestRoute(
        method,
        repository,
        decodeURIComponent(tail.slice("manifests/".length)),
        body,
        contentType,
      );
    if (tail === "tags/list") {
      if (method !== "GET") throw unsupported(method, url);
      if (!this.tagged.has(repository)) throw new Answer(404, "NAME_UNKNOWN", "repository name not known to registry");
      return json(200, { name: repository, tags: this.tags(repository) });
    }
    if (tail.startsWith("blobs/uploads/"))
      return this.uploadRoute(method, url, repository, tail.slice("blobs/uploads/".length), body);
    return this.blobRoute(method, url, repository, tail.slice("blobs/".length));
  }

  private manifestRoute(
    method: string,
    repository: string,
    reference: string,
    body: Buffer,
    contentType: string,
  ): Reply {
    if (method === "PUT") {
      if (contentType === "") throw new Answer(400, "MANIFEST_INVALID", "manifest invalid: no Content-Type");
      const digest = this.putManifest(repository, reference, contentType, body);
      return {
        status: 201,
        headers: { Location: `/v2/${repository}/manifests/${digest}`, "Docker-Content-Digest": digest },
      };
    }
    if (method !== "GET" && method !== "HEAD") throw new Answer(405, "UNSUPPORTED", `${method} on a manifest`);
    const found = this.manifest(repository, reference);
    if (!found) {
      if (!this.knownRepository(repository))
        throw new Answer(404, "NAME_UNKNOWN", "repository name not known to registry");
      throw new Answer(404, "MANIFEST_UNKNOWN", `manifest unknown: ${reference}`);
    }
    return {
      status: 200,
      headers: {
        "Content-Type": found.mediaType,
        "Content-Length": String(found.bytes.length),
        "Docker-Content-Digest": found.digest,
      },
      body: found.bytes,
    };
  }

  private blobRoute(method: string, url: URL, repository: string, digest: string): Reply {
    if (method !== "GET" && method !== "HEAD") throw unsupported(method, url);
    const bytes = this.blob(repository, digest);
    if (!bytes) throw new Answer(404, "BLOB_UNKNOWN", `blob unknown to registry: ${digest}`);
    return {
      status: 200,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(bytes.length),
        "Docker-Content-Digest": digest,
      },
      body: bytes,
    };
  }

  private uploadRoute(method: string, url: URL, repository: string, id: string, body: Buffer): Reply {
    const finished = (digest: string): Reply => ({
      status: 201,
      headers: { Location: `/v2/${repository}/blobs/${digest}`, "Docker-Content-Digest": digest },
    });
    if (method === "POST" && id === "") {
      const mount = url.searchParams.get("mount");
      const from = url.searchParams.get("from");
      if (mount !== null && from !== null && this.blob(from, mount)) {
        this.links(repository).add(mount);
        return finished(mount);
      }
      const digest = url.searchParams.get("digest");
      if (digest !== null && mount === null) return finished(this.finishUpload(repository, [body], digest));
      const uuid = randomUUID();
      this.uploads.set(uuid, { repository, chunks: [] });
      return { status: 202, headers: uploadHeaders(repository, uuid, 0) };
    }
    const upload = this.uploads.get(id);
    if (!upload || upload.repository !== repository)
      throw new Answer(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
    upload.chunks.push(body);
    const size = upload.chunks.reduce((n, c) => n + c.length, 0);
    if (method === "PATCH") return { status: 202, headers: uploadHeaders(repository, id, size) };
    if (method !== "PUT") throw unsupported(method, url);
    this.uploads.delete(id);
    return finished(this.finishUpload(repository, upload.chunks, url.searchParams.get("digest") ?? ""));
  }

  private finishUpload(repository: string, chunks: Buffer[], expected: string): string {
    const bytes = Buffer.concat(chunks);
    if (digestOf(bytes) !== expected)
      throw new Answer(400, "DIGEST_INVALID", `provided digest did not match uploaded content`);
    return this.putBlob(repository, bytes);
  }
}

function uploadHeaders(repository: string, uuid: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${repository}/blobs/uploads/${uuid}`,
    Range: `0-${Math.max(size - 1, 0)}`,
    "Docker-Upload-UUID": uuid,
    "Content-Length": "0",
  };
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

function unsupported(method: string, url: URL): Answer {
  return new Answer(405, "UNSUPPORTED", `engine double: ${method} ${url.pathname} is not modelled`);
}
