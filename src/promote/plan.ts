/**
 * Promotion's plan, pure: the image to promote, pinned by digest (`host/repo@sha256:…`, a tag before the digest
 * allowed and ignored), how a target gets its content (a manifest PUT alone in the source's own repository, blob
 * mounts on the same registry, a streamed copy from another registry) and the credential every target host needs.
 * Every refusal happens here, before any registry request.
 */
import { InvalidInputError } from "../errors/index.js";
import { ArgumentError, checkText, refuse, type Grammar } from "../input/argument.js";
import { parseImageName, type ImageName } from "../input/image.js";
import { isDigestText } from "../registry/digest.js";
import { isValidTag } from "../tags/slug.js";

export interface PinnedImage extends ImageName {
  /** `sha256:<hex>` (or sha512): what is promoted. */
  digest: string;
}

/** How a target gets the source's content before its manifest is PUT. */
export type PromoteMethod = "tag" | "mount" | "copy";

const EXAMPLE = "ghcr.io/acme/app@sha256:<the digest publish reported>";

/**
 * `--from`: an image name (Docker's grammar, as `--images` takes it) pinned by digest. A tag can move between
 * reading and copying, so a bare tag is refused; `name:tag@digest` is taken, the digest wins (as Docker reads it).
 */
export function parsePinnedImage(value: string, flag = "--from", fn = "promote"): PinnedImage {
  const g: Grammar = { flag, check: (s) => parsePinnedImage(s, flag, fn) };
  if (value === "") refuse(g, value, "must not be empty", undefined, `name the image by its digest, e.g. "${EXAMPLE}"`);
  checkText(g, value);
  const at = value.lastIndexOf("@");
  if (at < 0) {
    refuse(
      g,
      value,
      `is not pinned by digest: a tag can move, so ${fn} copies only an image named by its digest`,
      undefined,
      `add the digest publish reported: "${value}@sha256:<digest>" (publish's digest output, or skopeo inspect)`,
    );
  }
  const digest = value.slice(at + 1);
  const named = value.slice(0, at);
  if (!isDigestText(digest)) {
    refuse(
      g,
      value,
      `"${digest}" is not a digest (sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)`,
      undefined,
      `e.g. "${EXAMPLE}"`,
    );
  }
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const name = tag === undefined ? named : named.slice(0, colon);
  if (tag !== undefined && !isValidTag(tag)) {
    refuse(
      g,
      value,
      `tag "${tag}" is not a valid image tag`,
      `${name}@${digest}`,
      "drop the tag: the digest names the image",
    );
  }
  try {
    return { ...parseImageName(name, flag), digest };
  } catch (e) {
    if (!(e instanceof ArgumentError)) throw e;
    const fix = e.fix === undefined ? undefined : `${e.fix}${tag === undefined ? "" : `:${tag}`}@${digest}`;
    return refuse(g, value, e.why, fix, e.hint ?? "");
  }
}

/** A manifest PUT alone in the source's repository; a blob mount on its registry; else a streamed copy. */
export function methodFor(from: ImageName, target: ImageName): PromoteMethod {
  if (target.name === from.name) return "tag";
  return target.host === from.host ? "mount" : "copy";
}

/**
 * promote and merge push with their own client, so no engine login or `docker login` can stand in for a missing
 * credential: every target host needs one (`--from`'s hosts may be read anonymously).
 */
export function requireTargetCredentials(
  images: readonly ImageName[],
  hasCredential: (host: string) => boolean,
  fn = "promote",
) {
  const missing = images.find((image) => !hasCredential(image.host));
  if (missing) {
    throw new InvalidInputError(
      `--images "${missing.name}": no credentials for ${missing.host}, where ${fn} must push (pass --username and --password, or with-registry-auth --address ${missing.host})`,
    );
  }
}
