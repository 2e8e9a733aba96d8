/**
 * `--latest=auto` on a release: each target repository's tags, read with dockyard's own client (tags/list, a
 * repository not there yet read as empty), then src/tags/latest.ts's verdict. A listing that fails fails the call,
 * naming the repository and the fix: guessing would move `latest` backwards or never move it.
 */
import { RegistryError } from "../errors/index.js";
import type { ImageName } from "../input/image.js";
import type { RegistrySession } from "../registry/http.js";
import { listTags } from "../registry/tags.js";
import { latestVerdict, type LatestVerdict } from "../tags/latest.js";
import type { Semver } from "../tags/semver.js";
import { classifyPushError, errorMessage } from "./retry.js";

export async function registryLatestVerdict(
  release: Semver,
  images: readonly ImageName[],
  session: (host: string) => RegistrySession,
): Promise<LatestVerdict> {
  const repositories = await Promise.all(
    images.map(async (image) => ({ image: image.name, tags: await tagsFor(image, session(image.host)) })),
  );
  return latestVerdict(release, repositories);
}

async function tagsFor(image: ImageName, session: RegistrySession): Promise<string[]> {
  try {
    return await listTags(session, image.repository);
  } catch (e) {
    const failure = e instanceof RegistryError ? e.failure : classifyPushError(errorMessage(e));
    throw new RegistryError(
      `--latest=auto: reading the tags of ${image.name}, to move latest only past older releases, failed: ${errorMessage(e)}; give credentials that may read ${image.host} (--username and --password, or with-registry-auth), or pass --latest=always or --latest=never to decide without the registry`,
      failure,
    );
  }
}
