// Unit: --context and --dockerfile paths, and the decisions on what the engine reports about them.
import { describe, expect, it } from "vitest";

import {
  checkBuildPaths,
  contextNotAFolder,
  contextNotFound,
  dockerfileIsFolder,
  dockerfileNotFound,
  parseBuildPath,
  parseContextPath,
  parseDockerfilePath,
  pathIsSymlinkOutside,
  resolveSymlink,
  type PathFacts,
} from "../../src/input/path.js";
import { expectRefusal, refusalOf, type Refusal } from "./refusal.js";

describe("parseContextPath", () => {
  it.each([
    [".", "."],
    ["./", "."],
    ["web", "web"],
    ["./a//b/", "a/b"],
    ["apps/web/.", "apps/web"],
    ["my app", "my app"],
    [".github", ".github"],
  ])("%j is %j", (input, want) => {
    expect(parseContextPath(input)).toBe(want);
    expect(parseBuildPath(input, "--context")).toBe(want);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/, fix: "." },
    { input: " web", why: /whitespace/, fix: "web" },
    { input: "web\n", why: /whitespace/, fix: "web" },
    { input: "we\u0000b", why: /control character U\+0000 \(NUL\)/, fix: "web" },
    { input: "/", why: /is absolute/, fix: "." },
    { input: "/work/app", why: /is absolute/, fix: "work/app" },
    { input: "C:/src/app", why: /Windows path/ },
    { input: "apps\\web", why: /uses "\\"/, fix: "apps/web" },
    { input: "~/app", why: /"~" is not expanded/, fix: "app" },
    { input: "..", why: /leads outside the source/ },
    { input: "../other", why: /leads outside the source/ },
    { input: "a/../../b", why: /leads outside the source/ },
    { input: "a/../b", why: /holds a "\.\." component/, fix: "b" },
    { input: ".git", why: /inside \.git/ },
    { input: "./.git/hooks", why: /inside \.git/ },
    { input: `${"a".repeat(256)}/b`, why: /longer than 255/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseContextPath(row.input)),
      "--context",
      row,
      (fix) => parseContextPath(fix),
    );
  });
});

describe("parseDockerfilePath", () => {
  it.each([
    ["Dockerfile", "Dockerfile"],
    ["./Dockerfile", "Dockerfile"],
    ["./docker//Dockerfile.prod", "docker/Dockerfile.prod"],
    ["build/My Dockerfile", "build/My Dockerfile"],
  ])("%j is %j", (input, want) => {
    expect(parseDockerfilePath(input)).toBe(want);
    expect(parseBuildPath(input, "--dockerfile")).toBe(want);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/, fix: "Dockerfile" },
    { input: "Dockerfile ", why: /whitespace/, fix: "Dockerfile" },
    { input: ".", why: /context folder itself/, fix: "Dockerfile" },
    { input: "./", why: /context folder itself/, fix: "Dockerfile" },
    { input: "docker/", why: /names a folder/, fix: "docker/Dockerfile" },
    { input: "/Dockerfile", why: /is absolute: give it relative to the build context/, fix: "Dockerfile" },
    { input: "../Dockerfile", why: /leads outside the build context/ },
    { input: "docker/../Dockerfile", why: /holds a "\.\." component/, fix: "Dockerfile" },
    { input: "docker\\Dockerfile", why: /uses "\\"/, fix: "docker/Dockerfile" },
    { input: ".git/Dockerfile", why: /inside \.git/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseDockerfilePath(row.input)),
      "--dockerfile",
      row,
      (fix) => parseDockerfilePath(fix),
    );
  });
});

describe("what the engine reports decides the error", () => {
  const file: PathFacts = { kind: "file", symlink: false };
  const folder: PathFacts = { kind: "folder", symlink: false };
  const missing: PathFacts = { kind: "missing", symlink: false };

  it("without the Dockerfile's facts, checks the context alone", () => {
    expect(() => checkBuildPaths("web", "Dockerfile", { context: folder })).not.toThrow();
    expect(() => checkBuildPaths(".", "Dockerfile", {})).not.toThrow();
    expect(() => checkBuildPaths("web", "Dockerfile", { context: file })).toThrow(/--context "web": is a file/);
    expect(() => checkBuildPaths("web", "Dockerfile", { context: missing })).toThrow(/--context "web": not found/);
  });

  it("accepts a folder context holding a Dockerfile file, and a symlink the engine resolved", () => {
    expect(() => checkBuildPaths("web", "Dockerfile", { context: folder, dockerfile: file })).not.toThrow();
    expect(() => checkBuildPaths(".", "Dockerfile", { dockerfile: file })).not.toThrow();
    const inside = { kind: "file", symlink: true, target: "docker/Dockerfile.prod" } as const;
    expect(() => checkBuildPaths(".", "Dockerfile", { dockerfile: inside })).not.toThrow();
    expect(() => checkBuildPaths(".", "Dockerfile", { dockerfile: { kind: "file", symlink: true } })).not.toThrow();
  });

  it.each([
    {
      what: "context missing",
      run: () => checkBuildPaths("wbe", "Dockerfile", { context: missing, dockerfile: missing }),
      flag: "--context",
      row: { input: "wbe", why: /not found in the source/, fix: "." },
      parse: parseContextPath,
    },
    {
      what: "context is the Dockerfile",
      run: () => checkBuildPaths("web/Dockerfile", "Dockerfile", { context: file, dockerfile: missing }),
      flag: "--context",
      row: { input: "web/Dockerfile", why: /is a file, not a folder/, fix: "web" },
      parse: parseContextPath,
    },
    {
      what: "Dockerfile given relative to the source",
      run: () => checkBuildPaths("web", "web/Dockerfile", { context: folder, dockerfile: missing }),
      flag: "--dockerfile",
      row: { input: "web/Dockerfile", why: /not found in --context "web"/, fix: "Dockerfile" },
      parse: parseDockerfilePath,
    },
    {
      what: "Dockerfile missing",
      run: () => checkBuildPaths(".", "Dockerfile", { dockerfile: missing }),
      flag: "--dockerfile",
      row: { input: "Dockerfile", why: /not found in --context "\."/ },
      parse: parseDockerfilePath,
    },
    {
      what: "Dockerfile is a folder",
      run: () => checkBuildPaths(".", "docker", { dockerfile: folder }),
      flag: "--dockerfile",
      row: { input: "docker", why: /is a folder in --context/, fix: "docker/Dockerfile" },
      parse: parseDockerfilePath,
    },
    {
      what: "Dockerfile is a symlink out of the context",
      run: () =>
        checkBuildPaths("web", "Dockerfile", {
          context: folder,
          dockerfile: { kind: "file", symlink: true, target: "../shared/Dockerfile" },
        }),
      flag: "--dockerfile",
      row: { input: "Dockerfile", why: /symlink to "\.\.\/shared\/Dockerfile", outside --context "web"/ },
      parse: parseDockerfilePath,
    },
    {
      what: "context is a symlink out of the source",
      run: () =>
        checkBuildPaths("web", "Dockerfile", {
          context: { kind: "missing", symlink: true, target: "../../elsewhere" },
          dockerfile: missing,
        }),
      flag: "--context",
      row: { input: "web", why: /symlink to "\.\.\/\.\.\/elsewhere", outside the source/ },
      parse: parseContextPath,
    },
    {
      what: "Dockerfile is a symlink the engine cannot follow",
      run: () => checkBuildPaths(".", "Dockerfile", { dockerfile: { kind: "missing", symlink: true } }),
      flag: "--dockerfile",
      row: { input: "Dockerfile", why: /symlink whose target is missing or outside --context "\."/ },
      parse: parseDockerfilePath,
    },
    {
      what: "context is a symlink the engine cannot follow",
      run: () => checkBuildPaths("web", "Dockerfile", { context: { kind: "missing", symlink: true } }),
      flag: "--context",
      row: { input: "web", why: /symlink whose target is missing or outside the source/ },
      parse: parseContextPath,
    },
  ])("$what", ({ run, flag, row, parse }) => {
    expectRefusal(refusalOf(run), flag, row, (fix) => parse(fix));
  });

  it("the single helpers give the same errors", () => {
    expect(contextNotFound("x").message).toMatch(/^--context "x": not found/);
    expect(contextNotAFolder("Dockerfile").fix).toBe(".");
    expect(dockerfileNotFound("a/Dockerfile", "a").fix).toBe("Dockerfile");
    expect(dockerfileIsFolder("d", ".").fix).toBe("d/Dockerfile");
    expect(pathIsSymlinkOutside("--dockerfile", "Dockerfile", "docker/Dockerfile", "--context")).toBeUndefined();
  });

  it.each([
    ["Dockerfile", "docker/Dockerfile.prod", "docker/Dockerfile.prod"],
    ["docker/Dockerfile", "../Dockerfile.base", "Dockerfile.base"],
    ["docker/Dockerfile", "/Dockerfile.base", "Dockerfile.base"],
    ["Dockerfile", "../Dockerfile", undefined],
    ["a/b/Dockerfile", "../../../x", undefined],
  ])("a symlink at %s to %s resolves to %s", (path, target, want) => {
    expect(resolveSymlink(path, target)).toBe(want);
  });
});
