/** Some or all pushes failed; sorts every ref into confirmed, unknown (the registry may hold it) and not pushed. */
export class PublishError extends Error {
  readonly code = "DOCKYARD_PUBLISH";

  constructor(
    message: string,
    readonly refs: { confirmed: string[]; unknown: string[]; notPushed: string[] },
  ) {
    super(message);
    this.name = "PublishError";
  }
}
