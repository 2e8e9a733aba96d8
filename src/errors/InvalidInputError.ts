/** An argument is wrong; the message names the input and the fix. Raised before anything is built or pushed. */
export class InvalidInputError extends Error {
  readonly code = "DOCKYARD_INVALID_INPUT";

  constructor(message: string) {
    super(message);
    this.name = "InvalidInputError";
  }
}
