/** A Sigstore bundle did not verify: `check` names the step that failed, the message says what and how to fix it. */
export type BundleCheck =
  | "bundle"
  | "certificate-chain"
  | "certificate-validity"
  | "identity"
  | "issuer"
  | "signature"
  | "subject"
  | "tlog-log-id"
  | "tlog-set"
  | "tlog-body"
  | "inclusion-proof"
  | "checkpoint";

export class BundleVerificationError extends Error {
  readonly code = "DOCKYARD_BUNDLE_VERIFICATION";

  constructor(
    message: string,
    /** The verification step that failed. */
    readonly check: BundleCheck,
  ) {
    super(message);
    this.name = "BundleVerificationError";
  }
}
