// Unit: one validated request from a function's raw arguments (src/request.ts), one table row per rule.
import { describe, expect, it } from "vitest";

import { metadataRequest, publishContainersRequest, publishRequest, tagRequest } from "../../src/request.js";
import { COMMIT, COMMIT_SHA256 } from "../fixtures/commits.js";

describe("tagRequest: --sha-length against a given --commit", () => {
  it.each([
    { rule: "default length", args: { commit: COMMIT }, want: 7 },
    { rule: "the whole SHA-1 commit", args: { commit: COMMIT, shaLength: 40 }, want: 40 },
    { rule: "no commit yet: up to 64", args: { shaLength: 64 }, want: 64 },
    { rule: "the whole SHA-256 commit", args: { commit: COMMIT_SHA256, shaLength: 64 }, want: 64 },
  ])("$rule", ({ args, want }) => {
    expect(tagRequest(args).shaLength).toBe(want);
  });

  it.each([
    { rule: "longer than a SHA-1 commit", args: { commit: COMMIT, shaLength: 41 }, match: /"41".*commit's length/ },
    { rule: "longer than any commit", args: { shaLength: 65 }, match: /"65".*longest commit id/ },
  ])("refused: $rule", ({ args, match }) => {
    expect(() => tagRequest(args)).toThrow(match);
  });
});

describe("metadataRequest: empty optional texts are absent", () => {
  it.each([
    { rule: "empty --source-url and --created", args: { sourceUrl: "", created: "" }, want: {} },
    {
      rule: "both given",
      args: { sourceUrl: "https://github.com/acme/app", created: "2026-01-02T03:04:05Z" },
      want: { sourceUrl: "https://github.com/acme/app", created: "2026-01-02T03:04:05Z" },
    },
  ])("$rule", ({ args, want }) => {
    const { labelInput } = metadataRequest({ commit: COMMIT, ref: "main", ...args });
    expect(labelInput).toEqual({ labels: [], ...want });
  });
});

describe("publishRequest: credentials come in pairs", () => {
  const base = { images: ["ghcr.io/acme/app"], commit: COMMIT, ref: "main" };
  it.each([
    { rule: "username alone", args: { ...base, username: "ci" }, match: /--username "ci": also pass --password/ },
    { rule: "password alone", args: { ...base, password: "S" }, match: /--password: also pass --username/ },
  ])("refused: $rule", ({ args, match }) => {
    expect(() => publishRequest<string>(args)).toThrow(match);
  });

  it("both: one credential for every image's host", () => {
    expect(publishRequest<string>({ ...base, username: "ci", password: "S" }).credentials).toEqual({
      username: "ci",
      password: "S",
    });
  });
});

describe("publish and publish-containers: --annotations", () => {
  const base = { images: ["ghcr.io/acme/app"], commit: COMMIT, ref: "main" };
  const description = "index:org.opencontainers.image.description=Acme";
  it("both take them checked, by level", () => {
    const want = [{ level: "index", name: "org.opencontainers.image.description", value: "Acme" }];
    expect(publishRequest<string>({ ...base, annotations: [description] }).annotations).toEqual(want);
    expect(
      publishContainersRequest<string, string>({ ...base, containers: ["c"], annotations: [description] }).annotations,
    ).toEqual(want);
    expect(publishRequest<string>(base).annotations).toEqual([]);
  });

  it.each([
    {
      rule: "a bad level",
      args: { ...base, annotations: ["indx:a=b"] },
      match: /--annotations "indx:a=b": .*try "index:a=b"/,
    },
    {
      rule: "index level with --staging (merge assembles the index)",
      args: { ...base, platforms: ["linux/arm64"], staging: true, annotations: [description] },
      match:
        /--annotations "index:org\.opencontainers\.image\.description=Acme": --staging pushes one platform's manifest/,
    },
  ])("refused: $rule", ({ args, match }) => {
    expect(() => publishRequest<string>(args)).toThrow(match);
  });

  it.each([
    {
      rule: "two containers (the staging tag names one platform)",
      args: { ...base, containers: ["c1", "c2"], staging: true },
      match: /^--staging: needs exactly one container, the runner's own platform \(given: 2\)/,
    },
    {
      rule: "--tags (merge pushes the final tags)",
      args: { ...base, containers: ["c"], staging: true, tags: ["stable"] },
      match: /^--tags "stable": --staging pushes only the staging tag \(pass --tags to merge/,
    },
    {
      rule: "--latest=always",
      args: { ...base, containers: ["c"], staging: true, latest: "always" as const },
      match: /^--latest "always": --staging pushes only the staging tag/,
    },
    {
      rule: "index level (merge assembles the index)",
      args: { ...base, containers: ["c"], staging: true, annotations: [description] },
      match: /--staging pushes one platform's manifest, and the index is the one merge assembles/,
    },
  ])("publish-containers --staging refused: $rule", ({ args, match }) => {
    expect(() => publishContainersRequest<string, string>(args)).toThrow(match);
  });

  it("publish-containers --staging with one container is taken", () => {
    const args = { ...base, containers: ["c"], staging: true };
    expect(publishContainersRequest<string, string>(args).staging).toBe(true);
    expect(publishContainersRequest<string, string>({ ...base, containers: ["c", "d"] }).staging).toBe(false);
  });

  it("manifest level with --staging is taken", () => {
    const args = { ...base, platforms: ["linux/arm64"], staging: true, annotations: ["a=b"] };
    expect(publishRequest<string>(args).annotations).toEqual([{ level: "manifest", name: "a", value: "b" }]);
  });
});

describe("tagRequest: newcomer typos are refused before git is read", () => {
  it.each([
    {
      rule: "a bare version (GitHub's $GITHUB_REF_NAME of a tag)",
      args: { ref: "v1.2.3" },
      message: /^--ref "v1\.2\.3": is a version.*\(try "refs\/tags\/v1\.2\.3"\)$/,
    },
    {
      rule: "an image ref in --tags (docker/build-push-action's tags)",
      args: { tags: ["ghcr.io/acme/app:latest"] },
      message:
        /^--tags "ghcr\.io\/acme\/app:latest": --tags takes tags, not image refs; the image goes in --images \(try "latest"\)$/,
    },
  ])("$rule", ({ args, message }) => {
    expect(() => tagRequest(args)).toThrow(message);
  });
});
