import { InvalidInputError } from "./errors/index.js";

export interface KeyValue {
  name: string;
  value: string;
}

/** Parses `NAME=VALUE` (the value may itself hold `=`); `argName` names the argument in errors. */
export function parseKeyValue(entry: string, argName: string, example: string): KeyValue {
  const at = entry.indexOf("=");
  if (at <= 0) {
    throw new InvalidInputError(`${argName} "${entry}": must be NAME=VALUE (try "${example}")`);
  }
  return { name: entry.slice(0, at), value: entry.slice(at + 1) };
}

export function parseBuildArgs(buildArgs: string[]): KeyValue[] {
  return buildArgs.map((a) => {
    const kv = parseKeyValue(a, "buildArgs", "NODE_ENV=production");
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(kv.name)) {
      throw new InvalidInputError(
        `buildArgs "${a}": "${kv.name}" is not a valid build argument name (letters, digits and "_", not starting with a digit)`,
      );
    }
    return kv;
  });
}

export function parseLabels(labels: string[]): KeyValue[] {
  return labels.map((l) => parseKeyValue(l, "labels", "org.opencontainers.image.vendor=Acme"));
}

/** A build secret id as `RUN --mount=type=secret,id=<id>` names it; it becomes a file name under /run/secrets. */
export function validateSecretId(id: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(id)) {
    throw new InvalidInputError(
      `build secret id "${id}": use letters, digits, ".", "_" and "-", not starting with "." or "-" (try "npmrc")`,
    );
  }
  return id;
}

/** `os/arch` or `os/arch/variant`, lowercase, as `--platform` takes it; duplicates refused. */
export function validatePlatforms(platforms: string[]): string[] {
  const seen = new Set<string>();
  for (const p of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/.test(p)) {
      throw new InvalidInputError(`platform "${p}": must be os/arch or os/arch/variant (try "linux/amd64")`);
    }
    if (seen.has(p)) throw new InvalidInputError(`platform "${p}": given twice`);
    seen.add(p);
  }
  return platforms;
}
