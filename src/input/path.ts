/**
 * `--context` (a folder of the source) and `--dockerfile` (a file of the context): relative paths inside their
 * folder, normalised (`./a//b/` is `a/b`). What needs the engine (does it exist, is it a file or a folder, where
 * does a symlink lead) is decided here too, from facts the caller reads with `Directory.exists`.
 */
import { ArgumentError, checkText, refuse, type Grammar } from "./argument.js";

const MAX_COMPONENT = 255;
const MAX_PATH = 4096;

type PathKind = "context" | "dockerfile";

const ROLE: Record<PathKind, { inside: string; fallback: string }> = {
  context: { inside: "the source (--source)", fallback: "." },
  dockerfile: { inside: "the build context (--context)", fallback: "Dockerfile" },
};

/** Relative, normalised path components of `value`; refuses what no normalising can make relative and inside. */
function parsePath(value: string, kind: PathKind, flag: string): string {
  const g: Grammar = { flag, check: (s) => parsePath(s, kind, flag) };
  const role = ROLE[kind];
  if (value === "") refuse(g, value, "must not be empty", role.fallback, "");
  checkText(g, value, { innerSpace: true });
  if (value.includes("\\")) {
    refuse(g, value, 'uses "\\": paths in the engine are separated by "/"', value.replace(/\\/g, "/"), "");
  }
  if (/^[A-Za-z]:\//.test(value)) {
    refuse(g, value, `is a Windows path: give it relative to ${role.inside}`, undefined, `e.g. "${role.fallback}"`);
  }
  if (value.startsWith("/")) {
    refuse(g, value, `is absolute: give it relative to ${role.inside}`, value.replace(/^\/+/, "") || ".", "");
  }
  const components = value.split("/").filter((c) => c !== "" && c !== ".");
  if (components[0] === "~") {
    refuse(
      g,
      value,
      `"~" is not expanded: give the path relative to ${role.inside}`,
      components.slice(1).join("/") || ".",
      "",
    );
  }
  if (components.includes("..")) {
    const resolved: string[] = [];
    let escapes = false;
    for (const c of components) {
      if (c !== "..") resolved.push(c);
      else if (resolved.pop() === undefined) escapes = true;
    }
    refuse(
      g,
      value,
      escapes ? `leads outside ${role.inside}` : 'holds a ".." component',
      escapes ? undefined : resolved.join("/") || ".",
      kind === "dockerfile"
        ? "the Dockerfile must be inside --context: widen --context, or move the Dockerfile"
        : "the context must be a folder of --source: pass a wider --source",
    );
  }
  const long = components.find((c) => c.length > MAX_COMPONENT);
  if (long !== undefined)
    refuse(g, value, `a path component is longer than ${MAX_COMPONENT} characters`, undefined, "shorten it");
  if (value.length > MAX_PATH) refuse(g, value, `is longer than ${MAX_PATH} characters`, undefined, "shorten it");
  if (components[0] === ".git") {
    refuse(g, value, "is inside .git, which the build leaves out of the context", undefined, `e.g. "${role.fallback}"`);
  }
  const normalised = components.join("/") || ".";
  if (kind === "dockerfile") {
    if (normalised === ".") {
      refuse(g, value, "names the context folder itself, not a file", "Dockerfile", "");
    }
    if (value.endsWith("/") || value.endsWith("/.")) {
      refuse(g, value, "names a folder (it ends in /)", `${normalised}/Dockerfile`, "");
    }
  }
  return normalised;
}

/** `--context`: a folder of the source, relative to its root; normalised (`./web/` is `web`, `./` is `.`). */
export function parseContextPath(value: string, flag = "--context"): string {
  return parsePath(value, "context", flag);
}

/** `--dockerfile`: a file of the context, relative to it; normalised (`./docker//Dockerfile` is `docker/Dockerfile`). */
export function parseDockerfilePath(value: string, flag = "--dockerfile"): string {
  return parsePath(value, "dockerfile", flag);
}

/** Either path, by its flag: `--context` is a folder, anything else (`--dockerfile`) a file. */
export function parseBuildPath(value: string, flag: string): string {
  return flag === "--context" ? parseContextPath(value, flag) : parseDockerfilePath(value, flag);
}

/** What the engine says about a path: `Directory.exists` with each `expectedType`, and with doNotFollowSymlinks. */
export interface PathFacts {
  /** Following symlinks: a regular file, a folder, something else (a device, a dangling link), or nothing. */
  kind: "file" | "folder" | "other" | "missing";
  /** The path itself is a symlink (`exists(path, {expectedType: SYMLINK_TYPE})`). */
  symlink: boolean;
  /** The symlink's target, when the caller can read it; the engine (v0.21) has no call that returns it. */
  target?: string;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : path.slice(0, i);
}

/** `--context` names nothing in the source. */
export function contextNotFound(context: string): ArgumentError {
  return error(
    "--context",
    context,
    "not found in the source (the path is relative to the source's root)",
    ".",
    parseContextPath,
  );
}

/**
 * A symlink the engine cannot follow: its target is missing, or outside the uploaded folder, which is all the
 * engine holds (a link out of it reaches nothing on the host).
 */
export function danglingSymlink(flag: string, path: string, within: string): ArgumentError {
  return error(
    flag,
    path,
    `is a symlink whose target is missing or outside ${within} (the engine sees only the uploaded folder)`,
    undefined,
    flag === "--context" ? parseContextPath : parseDockerfilePath,
    `pass the target's own path inside ${within}, or copy the file there`,
  );
}

/** `--context` names a file; the fix is its folder (the context holds the Dockerfile). */
export function contextNotAFolder(context: string): ArgumentError {
  return error("--context", context, "is a file, not a folder of the source", parentOf(context), parseContextPath);
}

/**
 * `--dockerfile` is not in the context. When it was given relative to the source (`web/Dockerfile` with
 * `--context web`), the fix is the path relative to the context.
 */
export function dockerfileNotFound(dockerfile: string, context: string): ArgumentError {
  const prefix = context === "." ? undefined : `${context}/`;
  const fix = prefix && dockerfile.startsWith(prefix) ? dockerfile.slice(prefix.length) : undefined;
  return error(
    "--dockerfile",
    dockerfile,
    `not found in --context "${context}" (the path is relative to --context)`,
    fix,
    parseDockerfilePath,
    `give the Dockerfile's path inside "${context}"`,
  );
}

/** `--dockerfile` names a folder; the fix is the Dockerfile inside it. */
export function dockerfileIsFolder(dockerfile: string, context: string): ArgumentError {
  return error(
    "--dockerfile",
    dockerfile,
    `is a folder in --context "${context}", not a file`,
    `${dockerfile}/Dockerfile`,
    parseDockerfilePath,
  );
}

/** Where a symlink at `path` (relative to its folder's root) leads, relative to that root; undefined when outside. */
export function resolveSymlink(path: string, target: string): string | undefined {
  const base = target.startsWith("/")
    ? []
    : parentOf(path)
        .split("/")
        .filter((c) => c !== "." && c !== "");
  const resolved = [...base];
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c !== "..") resolved.push(c);
    else if (resolved.pop() === undefined) return undefined;
  }
  return resolved.join("/") || ".";
}

/**
 * The error for a symlink whose target leads outside the folder the build sees (`within`: the context for
 * `--dockerfile`, the source for `--context`), or undefined when it stays inside. Absolute targets count from
 * the folder's root, as the engine resolves them.
 */
export function pathIsSymlinkOutside(
  flag: string,
  path: string,
  target: string,
  within: string,
): ArgumentError | undefined {
  if (resolveSymlink(path, target) !== undefined) return undefined;
  const parse = flag === "--context" ? parseContextPath : parseDockerfilePath;
  return error(
    flag,
    path,
    `is a symlink to "${target}", outside ${within}, which the build cannot follow`,
    undefined,
    parse,
    `pass the target's own path inside ${within}`,
  );
}

/**
 * The checks that need the engine, decided from its answers: the context must be a folder, the Dockerfile a file
 * inside it, and neither a symlink leading out. A symlink whose target cannot be read counts as inside when the
 * engine resolves it (the engine resolves links within the source's root).
 */
export function checkBuildPaths(
  context: string,
  dockerfile: string,
  facts: { context?: PathFacts; dockerfile?: PathFacts },
): void {
  const c = facts.context;
  if (c && context !== ".") {
    if (c.symlink && c.target !== undefined) {
      const outside = pathIsSymlinkOutside("--context", context, c.target, "the source");
      if (outside) throw outside;
    }
    if (c.symlink && c.kind === "missing") throw danglingSymlink("--context", context, "the source");
    if (c.kind === "missing" || c.kind === "other") throw contextNotFound(context);
    if (c.kind === "file") throw contextNotAFolder(context);
  }
  const d = facts.dockerfile;
  // Without the Dockerfile's facts only the context is checked (the Dockerfile is looked for inside it next).
  if (!d) return;
  if (d.symlink && d.target !== undefined) {
    const outside = pathIsSymlinkOutside("--dockerfile", dockerfile, d.target, `--context "${context}"`);
    if (outside) throw outside;
  }
  if (d.symlink && d.kind === "missing") throw danglingSymlink("--dockerfile", dockerfile, `--context "${context}"`);
  if (d.kind === "folder") throw dockerfileIsFolder(dockerfile, context);
  if (d.kind !== "file") throw dockerfileNotFound(dockerfile, context);
}

function error(
  flag: string,
  value: string,
  why: string,
  candidate: string | undefined,
  parse: (s: string, flag: string) => string,
  hint = "",
): ArgumentError {
  try {
    refuse({ flag, check: (s) => parse(s, flag) }, value, why, candidate, hint);
  } catch (e) {
    if (e instanceof ArgumentError) return e;
    throw e;
  }
}
