/** A one-function module: the baseline for dockyard's module-load benchmark. */
import { func, object } from "@dagger.io/dagger";

/** The smallest module object. */
@object()
export class OneFunction {
  /** Returns its input. */
  @func()
  echo(
    /** Text to return. */
    text: string,
  ): string {
    return text;
  }
}
