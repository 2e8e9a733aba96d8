/**
 * Content digests: computing them (sha256, sha512) and checking that what a registry sent or stored is what was
 * asked for, for whole bodies and for streams (a blob copied between registries is hashed as it passes).
 */
import { createHash } from "node:crypto";

export type DigestAlgorithm = "sha256" | "sha512";
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export function isDigestText(digest: string): boolean {
  const [algorithm, hex] = digest.split(":");
  const length = HEX_LENGTH[algorithm as DigestAlgorithm];
  return length !== undefined && hex !== undefined && new RegExp(`^[0-9a-f]{${length}}$`).test(hex);
}

export function algorithmOf(digest: string): DigestAlgorithm {
  return digest.startsWith("sha512:") ? "sha512" : "sha256";
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** The text of a mismatch; "digest mismatch" marks it for the classifier as an unretried, fatal failure. */
export function mismatch(what: string, expected: string, got: string): string {
  return `digest mismatch: ${what} hashes to ${got}, expected ${expected}`;
}

/** Undefined when `bytes` hash to `expected` (in its own algorithm), else the mismatch text. */
export function digestProblem(bytes: Uint8Array, expected: string, what: string): string | undefined {
  const got = digestOf(bytes, algorithmOf(expected));
  return got === expected ? undefined : mismatch(what, expected, got);
}

/** A pass-through stream that fails at its end when the bytes did not hash to `expected`. */
export function verifyingStream(expected: string, what: string): TransformStream<Uint8Array, Uint8Array> {
  const hash = createHash(algorithmOf(expected));
  return new TransformStream({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      const got = `${algorithmOf(expected)}:${hash.digest("hex")}`;
      if (got !== expected) controller.error(new Error(mismatch(what, expected, got)));
    },
  });
}
