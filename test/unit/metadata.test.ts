// Unit: metadata and OCI labels derived from a commit and its refs, and Metadata.labels read back
// (src/tags/metadata.ts, src/tags/labels.ts).
import { describe, expect, it } from "vitest";

import { DIRTY_LABEL, formatLabels, ociLabels, parseFormattedLabels } from "../../src/tags/labels.js";
import { computeMetadata, type MetadataInput } from "../../src/tags/metadata.js";
import { TagCollisionError } from "../../src/errors/index.js";
import { COMMIT } from "../fixtures/commits.js";

const BASE: MetadataInput = {
  commit: COMMIT,
  refs: [],
  shaLength: 7,
  latest: "auto",
  userTags: [],
  labels: [],
  dirty: false,
};
const sha7 = COMMIT.slice(0, 7);

describe("computeMetadata", () => {
  it.each([
    {
      rule: "branch",
      refs: ["refs/heads/feature/x"],
      want: { branch: "feature/x", gitTag: "", pullRequest: 0, version: "feature-x", tags: [sha7, "feature-x"] },
    },
    {
      rule: "semver tag: the version",
      refs: ["refs/tags/v2.3.4"],
      want: { branch: "", gitTag: "v2.3.4", version: "2.3.4", tags: [sha7, "2.3.4", "2.3", "2", "latest"] },
    },
    {
      rule: "pull request",
      refs: ["refs/pull/12/merge"],
      want: { pullRequest: 12, version: "pr-12", tags: [sha7, "pr-12"] },
    },
    { rule: "no ref: version is the sha tag", refs: [], want: { ref: "", version: sha7, tags: [sha7] } },
    {
      rule: "git tag not semver: version is its tag-<slug>",
      refs: ["refs/tags/nightly"],
      want: { gitTag: "nightly", version: "tag-nightly", tags: [sha7, "tag-nightly"] },
    },
    {
      rule: "semver past 2^53: the version as written",
      refs: ["refs/tags/v9007199254740993.1.0"],
      want: { version: "9007199254740993.1.0", tags: [sha7, "9007199254740993.1.0", "9007199254740993.1", "latest"] },
    },
    {
      rule: "several tags at a detached HEAD: the first ref is the ref",
      refs: ["refs/tags/v1.1.0", "refs/tags/nightly"],
      want: { ref: "refs/tags/v1.1.0", gitTag: "v1.1.0", version: "1.1.0" },
    },
  ])("$rule", ({ refs, want }) => {
    const m = computeMetadata({ ...BASE, refs });
    expect(m).toMatchObject({ commit: COMMIT, shortSha: sha7, ref: refs[0] ?? "", dirty: false, ...want });
    expect(m.labels).toContainEqual({ name: "org.opencontainers.image.revision", value: COMMIT });
    expect(m.labels).toContainEqual({ name: "org.opencontainers.image.version", value: m.version });
  });

  it("a branch whose tag another rule owns is refused, as computeTags refuses it", () => {
    expect(() => computeMetadata({ ...BASE, refs: ["refs/heads/latest"], latest: "never" })).toThrow(TagCollisionError);
  });

  it("same input, same labels: no wall clock", () => {
    const a = computeMetadata({ ...BASE, refs: ["main"] });
    expect(computeMetadata({ ...BASE, refs: ["main"] }).labels).toEqual(a.labels);
    expect(a.labels.some((l) => l.name === "org.opencontainers.image.created")).toBe(false);
  });
});

describe("ociLabels", () => {
  it.each([
    {
      rule: "revision and version always; title, source, created when given",
      input: {
        commit: COMMIT,
        version: "1.0.0",
        title: "app",
        sourceUrl: "https://git.example/a",
        created: "2026-01-01T00:00:00Z",
      },
      want: [
        ["org.opencontainers.image.revision", COMMIT],
        ["org.opencontainers.image.version", "1.0.0"],
        ["org.opencontainers.image.title", "app"],
        ["org.opencontainers.image.source", "https://git.example/a"],
        ["org.opencontainers.image.created", "2026-01-01T00:00:00Z"],
      ],
    },
    {
      rule: "a working folder that differs from the commit is labelled",
      input: { commit: COMMIT, version: "main", dirty: true },
      want: [
        ["org.opencontainers.image.revision", COMMIT],
        ["org.opencontainers.image.version", "main"],
        [DIRTY_LABEL, "true"],
      ],
    },
    {
      rule: "user labels override, in place",
      input: {
        commit: COMMIT,
        version: "main",
        overrides: [
          { name: "org.opencontainers.image.version", value: "v9" },
          { name: "team", value: "core" },
        ],
      },
      want: [
        ["org.opencontainers.image.revision", COMMIT],
        ["org.opencontainers.image.version", "v9"],
        ["team", "core"],
      ],
    },
  ])("$rule", ({ input, want }) => {
    expect(ociLabels(input).map((l) => [l.name, l.value])).toEqual(want);
  });
});

describe("parseFormattedLabels: Metadata.labels back as name and value (Metadata.apply)", () => {
  it.each([
    { rule: "none", labels: [], want: [] },
    { rule: "key=value", labels: ["team=core"], want: [["team", "core"]] },
    { rule: "the first = splits: a value may hold more", labels: ["note=a=b=c"], want: [["note", "a=b=c"]] },
    { rule: "an empty value", labels: ["empty="], want: [["empty", ""]] },
    {
      rule: "a URL value with a query",
      labels: ["org.opencontainers.image.source=https://git.example/a?x=1"],
      want: [["org.opencontainers.image.source", "https://git.example/a?x=1"]],
    },
    {
      rule: "order kept",
      labels: ["b=2", "a=1"],
      want: [
        ["b", "2"],
        ["a", "1"],
      ],
    },
  ])("$rule", ({ labels, want }) => {
    expect(parseFormattedLabels(labels).map((l) => [l.name, l.value])).toEqual(want);
  });

  it("reads back exactly what formatLabels wrote for computeMetadata's labels", () => {
    const labels = computeMetadata({
      ...BASE,
      refs: ["refs/tags/v1.2.3"],
      title: "app",
      sourceUrl: "https://git.example/a",
      dirty: true,
      labels: [{ name: "note", value: "x=y" }],
    }).labels;
    expect(parseFormattedLabels(formatLabels(labels))).toEqual(labels);
  });

  it.each([
    { rule: "no =", entry: "team" },
    { rule: "no name before =", entry: "=core" },
    { rule: "empty", entry: "" },
  ])("refused, naming the entry: $rule", ({ entry }) => {
    expect(() => parseFormattedLabels(["ok=1", entry])).toThrow(`label ${JSON.stringify(entry)}: not key=value`);
  });
});
