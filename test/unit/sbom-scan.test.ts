// Rung 1-2 (unit): --sbom-scanner's output gate (src/signing/scan.ts): exit code and stderr tail on failure, the
// stdout checked by sbomPredicate, and each scanned SBOM attested only about its own platform (src/signing/attest.ts).
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { SbomScanError } from "../../src/errors/index.js";
import { publishAttestations } from "../../src/signing/attest.js";
import {
  CYCLONEDX_PREDICATE_TYPE,
  SBOM_SCANNER_TARBALL,
  scannedSbom,
  SPDX_PREDICATE_TYPE,
  stderrTail,
  STDERR_TAIL_LINES,
} from "../../src/signing/index.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sbom/${name}`, import.meta.url), "utf8");

describe("scannedSbom", () => {
  it.each([
    { name: "SPDX JSON", file: "npm-sbom.spdx.json", type: SPDX_PREDICATE_TYPE },
    { name: "CycloneDX JSON", file: "npm-sbom.cdx.json", type: CYCLONEDX_PREDICATE_TYPE },
  ])("takes $name printed with exit code 0", ({ file, type }) => {
    const text = fixture(file);
    const got = scannedSbom("linux/arm64", { exitCode: 0, stdout: text, stderr: "scanning…\n" });
    expect(got).toEqual({ predicateType: type, predicate: JSON.parse(text) as unknown });
  });

  it.each([
    {
      name: "a failed run",
      output: { exitCode: 1, stdout: "", stderr: "could not read /dockyard/image.tar\n" },
      why: /^--sbom-scanner on linux\/arm64: exited with code 1 \(stderr ends: "could not read \/dockyard\/image\.tar"\); nothing was pushed\. Fix .*--sbom-scanner-args=scan,oci-archive:\/dockyard\/image\.tar,-o,spdx-json/,
      exitCode: 1,
    },
    {
      name: "a failed run with nothing on stderr",
      output: { exitCode: 127, stdout: "", stderr: "" },
      why: /^--sbom-scanner on linux\/arm64: exited with code 127 \(nothing on stderr\)/,
      exitCode: 127,
    },
    {
      name: "a table printed instead of JSON",
      output: { exitCode: 0, stdout: "NAME  VERSION  TYPE\nbusybox 1.36 binary\n", stderr: "" },
      why: /^--sbom-scanner on linux\/arm64: exited 0 but its stdout is no SBOM \(SBOM "--sbom-scanner output for linux\/arm64": is not JSON; .*nothing was pushed/,
      exitCode: 0,
    },
    {
      name: "SPDX tag-value",
      output: { exitCode: 0, stdout: fixture("spdx-spec-v2.3-tag-value.spdx"), stderr: "" },
      why: /is SPDX tag-value, not JSON/,
      exitCode: 0,
    },
  ])("refuses $name, naming the platform, exit code and stderr", ({ output, why, exitCode }) => {
    let error: unknown;
    try {
      scannedSbom("linux/arm64", output);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SbomScanError);
    expect((error as SbomScanError).message).toMatch(why);
    expect(error).toMatchObject({ code: "DOCKYARD_SBOM_SCAN", platform: "linux/arm64", exitCode });
  });

  it("quotes only the last lines of a long stderr", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const tail = stderrTail(`${lines.join("\n")}\n\n`);
    expect(tail.split("\n")).toEqual(lines.slice(-STDERR_TAIL_LINES));
    expect(stderrTail("x".repeat(5000)).length).toBe(2001);
  });

  it("mounts the tarball at the documented path", () => {
    expect(SBOM_SCANNER_TARBALL).toBe("/dockyard/image.tar");
  });
});

describe("publishAttestations with scanned SBOMs", () => {
  it("each scanned SBOM is about its own platform only; a --sbom file about every manifest", () => {
    const amd = scannedSbom("linux/amd64", { exitCode: 0, stdout: fixture("npm-sbom.spdx.json"), stderr: "" });
    const arm = scannedSbom("linux/arm64", { exitCode: 0, stdout: fixture("npm-sbom.cdx.json"), stderr: "" });
    const got = publishAttestations(undefined, undefined, "2026-12-05T12:01:00Z", [
      { platform: "linux/amd64", sbom: amd },
      { platform: "linux/arm64", sbom: arm },
    ]);
    expect(got).toEqual([
      { kind: "sbom", ...amd, platform: "linux/amd64" },
      { kind: "sbom", ...arm, platform: "linux/arm64" },
    ]);
    expect(publishAttestations(undefined, amd, "2026-12-05T12:01:00Z")[0]).not.toHaveProperty("platform");
  });
});
