/**
 * An SBOM file as an in-toto predicate: SPDX 2.x JSON or CycloneDX JSON, recognised by its own fields and embedded
 * as parsed JSON, as cosign's `attest --type spdxjson|cyclonedx` does. Anything else is refused with the fix.
 */
import { InvalidInputError } from "../errors/index.js";

/** in-toto's SPDX predicate (in-toto/attestation spec/predicates/spdx.md; in-toto-golang PredicateSPDX, cosign's). */
export const SPDX_PREDICATE_TYPE = "https://spdx.dev/Document";
/** in-toto's CycloneDX predicate (spec/predicates/cyclonedx.md; in-toto-golang PredicateCycloneDX, cosign's). */
export const CYCLONEDX_PREDICATE_TYPE = "https://cyclonedx.org/bom";
/**
 * 16 MiB: the SBOM is held several times over (text, parsed, base64 in the DSSE envelope, the whole envelope in the
 * Rekor request, the bundle blob), so memory and upload stay bounded; a whole-image syft SBOM is a few MiB.
 */
export const SBOM_MAX_BYTES = 16 * 1024 * 1024;

export interface SbomPredicate {
  predicateType: string;
  predicate: Record<string, unknown>;
}

const JSON_FIX = "export it as JSON, e.g. `syft <image> -o spdx-json` or `syft <image> -o cyclonedx-json`";

const refuse = (source: string, found: string, fix: string): never => {
  throw new InvalidInputError(`SBOM ${JSON.stringify(source)}: ${found}; ${fix}`);
};

/** What a non-JSON SBOM text is, for the refusal; undefined when it looks like nothing known. */
function otherFormat(text: string): string | undefined {
  if (/^\s*</.test(text)) {
    if (/cyclonedx\.org\/schema\/bom/.test(text)) return "CycloneDX XML";
    if (/spdx\.org\/rdf/.test(text)) return "SPDX RDF/XML";
    return "XML";
  }
  if (/^\s*SPDXVersion:\s*SPDX-/m.test(text)) return "SPDX tag-value";
  if (/^\s*spdxVersion:\s*["']?SPDX-/m.test(text)) return "SPDX YAML";
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function contextNames(context: unknown): string[] {
  if (typeof context === "string") return [context];
  return Array.isArray(context) ? context.filter((c): c is string => typeof c === "string") : [];
}

/** `text` is the SBOM file's content, `source` its name for messages (e.g. "sbom.spdx.json"). */
export function sbomPredicate(text: string, source: string): SbomPredicate {
  if (source === "")
    throw new InvalidInputError('SBOM source: must not be empty; name the file, e.g. "sbom.spdx.json"');
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > SBOM_MAX_BYTES)
    refuse(
      source,
      `is ${bytes} bytes, over the ${SBOM_MAX_BYTES}-byte (16 MiB) limit of one attestation`,
      "attest a smaller SBOM, e.g. one image's packages without file listings (syft --select-catalogers)",
    );
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") refuse(source, "is empty", JSON_FIX);
  const other = otherFormat(body);
  if (other) refuse(source, `is ${other}, not JSON`, JSON_FIX);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    // The parser's message quotes a piece of the text: not passed on.
    refuse(source, "is not JSON", JSON_FIX);
  }
  if (!isObject(doc)) refuse(source, "is JSON but not an object", JSON_FIX);
  const document = doc as Record<string, unknown>;

  if ("spdxVersion" in document) {
    const version = document.spdxVersion;
    if (typeof version === "string" && /^SPDX-2\.\d+$/.test(version))
      return { predicateType: SPDX_PREDICATE_TYPE, predicate: document };
    refuse(source, `has spdxVersion ${JSON.stringify(version)}, not SPDX-2.x`, JSON_FIX);
  }
  if (contextNames(document["@context"]).some((c) => /spdx\.org\/rdf\/3\./.test(c)))
    refuse(
      source,
      "is SPDX 3 JSON-LD, for which in-toto and cosign define no predicate type yet",
      "export SPDX 2.3 JSON (`syft <image> -o spdx-json`) or CycloneDX JSON (`syft <image> -o cyclonedx-json`)",
    );
  if ("bomFormat" in document) {
    if (document.bomFormat === "CycloneDX" && typeof document.specVersion === "string")
      return { predicateType: CYCLONEDX_PREDICATE_TYPE, predicate: document };
    refuse(
      source,
      `has bomFormat ${JSON.stringify(document.bomFormat)} and specVersion ${JSON.stringify(document.specVersion)}`,
      `a CycloneDX JSON BOM has "bomFormat": "CycloneDX" and a "specVersion"; ${JSON_FIX}`,
    );
  }
  if ("predicateType" in document || "payloadType" in document)
    refuse(source, "is already an in-toto statement or DSSE envelope", "pass the SBOM document itself");
  return refuse(source, "is JSON with neither spdxVersion (SPDX 2.x) nor bomFormat (CycloneDX)", JSON_FIX);
}
