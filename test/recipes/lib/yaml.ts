// YAML loading shared by the GitHub and GitLab checks (npm `yaml`, YAML 1.2 core schema, as both CIs read `on:`).
import { parseDocument, type CollectionTag } from "yaml";

// GitLab's `!reference [job, key]` tag: a sequence, kept as one so the schema sees an array.
const gitlabReference: CollectionTag = {
  tag: "!reference",
  collection: "seq",
  resolve: (value) => value,
};

/** Parse errors and warnings (duplicate keys, unknown tags), one line each. */
export function yamlFindings(text: string): string[] {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, customTags: [gitlabReference] });
  return [...doc.errors, ...doc.warnings].map((e) => `yaml ${e.code} at ${e.linePos?.[0]?.line ?? "?"}: ${e.message}`);
}

/** The document as plain data; throws on any parse error (run `yamlFindings` for the list). */
export function loadYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, customTags: [gitlabReference] });
  if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]?.message ?? ""}`);
  return doc.toJS({ maxAliasCount: 100 });
}

export type Dict = Record<string, unknown>;

export function isDict(x: unknown): x is Dict {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export function dict(x: unknown): Dict {
  return isDict(x) ? x : {};
}

export function str(x: unknown): string | undefined {
  return typeof x === "string" ? x : typeof x === "number" || typeof x === "boolean" ? String(x) : undefined;
}
