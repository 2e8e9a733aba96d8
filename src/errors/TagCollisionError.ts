import { InvalidInputError } from "./InvalidInputError.js";

/** A ref would give an image tag whose shape another tag rule owns; refused before anything is built or pushed. */
export class TagCollisionError extends InvalidInputError {
  constructor(
    /** The ref as given or as read from .git. */
    readonly ref: string,
    /** The tag it would give. */
    readonly tag: string,
    /** The rule whose shape that tag has. */
    readonly owner: string,
    message: string,
  ) {
    super(message);
    this.name = "TagCollisionError";
  }
}
