/** Keyless signing failed at a Sigstore service (Fulcio, Rekor): the message quotes its answer (token masked) and the fix. */
export class SigningError extends Error {
  readonly code = "DOCKYARD_SIGNING";

  constructor(
    message: string,
    /** The service that failed. */
    readonly service: "Fulcio" | "Rekor",
    /** Its HTTP status, when it answered at all. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "SigningError";
  }
}
