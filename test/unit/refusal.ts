// Unit test helper: catches an argument's refusal and checks its shape (flag, quoted value, why, a valid fix).
import { expect } from "vitest";

import { ArgumentError, quote, splitList } from "../../src/input/argument.js";
import { InvalidInputError } from "../../src/errors/index.js";

export interface Refusal {
  input: string;
  /** What the reason must say. */
  why: RegExp;
  /** The fix the error must offer; undefined: none can be derived, a hint is shown instead. */
  fix?: string | undefined;
  /** The value as the error shows it, when it is not `input` (credentials masked, a whole list). */
  shown?: string;
  /** A credential that must appear nowhere in the message. */
  secret?: string;
}

/** The ArgumentError `run` throws; fails the test when it throws nothing or something else. */
export function refusalOf(run: () => unknown): ArgumentError {
  try {
    run();
  } catch (e) {
    if (e instanceof ArgumentError) return e;
    throw e;
  }
  throw new Error("accepted, expected a refusal");
}

/**
 * Checks `err` says `<flag> "<value>": <why> (try "<fix>")` and that `parse` accepts the fix; for an error about
 * a whole list, `parse` gets the fix split as the CLI splits a list.
 */
export function expectRefusal(
  err: ArgumentError,
  flag: string,
  row: Refusal,
  parse: (fix: string, list: boolean) => unknown,
): void {
  expect(err).toBeInstanceOf(InvalidInputError);
  expect(err.code).toBe("DOCKYARD_INVALID_INPUT");
  const prefix = `${flag} ${quote(row.shown ?? row.input)}: `;
  expect(err.message.slice(0, prefix.length)).toBe(prefix);
  expect(err.why).toMatch(row.why);
  expect(err.fix).toBe(row.fix);
  if (row.fix === undefined) {
    expect(err.hint).toBeTruthy();
    expect(err.message.endsWith(`(${err.hint ?? ""})`)).toBe(true);
  } else {
    expect(err.message.endsWith(` (try ${quote(row.fix)})`)).toBe(true);
    expect(() => parse(row.fix ?? "", err.list)).not.toThrow();
  }
  if (row.secret !== undefined) expect(err.message).not.toContain(row.secret);
}

/** A list parser's `parse` for `expectRefusal`: the fix is a whole list, or one item. */
export function listParse(parse: (values: string[]) => unknown): (fix: string, list: boolean) => unknown {
  return (fix, list) => parse(list ? splitList(fix) : [fix]);
}
