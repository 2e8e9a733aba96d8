/**
 * --sbom-scanner: each platform's image, as Container.asTarball writes it, is mounted in the scanner at
 * SBOM_SCANNER_TARBALL; the scanner prints the SBOM on stdout, which must be SPDX 2.x or CycloneDX JSON.
 */
import { SbomScanError } from "../errors/index.js";
import { sbomPredicate, type SbomPredicate } from "./sbom.js";

/** Where the scanned image's tarball is mounted: an OCI layout with a docker manifest.json (syft's oci-archive: or docker-archive:). */
export const SBOM_SCANNER_TARBALL = "/dockyard/image.tar";

/** The last lines of stderr a refusal quotes: enough for a scanner's own error, short enough for a CI log line. */
export const STDERR_TAIL_LINES = 10;
const STDERR_TAIL_CHARS = 2000;

/** What the scanner's run left: its exit code and both streams. */
export interface ScanOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The end of a scanner's stderr, trimmed, as one quoted piece of a message. */
export function stderrTail(stderr: string): string {
  const lines = stderr.replace(/\s+$/, "").split("\n");
  const tail = lines.slice(-STDERR_TAIL_LINES).join("\n");
  return tail.length > STDERR_TAIL_CHARS ? `…${tail.slice(-STDERR_TAIL_CHARS)}` : tail;
}

const SCANNER_FIX = `run the scanner over ${SBOM_SCANNER_TARBALL} and print SPDX 2.x or CycloneDX JSON on stdout, e.g. --sbom-scanner-args=scan,oci-archive:${SBOM_SCANNER_TARBALL},-o,spdx-json for anchore/syft`;

/** The SBOM one platform's scan printed, checked; a failed run or another output refuses, before anything is pushed. */
export function scannedSbom(platform: string, output: ScanOutput): SbomPredicate {
  const stderr = stderrTail(output.stderr);
  const quoted = stderr === "" ? "nothing on stderr" : `stderr ends: ${JSON.stringify(stderr)}`;
  if (output.exitCode !== 0)
    throw new SbomScanError(
      `--sbom-scanner on ${platform}: exited with code ${output.exitCode} (${quoted}); nothing was pushed. Fix the scanner's arguments or image: ${SCANNER_FIX}`,
      platform,
      output.exitCode,
    );
  try {
    return sbomPredicate(output.stdout, `--sbom-scanner output for ${platform}`);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SbomScanError(
      `--sbom-scanner on ${platform}: exited 0 but its stdout is no SBOM (${why}; ${quoted}); nothing was pushed. Fix the scanner's arguments or image: ${SCANNER_FIX}`,
      platform,
      output.exitCode,
    );
  }
}
