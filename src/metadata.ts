import { ociLabels, formatLabels } from "./labels.js";
import { parseLabels } from "./keyvalue.js";
import { allRefFacts, computeTags, normalizeCommit, refTags, shortSha, type TagInput } from "./tags.js";

export interface ImageMetadata {
  commit: string;
  shortSha: string;
  /** The first ref, as given or as found in git; "" when none. */
  ref: string;
  branch: string;
  gitTag: string;
  /** Pull or merge request number; 0 when none. */
  pullRequest: number;
  /** The semver version, else the first ref tag, else the sha tag. */
  version: string;
  dirty: boolean;
  tags: string[];
  /** `key=value` strings. */
  labels: string[];
}

export interface MetadataInput extends TagInput {
  dirty?: boolean;
  title?: string | undefined;
  sourceUrl?: string | undefined;
  created?: string | undefined;
  labels?: string[];
}

/** Everything dockyard derives from a commit and its refs, as plain values. */
export function computeMetadata(input: MetadataInput): ImageMetadata {
  const commit = normalizeCommit(input.commit);
  const sha = shortSha(commit, input.shaLength ?? 7);
  const tags = computeTags(input);
  const facts = allRefFacts(input);
  const semver = facts.find((f) => f.semver)?.semver;
  const version = semver?.text ?? facts.flatMap(refTags)[0] ?? sha;
  const refs = facts.map((f) => f.ref);
  const branch = refs.find((r) => r?.kind === "branch");
  const gitTag = refs.find((r) => r?.kind === "tag");
  const pull = refs.find((r) => r?.kind === "pull");
  const labels = ociLabels({
    commit,
    version,
    title: input.title,
    sourceUrl: input.sourceUrl,
    created: input.created,
    overrides: parseLabels(input.labels ?? []),
  });
  return {
    commit,
    shortSha: sha,
    ref: input.ref ?? input.moreRefs?.[0] ?? "",
    branch: branch?.kind === "branch" ? branch.name : "",
    gitTag: gitTag?.kind === "tag" ? gitTag.name : "",
    pullRequest: pull?.kind === "pull" ? pull.number : 0,
    version,
    dirty: input.dirty ?? false,
    tags,
    labels: formatLabels(labels),
  };
}
