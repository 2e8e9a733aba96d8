/**
 * verify's reads, on src/registry: HEAD every pushed tag (what it names now), GET each pushed digest once per
 * repository (its body hashed against the digest), each platform image's manifest by digest and its config blob
 * (hashed too), then judge every ref. Reads only: nothing is written.
 */
import { VerifyError } from "../errors/index.js";
import { maskUrlCredentials } from "../input/index.js";
import type { PublishTarget } from "../push/publish.js";
import { errorMessage } from "../push/retry.js";
import { getBlob } from "../registry/blobs.js";
import type { RegistrySession } from "../registry/http.js";
import { getManifest, headManifest } from "../registry/manifests.js";
import { imagePlatform, platformOf } from "../promote/copy.js";
import {
  judge,
  manifestShape,
  platformDigest,
  revisionOf,
  verifyReport,
  type PlatformImage,
  type Readback,
  type Verdict,
} from "./check.js";

export interface VerifyEffects {
  /** The one logged-in session for a registry host. */
  session(host: string): RegistrySession;
}

function parseConfig(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    if (typeof parsed === "object" && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // Reported below, as any config that is not a JSON object.
  }
  throw new Error(`${what} is not a JSON object`);
}

/** One image manifest's config, read and hashed: its platform and revision label. */
async function readImage(
  s: RegistrySession,
  repository: string,
  digest: string,
  config: string,
  platform: string | undefined,
): Promise<PlatformImage> {
  const body = parseConfig(await getBlob(s, repository, config), `config ${repository}@${config}`);
  return { platform: platform ?? platformOf(imagePlatform(body)) ?? "", digest, revision: revisionOf(body) };
}

/** The platform images of `digest` in `repository` (an index's children, attestations left out, or the image). */
export async function readPlatformImages(
  s: RegistrySession,
  repository: string,
  digest: string,
): Promise<PlatformImage[]> {
  const root = await getManifest(s, repository, digest);
  const shape = manifestShape(root.bytes, root.mediaType);
  if (shape.kind === "other") throw new Error(`${repository}@${digest} ${shape.why}`);
  if (shape.kind === "image") return [await readImage(s, repository, digest, shape.config, undefined)];
  return Promise.all(
    shape.children
      .filter((c) => !c.attestation)
      .map(async (c) => {
        const child = await getManifest(s, repository, c.digest);
        const inner = manifestShape(child.bytes, child.mediaType);
        if (inner.kind !== "image")
          throw new Error(`${repository}@${c.digest}, a child of ${digest}, is not an image manifest`);
        return readImage(s, repository, c.digest, inner.config, c.platform);
      }),
  );
}

/**
 * Reads every pushed ref back (`refs[i]` is `targets[i]` pinned by the digest its push returned) and judges it
 * against `commit`. Returns the platform digests of the first image (the one `digest` reports); any ref not as
 * pushed, or not readable, throws a VerifyError that reports every ref. `what` names the function.
 */
export async function verifyPushed(
  what: string,
  targets: readonly PublishTarget[],
  refs: readonly string[],
  commit: string,
  effects: VerifyEffects,
): Promise<{ platformDigests: string[] }> {
  const contents = new Map<string, Promise<PlatformImage[]>>();
  const results = await Promise.all(
    targets.map(async (t, i): Promise<{ verdict: Verdict; images: PlatformImage[] }> => {
      const digest = (refs[i] ?? "").split("@").pop() ?? "";
      const pushed = { ref: t.ref, digest };
      let readback: Readback;
      try {
        const s = effects.session(t.image.host);
        const key = `${t.image.name}@${digest}`;
        let content = contents.get(key);
        if (!content) {
          content = readPlatformImages(s, t.image.repository, digest);
          contents.set(key, content);
        }
        const [head, images] = await Promise.all([headManifest(s, t.image.repository, t.tag), content]);
        readback = { read: true, tagDigest: head?.digest, images };
      } catch (e) {
        // A RegistryError is masked already; anything else is masked here, before it can reach the report.
        readback = { read: false, reason: maskUrlCredentials(errorMessage(e)) };
      }
      return { verdict: judge(pushed, readback, commit), images: readback.read ? readback.images : [] };
    }),
  );
  const verdicts = results.map((r) => r.verdict);
  if (verdicts.every((v) => v.state === "verified"))
    return { platformDigests: (results[0]?.images ?? []).map(platformDigest) };
  const pinned = (v: Verdict) => `${v.ref}@${v.digest}`;
  throw new VerifyError(verifyReport(what, verdicts), {
    verified: verdicts.filter((v) => v.state === "verified").map(pinned),
    mismatched: verdicts.filter((v) => v.state === "mismatch").map((v) => v.ref),
    unread: verdicts.filter((v) => v.state === "unread").map((v) => v.ref),
  });
}
