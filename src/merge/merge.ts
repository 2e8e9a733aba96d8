/**
 * merge's effects, on promote's pieces: read every child and its config by digest (nothing written until all are
 * read, checked against the commit and the index is assembled), then in each target repository bring the children
 * it lacks (mount or streamed copy, as promote does), PUT the index under every tag and HEAD each tag back at the
 * index's digest.
 */
import type { PublishTarget } from "../push/publish.js";
import { pushToTargets, readSources, type PromoteEffects } from "../promote/copy.js";
import type { PinnedImage } from "../promote/plan.js";
import { assembleIndex, type AssembledIndex, type MergeIntent } from "./plan.js";

export async function mergeAll(
  from: PinnedImage[],
  targets: PublishTarget[],
  effects: PromoteEffects,
  intent: MergeIntent,
): Promise<{ index: AssembledIndex; refs: string[]; platformDigests: string[] }> {
  const sources = await readSources("merge", from, targets, effects);
  const index = assembleIndex(
    from.map((f, i) => ({ from: f, source: sources[i]! })),
    intent,
  );
  const contents = from.map((f, i) => ({ from: f, node: sources[i]!.root }));
  const refs = await pushToTargets("merge", index, contents, targets, effects);
  // Each child's platform (from its config) and its own digest, as the index names them.
  const platformDigests = index.platforms.map((p, i) => `${p}=${sources[i]!.root.digest}`);
  return { index, refs, platformDigests };
}
