/** Some or all pushes failed; lists what reached a registry and what did not. */
export class PublishError extends Error {
  readonly code = "DOCKYARD_PUBLISH";

  constructor(
    message: string,
    readonly pushed: string[],
    readonly failed: string[],
  ) {
    super(message);
    this.name = "PublishError";
  }
}
