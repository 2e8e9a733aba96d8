import type { KeyValue } from "../input/keyvalue.js";
import { ociLabels } from "./labels.js";
import { computeTags, refFacts, refTags, type TagInput } from "./tags.js";

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
  labels: KeyValue[];
}

export interface MetadataInput extends TagInput {
  dirty: boolean;
  title?: string | undefined;
  sourceUrl?: string | undefined;
  created?: string | undefined;
  /** User labels; they override the OCI ones. */
  labels: readonly KeyValue[];
}

/** Everything dockyard derives from a commit and its refs, as plain values. */
export function computeMetadata(input: MetadataInput): ImageMetadata {
  const sha = input.commit.slice(0, input.shaLength);
  const facts = input.refs.map(refFacts);
  const semver = facts.find((f) => f.semver)?.semver;
  const version = semver?.text ?? facts.flatMap(refTags)[0] ?? sha;
  const find = <K extends "branch" | "tag" | "pull">(kind: K) => facts.map((f) => f.ref).find((r) => r.kind === kind);
  const branch = find("branch");
  const gitTag = find("tag");
  const pull = find("pull");
  return {
    commit: input.commit,
    shortSha: sha,
    ref: input.refs[0] ?? "",
    branch: branch?.kind === "branch" ? branch.name : "",
    gitTag: gitTag?.kind === "tag" ? gitTag.name : "",
    pullRequest: pull?.kind === "pull" ? pull.number : 0,
    version,
    dirty: input.dirty,
    tags: computeTags(input),
    labels: ociLabels({
      commit: input.commit,
      version,
      title: input.title,
      sourceUrl: input.sourceUrl,
      created: input.created,
      dirty: input.dirty,
      overrides: input.labels,
    }),
  };
}
