import type { KeyValue } from "../input/keyvalue.js";
import { InvalidInputError } from "../errors/index.js";

export interface LabelInput {
  commit: string;
  /** The semver version, else the first ref tag, else the sha tag. */
  version: string;
  title?: string | undefined;
  sourceUrl?: string | undefined;
  /** Never the wall clock: the same commit must give the same labels. */
  created?: string | undefined;
  /** Built from a working folder that differs from the commit (--allow-dirty). */
  dirty?: boolean;
  /** User labels; they override the OCI ones. */
  overrides?: readonly KeyValue[];
}

/** Set (to "true") only on an image built from a working folder that differs from its commit. */
export const DIRTY_LABEL = "dockyard.dirty";

const OCI = "org.opencontainers.image";

/** OCI annotation labels for an image, user labels last so they win. */
export function ociLabels(input: LabelInput): KeyValue[] {
  const base: [string, string | undefined][] = [
    [`${OCI}.revision`, input.commit],
    [`${OCI}.version`, input.version],
    [`${OCI}.title`, input.title],
    [`${OCI}.source`, input.sourceUrl],
    [`${OCI}.created`, input.created],
    [DIRTY_LABEL, input.dirty ? "true" : undefined],
  ];
  const labels = new Map<string, string>();
  for (const [name, value] of base) if (value) labels.set(name, value);
  for (const { name, value } of input.overrides ?? []) labels.set(name, value);
  return [...labels].map(([name, value]) => ({ name, value }));
}

export function formatLabels(labels: KeyValue[]): string[] {
  return labels.map(({ name, value }) => `${name}=${value}`);
}

/**
 * The labels `formatLabels` wrote, back as name and value: each entry splits at its first `=` (a value may hold
 * more). An entry without a name before `=` was not written by `formatLabels`: refused, naming it.
 */
export function parseFormattedLabels(labels: readonly string[]): KeyValue[] {
  return labels.map((entry) => {
    const at = entry.indexOf("=");
    if (at <= 0) {
      throw new InvalidInputError(
        `label ${JSON.stringify(entry)}: not key=value (Metadata.labels holds the labels dockyard formatted; get them from metadata)`,
      );
    }
    return { name: entry.slice(0, at), value: entry.slice(at + 1) };
  });
}
