/** Whole-number arguments of publish: how often a push is tried again, and how long one attempt may take. */
import { parseWholeNumber } from "./argument.js";

export const MAX_RETRIES = 10;
export const MAX_PUSH_TIMEOUT_SECONDS = 3600;

/** `--retries`: further attempts for a push that failed transiently, 0 to 10. */
export function parseRetries(value: number, flag = "--retries"): number {
  return parseWholeNumber(value, { flag }, { min: 0, max: MAX_RETRIES, fallback: 3 });
}

/** `--push-timeout`: seconds one push attempt may take, 1 to 3600. */
export function parsePushTimeout(value: number, flag = "--push-timeout"): number {
  return parseWholeNumber(value, { flag }, { min: 1, max: MAX_PUSH_TIMEOUT_SECONDS, fallback: 300, unit: "seconds" });
}
