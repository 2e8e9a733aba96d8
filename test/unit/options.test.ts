// Rung 1 (types) covers the signatures; this file is build args, labels, platforms, secret ids and metadata.
import { describe, expect, it } from "vitest";

import { parseBuildArgs, parseLabels, validatePlatforms, validateSecretId } from "../../src/keyvalue.js";
import { computeMetadata } from "../../src/metadata.js";
import { ociLabels } from "../../src/labels.js";
import { COMMIT } from "../fixtures/commits.js";

describe("parseBuildArgs", () => {
  it.each([
    { input: ["A=1"], want: [{ name: "A", value: "1" }] },
    { input: ["URL=a=b=c"], want: [{ name: "URL", value: "a=b=c" }] },
    { input: ["EMPTY="], want: [{ name: "EMPTY", value: "" }] },
    { input: [], want: [] },
  ])("$input", ({ input, want }) => {
    expect(parseBuildArgs(input)).toEqual(want);
  });

  it.each([
    { input: "NOVALUE", match: /buildArgs "NOVALUE": must be NAME=VALUE/ },
    { input: "=x", match: /buildArgs "=x": must be NAME=VALUE/ },
    { input: "1A=x", match: /buildArgs "1A=x": "1A" is not a valid build argument name/ },
    { input: "A B=x", match: /buildArgs "A B=x"/ },
  ])("rejects $input", ({ input, match }) => {
    expect(() => parseBuildArgs([input])).toThrow(match);
  });
});

describe("parseLabels", () => {
  it("parses key=value", () => {
    expect(parseLabels(["a.b=c=d"])).toEqual([{ name: "a.b", value: "c=d" }]);
  });
  it("rejects a label without =", () => {
    expect(() => parseLabels(["team"])).toThrow(/labels "team": must be NAME=VALUE/);
  });
});

describe("validatePlatforms", () => {
  it("accepts os/arch and os/arch/variant", () => {
    expect(validatePlatforms(["linux/amd64", "linux/arm64/v8", "linux/arm/v7"])).toHaveLength(3);
  });
  it.each([
    { input: ["amd64"], match: /platform "amd64": must be os\/arch/ },
    { input: ["Linux/AMD64"], match: /platform "Linux\/AMD64"/ },
    { input: ["linux/amd64", "linux/amd64"], match: /platform "linux\/amd64": given twice/ },
  ])("rejects $input", ({ input, match }) => {
    expect(() => validatePlatforms(input)).toThrow(match);
  });
});

describe("validateSecretId", () => {
  it.each(["npmrc", "NPM_TOKEN", "a.b-c"])("accepts %s", (id) => expect(validateSecretId(id)).toBe(id));
  it.each(["", "../x", "a/b", ".hidden", "-x"])("rejects %j", (id) => {
    expect(() => validateSecretId(id)).toThrow(`build secret id "${id}"`);
  });
});

describe("ociLabels", () => {
  it.each([
    {
      rule: "revision and version always; title, source, created only when given",
      input: { commit: COMMIT, version: "1.2.3" },
      want: { "org.opencontainers.image.revision": COMMIT, "org.opencontainers.image.version": "1.2.3" },
    },
    {
      rule: "all five",
      input: { commit: COMMIT, version: "v", title: "app", sourceUrl: "https://x/y", created: "2026-01-01T00:00:00Z" },
      want: {
        "org.opencontainers.image.revision": COMMIT,
        "org.opencontainers.image.version": "v",
        "org.opencontainers.image.title": "app",
        "org.opencontainers.image.source": "https://x/y",
        "org.opencontainers.image.created": "2026-01-01T00:00:00Z",
      },
    },
    {
      rule: "user labels override and add",
      input: {
        commit: COMMIT,
        version: "1",
        overrides: [
          { name: "org.opencontainers.image.version", value: "custom" },
          { name: "team", value: "core" },
        ],
      },
      want: { "org.opencontainers.image.revision": COMMIT, "org.opencontainers.image.version": "custom", team: "core" },
    },
  ])("$rule", ({ input, want }) => {
    expect(Object.fromEntries(ociLabels(input).map((l) => [l.name, l.value]))).toEqual(want);
  });
});

describe("computeMetadata", () => {
  it.each([
    {
      rule: "branch: version is the first ref tag",
      ref: "refs/heads/Feature/X",
      want: {
        branch: "Feature/X",
        gitTag: "",
        pullRequest: 0,
        version: "feature-x",
        tags: [COMMIT.slice(0, 7), "feature-x"],
      },
    },
    {
      rule: "semver tag: version is the semver version",
      ref: "refs/tags/v1.4.0",
      want: {
        branch: "",
        gitTag: "v1.4.0",
        pullRequest: 0,
        version: "1.4.0",
        tags: [COMMIT.slice(0, 7), "1.4.0", "1.4", "1", "latest"],
      },
    },
    {
      rule: "pull request",
      ref: "refs/pull/12/merge",
      want: { branch: "", gitTag: "", pullRequest: 12, version: "pr-12", tags: [COMMIT.slice(0, 7), "pr-12"] },
    },
    {
      rule: "no ref: version is the sha tag",
      ref: undefined,
      want: { branch: "", gitTag: "", pullRequest: 0, version: COMMIT.slice(0, 7), tags: [COMMIT.slice(0, 7)] },
    },
  ])("$rule", ({ ref, want }) => {
    const m = computeMetadata({ commit: COMMIT.toUpperCase(), ref });
    expect(m).toMatchObject({ commit: COMMIT, shortSha: COMMIT.slice(0, 7), ref: ref ?? "", dirty: false, ...want });
    expect(m.labels).toContain(`org.opencontainers.image.revision=${COMMIT}`);
    expect(m.labels).toContain(`org.opencontainers.image.version=${want.version}`);
  });

  it("same input, same labels: no wall clock", () => {
    const a = computeMetadata({ commit: COMMIT, ref: "main" });
    const b = computeMetadata({ commit: COMMIT, ref: "main" });
    expect(a.labels).toEqual(b.labels);
    expect(a.labels.some((l) => l.startsWith("org.opencontainers.image.created="))).toBe(false);
  });
});
