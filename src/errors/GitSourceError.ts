/** Commit or ref could not be found, or the checkout does not match the commit it would be tagged with. */
export class GitSourceError extends Error {
  readonly code = "DOCKYARD_GIT_SOURCE";

  constructor(message: string) {
    super(message);
    this.name = "GitSourceError";
  }
}
