/**
 * A repository's tags (`GET /v2/<name>/tags/list`), page after page by the `Link: <…>; rel="next"` header
 * (OCI distribution spec v1.1, "Listing Tags"; RFC 8288 for the header), bounded so a looping registry ends.
 */
import { checkRepository } from "./reference.js";
import { RegistrySession } from "./http.js";

const MAX_PAGES = 1000;

/** The target of the `rel="next"` link in a `Link` header value, or undefined. */
export function nextLink(header: string | null): string | undefined {
  for (const link of (header ?? "").matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(link[2] ?? "");
    if ((rels?.[1] ?? rels?.[2] ?? "").toLowerCase().split(/\s+/).includes("next")) return link[1];
  }
  return undefined;
}

/** Every tag of `repository`, in the registry's order; [] when the repository does not exist. */
export async function listTags(s: RegistrySession, repository: string, pageSize?: number): Promise<string[]> {
  checkRepository(repository);
  if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize > 0))
    throw new RangeError(`pageSize ${pageSize}: give a whole number above 0`);
  const tags: string[] = [];
  let path: string | undefined = pageSize ? `tags/list?n=${pageSize}` : "tags/list";
  for (let page = 0; path !== undefined; page++) {
    if (page >= MAX_PAGES)
      throw new Error(`tags of ${repository}: more than ${MAX_PAGES} pages; the registry's Link loops`);
    const answer: { tags: string[]; next: string | undefined } = await s.send(
      { method: "GET", repository, path, scope: RegistrySession.scope(repository, false), ok: [200, 404] },
      async (res) => {
        if (res.status === 404) return (await res.arrayBuffer(), { tags: [], next: undefined });
        const body = (await res.json()) as { tags?: unknown };
        const list = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === "string") : [];
        return { tags: list, next: nextLink(res.headers.get("link")) };
      },
      `list tags of ${repository}`,
    );
    tags.push(...answer.tags);
    path = answer.next;
  }
  return tags;
}
