// Unit: --platforms / --platform, canonical as containerd's platforms.Normalize spells them, one row per rule.
import { describe, expect, it } from "vitest";

import { validatePlatforms } from "../../src/input/keyvalue.js";
import { canonicalPlatform, parsePlatform, parsePlatforms } from "../../src/input/platform.js";
import { DPKG_ARCHITECTURE, NODE_ARCH, UNAME_MACHINE } from "../fixtures/cli-values.js";
import { expectRefusal, listParse, refusalOf, type Refusal } from "./refusal.js";

describe("parsePlatforms accepts canonical names", () => {
  it.each([
    [[]],
    [["linux/amd64"]],
    [["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6"]],
    [["linux/amd64/v3", "linux/arm64/v8.2", "linux/arm64/v9", "linux/386", "linux/ppc64le", "linux/s390x"]],
    [["linux/riscv64", "linux/riscv64/rva22u64", "windows/amd64", "darwin/arm64", "wasip1/wasm", "linux/loong64"]],
    [[`linux/${DPKG_ARCHITECTURE}`]],
  ])("%j", (platforms) => {
    expect(parsePlatforms(platforms)).toEqual(platforms);
    expect(validatePlatforms(platforms)).toEqual(platforms);
  });
});

describe("parsePlatform refuses other spellings with the canonical one", () => {
  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: " linux/arm64", why: /whitespace/, fix: "linux/arm64" },
    { input: "linux/amd64\t", why: /whitespace/, fix: "linux/amd64" },
    { input: "linux/ amd64", why: /holds whitespace/, fix: "linux/amd64" },
    { input: "Linux/AMD64", why: /must be lowercase/, fix: "linux/amd64" },
    // Architecture aliases: containerd's, and what uname -m, Node and Debian print.
    { input: `linux/${UNAME_MACHINE}`, why: /is written "linux\/amd64"/, fix: "linux/amd64" },
    { input: "linux/x86-64", why: /is written "linux\/amd64"/, fix: "linux/amd64" },
    { input: `linux/${NODE_ARCH}`, why: /is written "linux\/amd64"/, fix: "linux/amd64" },
    { input: "linux/amd64/v1", why: /is written "linux\/amd64"/, fix: "linux/amd64" },
    { input: "linux/aarch64", why: /is written "linux\/arm64"/, fix: "linux/arm64" },
    { input: "linux/arm64/v8", why: /is written "linux\/arm64"/, fix: "linux/arm64" },
    { input: "linux/arm64/8", why: /is written "linux\/arm64"/, fix: "linux/arm64" },
    { input: "linux/arm64/v8.0", why: /is written "linux\/arm64"/, fix: "linux/arm64" },
    { input: "linux/arm64/9", why: /is written "linux\/arm64\/v9"/, fix: "linux/arm64/v9" },
    { input: "linux/armhf", why: /is written "linux\/arm\/v7"/, fix: "linux/arm/v7" },
    { input: "linux/armel", why: /is written "linux\/arm\/v6"/, fix: "linux/arm/v6" },
    { input: "linux/armv7l", why: /is written "linux\/arm\/v7"/, fix: "linux/arm/v7" },
    { input: "linux/arm", why: /is written "linux\/arm\/v7"/, fix: "linux/arm/v7" },
    { input: "linux/arm/7", why: /is written "linux\/arm\/v7"/, fix: "linux/arm/v7" },
    { input: "linux/i386", why: /is written "linux\/386"/, fix: "linux/386" },
    { input: "linux/x86", why: /is written "linux\/386"/, fix: "linux/386" },
    { input: "linux/i686", why: /is written "linux\/386"/, fix: "linux/386" },
    { input: "linux/ppc64el", why: /is written "linux\/ppc64le"/, fix: "linux/ppc64le" },
    { input: "macos/arm64", why: /is written "darwin\/arm64"/, fix: "darwin/arm64" },
    // One component is an OS or an architecture alone; containerd fills the other in from the engine.
    { input: "amd64", why: /both the OS and the architecture/, fix: "linux/amd64" },
    { input: "aarch64", why: /both the OS and the architecture/, fix: "linux/arm64" },
    { input: "linux", why: /both the OS and the architecture/, fix: "linux/amd64" },
    // Unknown names: the nearest known one.
    { input: "linux/amd65", why: /"amd65" is not an architecture/, fix: "linux/amd64" },
    { input: "linx/amd64", why: /"linx" is not an operating system/, fix: "linux/amd64" },
    { input: "beos/amd64", why: /"beos" is not an operating system/ },
    { input: "linux/quantum", why: /"quantum" is not an architecture/ },
    // Variants each architecture has.
    { input: "linux/amd64/v5", why: /"v5" is not a variant of amd64/, fix: "linux/amd64" },
    { input: "linux/arm/v9", why: /"v9" is not a variant of arm/, fix: "linux/arm/v5" },
    { input: "linux/386/sse2", why: /386 has no variants/, fix: "linux/386" },
    // Forms containerd parses that dockyard does not take.
    { input: "linux/amd64/v2/x", why: /more than three components/, fix: "linux/amd64/v2" },
    { input: "windows(10.0.17763)/amd64", why: /OS version/, fix: "windows/amd64" },
    { input: "linux/*", why: /wildcards/ },
    { input: "linux//amd64", why: /none empty/ },
    { input: "linux/amd64/", why: /none empty/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parsePlatform(row.input, "--platform")),
      "--platform",
      row,
      (fix) => parsePlatform(fix),
    );
  });
});

describe("parsePlatforms refuses one platform given twice", () => {
  const refusals: Refusal[] = [
    {
      input: "linux/arm64,linux/arm64/v8",
      why: /"linux\/arm64" and "linux\/arm64\/v8" are the same platform \(linux\/arm64\)/,
      fix: "linux/arm64",
    },
    { input: "linux/amd64,linux/amd64", why: /"linux\/amd64" is given twice/, fix: "linux/amd64" },
    {
      input: "linux/x86_64,linux/arm64,linux/amd64",
      why: /same platform \(linux\/amd64\)/,
      fix: "linux/amd64,linux/arm64",
    },
    { input: "linux/arm,linux/armhf,linux/arm/v7", why: /same platform \(linux\/arm\/v7\)/, fix: "linux/arm/v7" },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parsePlatforms(row.input.split(","))),
      "--platforms",
      row,
      listParse((v) => parsePlatforms(v)),
    );
  });

  it("an item's error names the item, e.g. the space the CLI keeps after a comma", () => {
    const err = refusalOf(() => parsePlatforms("linux/amd64, linux/arm64".split(",")));
    expectRefusal(err, "--platforms", { input: " linux/arm64", why: /whitespace/, fix: "linux/arm64" }, (f) =>
      parsePlatforms([f]),
    );
  });
});

describe("canonicalPlatform", () => {
  it.each([
    ["linux/x86_64", "linux/amd64"],
    ["Linux/ARM64/V8", "linux/arm64"],
    ["linux/arm", "linux/arm/v7"],
    ["nope", undefined],
  ])("%s is %s", (input, want) => {
    expect(canonicalPlatform(input)).toBe(want);
  });
});
