// Unit: src/signing's attestation predicates — the SLSA Provenance v1 predicate (fields, key order, secrets as
// names only, refusals), SBOM recognition over real tool output (test/fixtures/sbom/README.md) and what publish
// attests (src/signing/attest.ts) — no request made.
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import {
  CYCLONEDX_PREDICATE_TYPE,
  DOCKYARD_BUILD_TYPE,
  DOCKYARD_BUILDER_ID,
  provenancePredicate,
  SBOM_MAX_BYTES,
  sbomPredicate,
  SPDX_PREDICATE_TYPE,
  type ProvenanceInput,
} from "../../src/signing/index.js";
import { publishAttestations, publishProvenance, type PublishProvenance } from "../../src/signing/attest.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const SECRET_VALUE = "canary-3b1f-npm-token-never-recorded";

const INPUT = {
  builderId: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
  commit: COMMIT,
  ref: "refs/heads/main",
  sourceUrl: "https://github.com/acme/app",
  dockerfile: "docker/Dockerfile",
  target: "runtime",
  buildArgs: [
    { name: "VERSION", value: "1.2.3" },
    { name: "BASE", value: "alpine:3.20" },
  ],
  buildSecretIds: ["npmrc", "NPM_TOKEN"],
  platforms: ["linux/amd64", "linux/arm64"],
  images: ["ghcr.io/acme/app", "docker.io/acme/app"],
  tags: ["sha-0123456", "main", "latest"],
  engineVersion: "v0.21.9",
  invocationId: "https://github.com/acme/app/actions/runs/42/attempts/1",
  startedOn: "2026-12-05T12:00:00Z",
  finishedOn: "2026-12-05T13:03:30.5+01:00",
} satisfies ProvenanceInput;

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sbom/${name}`, import.meta.url), "utf8");

/** The InvalidInputError `run` throws; fails the test when it throws nothing or something else. */
function refusal(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (e) {
    if (e instanceof InvalidInputError) return e;
    throw e;
  }
  throw new Error("accepted, expected a refusal");
}

describe("provenancePredicate", () => {
  it("writes every SLSA v1 field from the input, in a fixed key order", () => {
    const predicate = provenancePredicate(INPUT);
    expect(predicate).toEqual({
      buildDefinition: {
        buildType: DOCKYARD_BUILD_TYPE,
        externalParameters: {
          source: "https://github.com/acme/app",
          ref: "refs/heads/main",
          commit: COMMIT,
          dockerfile: "docker/Dockerfile",
          target: "runtime",
          buildArgs: { BASE: "alpine:3.20", VERSION: "1.2.3" },
          buildSecretIds: ["NPM_TOKEN", "npmrc"],
          platforms: ["linux/amd64", "linux/arm64"],
          images: ["ghcr.io/acme/app", "docker.io/acme/app"],
          tags: ["sha-0123456", "main", "latest"],
        },
        internalParameters: { engineVersion: "v0.21.9" },
        resolvedDependencies: [
          { uri: "git+https://github.com/acme/app@refs/heads/main", digest: { gitCommit: COMMIT } },
        ],
      },
      runDetails: {
        builder: { id: INPUT.builderId },
        metadata: {
          invocationId: INPUT.invocationId,
          startedOn: "2026-12-05T12:00:00Z",
          finishedOn: "2026-12-05T13:03:30.5+01:00",
        },
      },
    });
    // toEqual ignores key order; the serialized text is what gets signed.
    const keys = (o: unknown) => Object.keys(o as object);
    const definition = predicate.buildDefinition as Record<string, unknown>;
    expect(keys(predicate)).toEqual(["buildDefinition", "runDetails"]);
    expect(keys(definition)).toEqual(["buildType", "externalParameters", "internalParameters", "resolvedDependencies"]);
    expect(keys(definition.externalParameters)).toEqual([
      "source",
      "ref",
      "commit",
      "dockerfile",
      "target",
      "buildArgs",
      "buildSecretIds",
      "platforms",
      "images",
      "tags",
    ]);
  });

  it("is the same text for the same build whatever order the build args and secret ids came in", () => {
    const shuffled = {
      ...INPUT,
      buildArgs: [...INPUT.buildArgs].reverse(),
      buildSecretIds: [...INPUT.buildSecretIds].reverse(),
    };
    expect(JSON.stringify(provenancePredicate(shuffled))).toBe(JSON.stringify(provenancePredicate(INPUT)));
  });

  const optional: [string, Partial<ProvenanceInput>, (p: Record<string, unknown>) => unknown, unknown][] = [
    [
      "no sourceUrl: no source, the dependency is the commit alone",
      { sourceUrl: undefined },
      (p) => (p.buildDefinition as { resolvedDependencies: unknown }).resolvedDependencies,
      [{ digest: { gitCommit: COMMIT } }],
    ],
    [
      "no ref: the dependency's uri has no @ref",
      { ref: undefined },
      (p) => (p.buildDefinition as { resolvedDependencies: unknown }).resolvedDependencies,
      [{ uri: "git+https://github.com/acme/app", digest: { gitCommit: COMMIT } }],
    ],
    [
      "no invocation id nor times: no metadata",
      { invocationId: undefined, startedOn: undefined, finishedOn: undefined },
      (p) => p.runDetails,
      { builder: { id: INPUT.builderId } },
    ],
    [
      "a 64-hex (SHA-256) commit",
      { commit: "ab".repeat(32) },
      (p) => (p.buildDefinition as { externalParameters: { commit: string } }).externalParameters.commit,
      "ab".repeat(32),
    ],
  ];
  it.each(optional)("%s", (_, change, pick, expected) => {
    const predicate = provenancePredicate({ ...INPUT, ...change });
    expect(pick(predicate)).toEqual(expected);
    const external = (predicate.buildDefinition as { externalParameters: Record<string, unknown> }).externalParameters;
    if (change.sourceUrl === undefined && "sourceUrl" in change) expect(external).not.toHaveProperty("source");
    if (change.ref === undefined && "ref" in change) expect(external).not.toHaveProperty("ref");
  });

  it("records build secrets by id only: no value can reach it, and the ids are not build args", () => {
    const text = JSON.stringify(provenancePredicate(INPUT));
    expect(text).toContain('"buildSecretIds":["NPM_TOKEN","npmrc"]');
    expect(text).not.toContain(SECRET_VALUE);
    expect(INPUT.buildArgs.map((a) => a.name)).not.toContain("NPM_TOKEN");
  });

  const refusals: [string, Partial<ProvenanceInput>, RegExp][] = [
    ["an empty builderId", { builderId: "" }, /^provenance builderId "": must not be empty; e\.g\. "https:/],
    ["a builderId that is no URI", { builderId: "github actions" }, /builderId "github actions": is not a URI/],
    ["a short commit", { commit: "0123456" }, /commit "0123456": is not 40 or 64 lowercase hex.*git rev-parse HEAD/],
    ["an uppercase commit", { commit: COMMIT.toUpperCase() }, /commit "0123456789ABCDEF.*": is not 40 or 64 lowercase/],
    ["a 41-hex commit", { commit: `${COMMIT}8` }, /is not 40 or 64 lowercase hex digits/],
    ["an empty commit", { commit: "" }, /commit "": must not be empty; pass the full commit id/],
    ["a bare branch as ref", { ref: "main" }, /ref "main": is not a full git ref; e\.g\. "refs\/heads\/main"/],
    ["an empty ref", { ref: "" }, /ref "": must not be empty; leave it out when unknown/],
    [
      "an ssh source",
      { sourceUrl: "git@github.com:acme/app.git" },
      /sourceUrl "git@github\.com:acme\/app\.git": is not/,
    ],
    [
      "an ftp source",
      { sourceUrl: "ftp://example.com/app" },
      /sourceUrl "ftp:\/\/example\.com\/app": is not http\(s\)/,
    ],
    ["an empty dockerfile", { dockerfile: "" }, /dockerfile "": must not be empty; e\.g\. "Dockerfile"/],
    ["an empty target", { target: "" }, /target "": must not be empty; leave it out for the last stage/],
    ["a padded target", { target: " runtime" }, /target " runtime": has leading or trailing whitespace; remove it/],
    ["an empty build arg name", { buildArgs: [{ name: "", value: "x" }] }, /buildArgs "": must not be empty/],
    [
      "a build arg given twice",
      { buildArgs: [...INPUT.buildArgs, { name: "VERSION", value: "2" }] },
      /buildArgs "VERSION": is given twice; name each once/,
    ],
    ["an empty secret id", { buildSecretIds: [""] }, /buildSecretIds "": must not be empty/],
    ["no platform", { platforms: [] }, /provenance platforms: none given; pass the platforms built/],
    ["an empty platform", { platforms: [""] }, /platforms "": must not be empty; e\.g\. "linux\/amd64"/],
    ["no image", { images: [] }, /provenance images: none given/],
    ["an empty tag", { tags: [""] }, /tags "": must not be empty/],
    ["an empty engine version", { engineVersion: "" }, /engineVersion "": must not be empty; e\.g\. "v0\.21\.9"/],
    ["an empty invocation id", { invocationId: "" }, /invocationId "": must not be empty/],
    ["a Unix time", { startedOn: "1764936000" }, /startedOn "1764936000": is not an RFC 3339 date-time/],
    [
      "a time without zone",
      { startedOn: "2026-12-05T12:00:00" },
      /startedOn .*: is not an RFC 3339 date-time with a zone/,
    ],
    ["a space for T", { finishedOn: "2026-12-05 12:00:00Z" }, /finishedOn .*: is not an RFC 3339/],
    [
      "February 30",
      { startedOn: "2026-02-30T00:00:00Z" },
      /startedOn "2026-02-30T00:00:00Z": is not a date-time that exists/,
    ],
    ["hour 24", { finishedOn: "2026-12-05T24:00:00Z" }, /is not a date-time that exists/],
    ["an empty time", { startedOn: "" }, /startedOn "": must not be empty; e\.g\. "2026-01-31T12:00:00Z"/],
    [
      "finishing before starting",
      { startedOn: "2026-12-05T12:00:00Z", finishedOn: "2026-12-05T11:59:59Z" },
      /finishedOn "2026-12-05T11:59:59Z": is before startedOn 2026-12-05T12:00:00Z; pass the times in order/,
    ],
  ];
  it.each(refusals)("refuses %s, naming the field and the fix", (_, change, message) => {
    expect(refusal(() => provenancePredicate({ ...INPUT, ...change })).message).toMatch(message);
  });

  const leaks: [string, Partial<ProvenanceInput>, RegExp][] = [
    [
      "a build arg that is also a build secret id",
      { buildArgs: [...INPUT.buildArgs, { name: "NPM_TOKEN", value: SECRET_VALUE }] },
      /buildArgs "NPM_TOKEN": is also a build secret id; pass it as a build secret only/,
    ],
    [
      "a source URL with a token in it",
      { sourceUrl: `https://ci:${SECRET_VALUE}@github.com/acme/app` },
      /sourceUrl: holds credentials, which the attestation would publish/,
    ],
  ];
  it.each(leaks)("refuses %s without quoting the secret", (_, change, message) => {
    const err = refusal(() => provenancePredicate({ ...INPUT, ...change }));
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(SECRET_VALUE);
    expect(String(err.stack)).not.toContain(SECRET_VALUE);
  });
});

describe("sbomPredicate over real SBOM files", () => {
  const accepted: [string, string, Record<string, unknown>][] = [
    ["npm-sbom.spdx.json", SPDX_PREDICATE_TYPE, { spdxVersion: "SPDX-2.3", SPDXID: "SPDXRef-DOCUMENT" }],
    ["spdx-spec-v2.3-example.spdx.json", SPDX_PREDICATE_TYPE, { spdxVersion: "SPDX-2.2", name: "SPDX-Tools-v2.0" }],
    ["npm-sbom.cdx.json", CYCLONEDX_PREDICATE_TYPE, { bomFormat: "CycloneDX", specVersion: "1.5" }],
    ["cyclonedx-npm.cdx.json", CYCLONEDX_PREDICATE_TYPE, { bomFormat: "CycloneDX", specVersion: "1.6" }],
  ];
  it.each(accepted)("%s is %s, embedded as the parsed document", (name, predicateType, fields) => {
    const text = fixture(name);
    const sbom = sbomPredicate(text, name);
    expect(sbom.predicateType).toBe(predicateType);
    expect(sbom.predicate).toMatchObject(fields);
    expect(sbom.predicate).toEqual(JSON.parse(text));
  });

  it("takes a UTF-8 byte order mark before the JSON", () => {
    expect(sbomPredicate(`\uFEFF${fixture("npm-sbom.cdx.json")}`, "bom.json").predicateType).toBe(
      CYCLONEDX_PREDICATE_TYPE,
    );
  });

  const refused: [string, string, RegExp][] = [
    [
      "cyclonedx-npm.cdx.xml",
      fixture("cyclonedx-npm.cdx.xml"),
      /^SBOM "cyclonedx-npm\.cdx\.xml": is CycloneDX XML, not JSON; export it as JSON, e\.g\. `syft <image> -o spdx-json`/,
    ],
    [
      "spdx-spec-v2.3-tag-value.spdx",
      fixture("spdx-spec-v2.3-tag-value.spdx"),
      /"spdx-spec-v2\.3-tag-value\.spdx": is SPDX tag-value, not JSON; .*-o spdx-json/,
    ],
    [
      "spdx-spec-3.0.1-package_sbom.jsonld.json",
      fixture("spdx-spec-3.0.1-package_sbom.jsonld.json"),
      /is SPDX 3 JSON-LD, for which in-toto and cosign define no predicate type yet; export SPDX 2\.3 JSON/,
    ],
    [
      "rdf.xml",
      '<?xml version="1.0"?>\n<rdf:RDF xmlns:spdx="http://spdx.org/rdf/terms#">',
      /"rdf\.xml": is SPDX RDF\/XML, not JSON/,
    ],
    ["sbom.yaml", "spdxVersion: SPDX-2.3\nname: x\n", /"sbom\.yaml": is SPDX YAML, not JSON/],
    ["empty.json", "  \n", /"empty\.json": is empty; export it as JSON/],
    ["broken.json", fixture("npm-sbom.cdx.json").slice(0, 200), /"broken\.json": is not JSON; export it as JSON/],
    ["list.json", "[]", /"list\.json": is JSON but not an object/],
    ["spdx1.json", '{"spdxVersion":"SPDX-1.2"}', /"spdx1\.json": has spdxVersion "SPDX-1\.2", not SPDX-2\.x/],
    ["other.json", '{"bomFormat":"SWID"}', /has bomFormat "SWID" and specVersion undefined; a CycloneDX JSON BOM has/],
    [
      "statement.json",
      '{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document"}',
      /is already an in-toto statement or DSSE envelope; pass the SBOM document itself/,
    ],
    [
      "package.json",
      '{"name":"app","version":"1.0.0"}',
      /"package\.json": is JSON with neither spdxVersion \(SPDX 2\.x\) nor bomFormat \(CycloneDX\)/,
    ],
  ];
  it.each(refused)("refuses %s, naming the file, what it is and the fix", (source, text, message) => {
    expect(refusal(() => sbomPredicate(text, source)).message).toMatch(message);
  });

  it("refuses an SBOM over 16 MiB before parsing it", () => {
    const doc = fixture("npm-sbom.cdx.json");
    const padded = doc.replace(/\}\s*$/, `,"padding":"${"x".repeat(SBOM_MAX_BYTES)}"}`);
    expect(refusal(() => sbomPredicate(padded, "huge.cdx.json")).message).toMatch(
      /^SBOM "huge\.cdx\.json": is \d+ bytes, over the 16777216-byte \(16 MiB\) limit of one attestation; attest a smaller SBOM/,
    );
  });

  it("refuses an empty source name", () => {
    expect(refusal(() => sbomPredicate("{}", "")).message).toMatch(/^SBOM source: must not be empty; name the file/);
  });
});

describe("publish's attestations (src/signing/attest.ts)", () => {
  const KNOWN: PublishProvenance = {
    commit: COMMIT,
    refs: ["refs/heads/main"],
    platforms: ["linux/amd64"],
    images: ["ghcr.io/acme/app"],
    tags: ["0123456", "main"],
    engineVersion: "v0.21.9",
    startedOn: "2026-12-05T12:00:00.000Z",
  };

  it.each([
    { what: "one full ref", refs: ["refs/heads/main"], ref: "refs/heads/main" },
    { what: "several git tags at HEAD", refs: ["refs/tags/v1.0.0", "refs/tags/v1"], ref: undefined },
    { what: "no ref", refs: [], ref: undefined },
  ])("records the ref only when the tags came from $what", ({ refs, ref }) => {
    expect(publishProvenance({ ...KNOWN, refs }).ref).toBe(ref);
  });

  it("builder.id is the module itself; containers built elsewhere record no Dockerfile, target, args or secrets", () => {
    const [provenance] = publishAttestations(publishProvenance(KNOWN), undefined, "2026-12-05T12:01:00Z");
    expect(provenance).toMatchObject({ kind: "provenance", predicateType: "https://slsa.dev/provenance/v1" });
    const predicate = provenance!.predicate as {
      buildDefinition: { externalParameters: Record<string, unknown> };
      runDetails: { builder: { id: string }; metadata: Record<string, string> };
    };
    expect(predicate.runDetails.builder.id).toBe(DOCKYARD_BUILDER_ID);
    expect(predicate.runDetails.metadata).toEqual({
      startedOn: KNOWN.startedOn,
      finishedOn: "2026-12-05T12:01:00Z",
    });
    expect(Object.keys(predicate.buildDefinition.externalParameters)).toEqual([
      "ref",
      "commit",
      "platforms",
      "images",
      "tags",
    ]);
  });

  it("the SBOM follows the provenance; neither when not asked", () => {
    const sbom = sbomPredicate(fixture("npm-sbom.spdx.json"), "--sbom");
    const both = publishAttestations(publishProvenance(KNOWN), sbom, "2026-12-05T12:01:00Z");
    expect(both.map((a) => a.kind)).toEqual(["provenance", "sbom"]);
    expect(both[1]).toEqual({ kind: "sbom", ...sbom });
    expect(publishAttestations(undefined, undefined, "2026-12-05T12:01:00Z")).toEqual([]);
  });
});
