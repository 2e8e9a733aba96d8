/** The --sbom-scanner container failed or printed no SBOM: nothing was pushed; the message names the platform and the fix. */
export class SbomScanError extends Error {
  readonly code = "DOCKYARD_SBOM_SCAN";

  constructor(
    message: string,
    /** The platform whose image was scanned, e.g. "linux/arm64". */
    readonly platform: string,
    /** The scanner's exit code, when it ran to the end. */
    readonly exitCode?: number,
  ) {
    super(message);
    this.name = "SbomScanError";
  }
}
