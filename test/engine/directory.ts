// Rung 3 (engine double): Directory semantics as Dagger v0.21.8 applies them to a snapshot: paths bounded by the
// snapshot's root, dockerignore/filter patterns, filtered copies, Dockerfile directives. Sources: test/engine/CONFORMANCE.md.
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  type Stats,
} from "node:fs";

import { join, posix } from "node:path";

import { processTempDir } from "../infra/tempdirs.js";

/** An error Dagger reports as ENOENT (os.PathError with syscall.ENOENT): `exists` answers false for it. */
export class NotExistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotExistError";
  }
}

/** A fresh scratch folder (filtered copies, git checkouts) that lives as long as the test process. */
export function scratchDir(prefix: string): string {
  return processTempDir(`dockyard-double-${prefix}-`);
}

const lstatOrUndefined = (p: string): Stats | undefined => {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw e;
  }
};

// --- containerd/continuity v0.4.5 fs/path.go:223-308 (RootPath), ported line by line ---

const MAX_LINKS = 255;

/** Go's filepath.Join: joins then cleans (no trailing slash, "." for empty). */
function goJoin(...parts: string[]): string {
  return goClean(parts.filter((p) => p !== "").join("/"));
}

/** Go's path.Clean. */
export function goClean(p: string): string {
  if (p === "") return ".";
  const c = posix.normalize(p);
  return c.length > 1 && c.endsWith("/") ? c.slice(0, -1) : c;
}

/** Go's filepath.Split: dir keeps its trailing slash. */
function goSplit(p: string): [string, string] {
  const i = p.lastIndexOf("/");
  return [p.slice(0, i + 1), p.slice(i + 1)];
}

function walkLink(root: string, path: string, walked: { n: number }): { path: string; isLink: boolean } {
  if (walked.n > MAX_LINKS) throw new Error("too many links");
  const p = goJoin("/", path);
  if (p === "/") return { path: p, isLink: false };
  const st = lstatOrUndefined(join(root, p));
  if (!st || !st.isSymbolicLink()) return { path: p, isLink: false };
  walked.n++;
  return { path: readlinkSync(join(root, p)), isLink: true };
}

function walkLinks(root: string, path: string, walked: { n: number }): string {
  const [dir, file] = goSplit(path);
  if (dir === "") return walkLink(root, file, walked).path;
  if (file === "") {
    if (dir === "/") return dir;
    return walkLinks(root, dir.slice(0, -1), walked);
  }
  const newdir = walkLinks(root, dir, walked);
  const link = walkLink(root, goJoin(newdir, file), walked);
  if (!link.isLink) return link.path;
  if (link.path.startsWith("/")) return link.path;
  return goJoin(newdir, link.path);
}

/** Joins path to root, evaluating every symlink inside root: an absolute target or ".." never leaves it. */
export function rootPath(root: string, path: string): string {
  if (path === "") return root;
  const walked = { n: 0 };
  let p = path;
  for (;;) {
    const before = walked.n;
    p = walkLinks(root, p, walked);
    if (before === walked.n) {
      const cleaned = goJoin("/", p);
      if (p === cleaned) return goJoin(root, cleaned);
      p = cleaned;
    }
  }
}

/** core/util.go:326-333: every component but the last is resolved inside root. */
export function rootPathWithoutFinalSymlink(root: string, path: string): string {
  const [dir, base] = goSplit(path);
  return posix.join(rootPath(root, dir), base);
}

/** What Directory.stat sees for a path of a snapshot (core/directory.go:3142-3182); undefined for ENOENT. */
export function statInRoot(root: string, path: string, followFinal: boolean): Stats | undefined {
  if (path === "") return undefined;
  // rootPath follows every link, so a dangling last link is ENOENT, as os.Stat says.
  return lstatOrUndefined(followFinal ? rootPath(root, path) : rootPathWithoutFinalSymlink(root, path));
}

// --- moby/patternmatcher v0.6.1 patternmatcher.go:42-76, 216-272, 312-440 (Dagger go.mod:113), ported ---

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

interface Pattern {
  exclusion: boolean;
  cleaned: string;
  type?: MatchType;
  re?: RegExp;
}

/** Per-pattern "parent directory matched" flags, carried down a walk (patternmatcher MatchInfo). */
export type MatchInfo = boolean[] | undefined;

const REGEX_SPECIAL = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

function compile(p: Pattern): void {
  let reg = "^";
  let type: MatchType = "exact";
  const chars = [...p.cleaned];
  let k = 0;
  const peek = () => chars[k];
  for (let i = 0; k < chars.length; i++) {
    const ch = chars[k++];
    if (ch === "*") {
      if (peek() === "*") {
        k++;
        if (peek() === "/") k++;
        if (peek() === undefined) {
          if (type === "exact") type = "prefix";
          else {
            reg += ".*";
            type = "regexp";
          }
        } else {
          reg += "(.*/)?";
          type = "regexp";
        }
        if (i === 0) type = "suffix";
      } else {
        reg += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      reg += "[^/]";
      type = "regexp";
    } else if (ch !== undefined && REGEX_SPECIAL.has(ch)) {
      reg += `\\${ch}`;
    } else if (ch === "\\") {
      if (peek() !== undefined) {
        reg += `\\${chars[k++] ?? ""}`;
        type = "regexp";
      } else reg += "\\\\";
    } else if (ch === "[" || ch === "]") {
      reg += ch;
      type = "regexp";
    } else {
      reg += ch;
    }
  }
  if (type === "regexp") p.re = new RegExp(`${reg}$`);
  p.type = type;
}

function patternMatch(p: Pattern, path: string): boolean {
  if (!p.type) compile(p);
  switch (p.type) {
    case "exact":
      return path === p.cleaned;
    case "prefix":
      return path.startsWith(p.cleaned.slice(0, -2));
    case "suffix": {
      const suffix = p.cleaned.slice(2);
      if (path.endsWith(suffix)) return true;
      return suffix.startsWith("/") && path === suffix.slice(1);
    }
    default:
      return p.re?.test(path) ?? false;
  }
}

/** filepath.Match's syntax check, reduced to what can go wrong with a pattern: an unclosed class or a trailing escape. */
function checkPatternSyntax(p: string): void {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      if (i + 1 >= p.length) throw new Error("syntax error in pattern");
      i++;
    } else if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
  }
  if (inClass) throw new Error("syntax error in pattern");
}

export class PatternMatcher {
  private readonly patterns: Pattern[] = [];

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === "") continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new Error('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
      }
      checkPatternSyntax(p);
      this.patterns.push({ exclusion, cleaned: p });
    }
  }

  get size(): number {
    return this.patterns.length;
  }

  /** MatchesUsingParentResults: a path matches when it or (with no parent info) one of its parents matches. */
  matches(file: string, parent: MatchInfo): { matched: boolean; info: boolean[] } {
    let matched = false;
    const info = this.patterns.map(() => false);
    this.patterns.forEach((pattern, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== matched) return;
        match = patternMatch(pattern, file);
        if (!match && parent === undefined) {
          const dir = posix.dirname(file);
          if (dir !== ".") {
            const parts = dir.split("/");
            for (let j = 0; j < parts.length && !match; j++)
              match = patternMatch(pattern, parts.slice(0, j + 1).join("/"));
          }
        }
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    });
    return { matched, info };
  }
}

// --- Dagger util/layercopy/filter.go:25-113 and copy_linux.go:163-243: how Directory.filter copies ---

export interface CopyFilter {
  include: readonly string[];
  exclude: readonly string[];
}

interface FilterState {
  include: MatchInfo;
  exclude: MatchInfo;
}

function includePath(
  rel: string,
  inc: PatternMatcher | undefined,
  exc: PatternMatcher | undefined,
  parent: FilterState,
): { include: boolean; state: FilterState } {
  if (rel === "") return { include: true, state: parent };
  let include = true;
  const state: FilterState = { ...parent };
  if (inc) {
    const r = inc.matches(rel, parent.include);
    state.include = r.info;
    include = r.matched;
  }
  if (exc) {
    const r = exc.matches(rel, parent.exclude);
    state.exclude = r.info;
    if (r.matched) include = false;
  }
  return { include, state };
}

function applyTimes(path: string, st: Stats): void {
  if (st.isSymbolicLink()) lutimesSync(path, st.atime, st.mtime);
  else utimesSync(path, st.atime, st.mtime);
}

/**
 * Copies src into dest (an existing empty folder) keeping what the filter lets through, as layercopy does:
 * excluded folders are still walked, and created only when something below them is kept; symlinks are
 * copied as links, never followed; modes and times are kept.
 */
export function copyFiltered(src: string, dest: string, filter: CopyFilter): void {
  const inc = filter.include.length > 0 ? new PatternMatcher(filter.include) : undefined;
  const exc = filter.exclude.length > 0 ? new PatternMatcher(filter.exclude) : undefined;
  const created: { path: string; st: Stats }[] = [];
  const ensure = (pending: string[]) => {
    for (const rel of pending) {
      const target = join(dest, rel);
      if (lstatOrUndefined(target)) continue;
      const st = lstatSync(join(src, rel));
      mkdirSync(target);
      chmodSync(target, st.mode & 0o7777);
      created.push({ path: target, st });
    }
  };
  const walk = (rel: string, parent: FilterState, pending: string[]): void => {
    const from = rel === "" ? src : join(src, rel);
    const to = rel === "" ? dest : join(dest, rel);
    const st = lstatSync(from);
    const { include, state } = includePath(rel, inc, exc, parent);
    if (st.isDirectory()) {
      let childPending = pending;
      if (include) {
        ensure(pending);
        if (rel !== "") mkdirSync(to);
        chmodSync(to, st.mode & 0o7777);
      } else childPending = [...pending, rel];
      for (const name of readdirSync(from).sort()) walk(rel === "" ? name : `${rel}/${name}`, state, childPending);
      if (include) applyTimes(to, st);
      return;
    }
    if (!include) return;
    ensure(pending);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) {
      copyFileSync(from, to);
      chmodSync(to, st.mode & 0o7777);
    } else throw new Error(`engine double: copying ${from} (not a file, folder or symlink) is not modelled`);
    applyTimes(to, st);
  };
  walk("", { include: undefined, exclude: undefined }, []);
  // Folders created for a kept child get their own times last, as the copier applies metadata after children.
  for (const { path, st } of created.reverse()) applyTimes(path, st);
}

// --- moby/patternmatcher v0.6.1 ignorefile/ignorefile.go:24-73: .dockerignore lines ---

export function readIgnoreFile(text: string): string[] {
  const out: string[] = [];
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .forEach((line) => {
      if (line.startsWith("#")) return;
      let p = line.trim();
      if (p === "") return;
      const invert = p.startsWith("!");
      if (invert) p = p.slice(1).trim();
      if (p.length > 0) {
        p = goClean(p);
        if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
      }
      out.push(invert ? `!${p}` : p);
    });
  return out;
}

// --- Dockerfile directives: internal/buildkit/frontend/dockerfile/parser/directives.go:41-173 (Dagger v0.21.8) ---

const DIRECTIVES = new Set(["syntax", "escape", "check"]);

interface Directive {
  name: string;
  value: string;
  line: number;
}

function parseDirectives(lines: string[], comment: "#" | "//", first: number): Directive[] {
  const re = new RegExp(`^${comment}\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$`);
  const out: Directive[] = [];
  const seen = new Set<string>();
  for (let i = first; i < lines.length; i++) {
    const m = re.exec(lines[i] ?? "");
    const name = m?.[1]?.toLowerCase();
    if (!m || name === undefined || !DIRECTIVES.has(name)) break;
    if (seen.has(name)) break; // the parser errors here; DetectSyntax ignores the error and keeps what it has
    seen.add(name);
    out.push({ name, value: m[2] ?? "", line: i });
  }
  return out;
}

/** DetectSyntax: the frontend image named by a `# syntax=` (or `// syntax=`, or JSON) directive, or undefined. */
export function detectSyntax(dockerfile: string): { ref: string; line?: number } | undefined {
  const lines = dockerfile.split("\n");
  const first = lines[0]?.startsWith("#!") ? 1 : 0;
  for (const comment of ["#", "//"] as const) {
    const d = parseDirectives(lines, comment, first).find((x) => x.name === "syntax");
    if (d) return { ref: d.value.split(" ")[0] ?? "", line: d.line };
  }
  try {
    const json = JSON.parse(lines.slice(first).join("\n")) as unknown;
    const v = json !== null && typeof json === "object" ? (json as Record<string, unknown>).syntax : undefined;
    if (typeof v === "string") return { ref: v };
  } catch {
    // not JSON: no directive
  }
  return undefined;
}

const KNOWN_FRONTENDS = [
  "docker/dockerfile",
  "docker/dockerfile-upstream",
  "docker.io/docker/dockerfile",
  "docker.io/docker/dockerfile-upstream",
  "index.docker.io/docker/dockerfile",
  "index.docker.io/docker/dockerfile-upstream",
  "moby/dockerfile",
  "moby/dockerfile-upstream",
  "docker.io/moby/dockerfile",
  "docker.io/moby/dockerfile-upstream",
  "index.docker.io/moby/dockerfile",
  "index.docker.io/moby/dockerfile-upstream",
];

/** core/container.go:5028-5054. */
export function isKnownSyntaxFrontend(ref: string): boolean {
  const r = ref.trim().toLowerCase();
  if (r === "") return false;
  return KNOWN_FRONTENDS.some((p) => r === p || r.startsWith(`${p}:`) || r.startsWith(`${p}@`));
}

/**
 * Dagger builds every accepted Dockerfile with its own built-in frontend, whatever `# syntax=` names; Docker 20.10
 * would pull the named frontend image instead. The line is blanked at the end of the directive block so the
 * other directives and every line number stay as they were.
 */
export function withoutSyntaxDirective(dockerfile: string): string {
  const found = detectSyntax(dockerfile);
  if (found?.line === undefined) return dockerfile;
  const lines = dockerfile.split("\n");
  const first = lines[0]?.startsWith("#!") ? 1 : 0;
  const comment = lines[found.line]?.trimStart().startsWith("//") ? "//" : "#";
  const block = parseDirectives(lines, comment, first);
  const rest = block.filter((d) => d.name !== "syntax").map((d) => lines[d.line] ?? "");
  const end = first + block.length;
  return [...lines.slice(0, first), ...rest, "", ...lines.slice(end)].join("\n");
}

// --- core/git.go:517-527: a checkout's timestamps ---

/** Sets every path under dir (dir included, links not followed) to 1 s after the epoch. */
export function normaliseTimestamps(dir: string): void {
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    lutimesSync(p, 1, 1);
  };
  walk(dir);
}
