/** Every push was confirmed, but reading the refs back found some not as pushed, or could not read them. */
export class VerifyError extends Error {
  readonly code = "DOCKYARD_VERIFY";

  constructor(
    message: string,
    /** Digest-pinned refs that read back as pushed; refs whose registry holds something else; refs not read. */
    readonly refs: { verified: string[]; mismatched: string[]; unread: string[] },
  ) {
    super(message);
    this.name = "VerifyError";
  }
}
