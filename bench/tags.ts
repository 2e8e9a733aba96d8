// What the fan-out sends after the pushes, with no module and no engine: one GET of the pushed manifest, then the
// four other tags by PUT to each registry side by side. The bench times it warm, and in a fresh process (tags-once.ts).
import type { RegistrySession } from "../src/registry/http.js";
import { getManifest, putManifest } from "../src/registry/manifests.js";

export const FAN_OUT_TAGS = ["main", "latest", "t1", "t2"];

export async function sendTags(sessions: RegistrySession[], repository: string, digest: string): Promise<void> {
  const manifest = await getManifest(sessions[0]!, repository, digest);
  await Promise.all(
    sessions.flatMap((s) =>
      FAN_OUT_TAGS.map((tag) => putManifest(s, repository, tag, manifest.bytes, manifest.mediaType)),
    ),
  );
}
