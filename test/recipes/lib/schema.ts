// JSON-schema validation of CI files against vendored schemas (see test/fixtures/recipes/README.md for their sources).
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

import { loadYaml } from "./yaml.js";

const FIXTURES = new URL("../../fixtures/recipes/", import.meta.url);

const cache = new Map<string, ValidateFunction>();

function validator(file: string): ValidateFunction {
  let v = cache.get(file);
  if (!v) {
    const schema = JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8")) as object;
    // Both schemas are draft-07 written for editors: formats and some keywords are advisory, not ours to enforce.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    v = ajv.compile(schema);
    cache.set(file, v);
  }
  return v;
}

function describe(e: ErrorObject): string {
  const extra = e.keyword === "additionalProperties" ? ` "${String(e.params.additionalProperty)}"` : "";
  const allowed = e.keyword === "enum" ? ` ${JSON.stringify(e.params.allowedValues)}` : "";
  return `schema ${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}${allowed}`;
}

function findings(file: string, text: string): string[] {
  const v = validator(file);
  if (v(loadYaml(text))) return [];
  return [...new Set((v.errors ?? []).map(describe))];
}

/** SchemaStore's github-workflow.json. */
export function githubSchemaFindings(text: string): string[] {
  return findings("github-workflow.schema.json", text);
}

/** GitLab's own CI schema (app/assets/javascripts/editor/schema/ci.json), as gitlab-ci-local bundles it. */
export function gitlabSchemaFindings(text: string): string[] {
  return findings("gitlab-ci.schema.json", text);
}
