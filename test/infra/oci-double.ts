// Rung 3 (engine double): an HTTP double of what docker-registry 2.8.2 lacks: tags/list pagination and the OCI 1.1
// referrers API, by the rules of the OCI distribution spec v1.1.0 (spec.md, "Content Discovery"), behind an
// anonymous Bearer challenge as public repositories on GHCR and Docker Hub answer.
import http from "node:http";

export interface DoubleDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
}

export interface OciDouble {
  readonly host: string;
  /** Request paths with their query, in arrival order. */
  readonly requests: string[];
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

export async function startOciDouble(content: DoubleContent): Promise<OciDouble> {
  const requests: string[] = [];
  let origin = "";
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    requests.push(`${url.pathname}${url.search}`);
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
    // "Listing Referrers": 200 and an image index (empty when none), never 404; OCI-Filters-Applied when filtered.
    const referrers = /^\/v2\/acme\/app\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (referrers) {
      const type = url.searchParams.get("artifactType");
      const all = (content.referrers[referrers[1]!] ?? []).filter((d) => type === null || d.artifactType === type);
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
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  origin = `http://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
