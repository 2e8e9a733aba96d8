import type { PushFailure } from "../push/retry.js";

/** A registry request of src/registry failed for good: the message quotes the registry and gives the fix. */
export class RegistryError extends Error {
  readonly code = "DOCKYARD_REGISTRY";

  constructor(
    message: string,
    /** How src/push/retry.ts classified the registry's answer (kind, outcome unknown, retry-after). */
    readonly failure: PushFailure,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}
