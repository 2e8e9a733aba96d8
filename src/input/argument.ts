/**
 * What every argument parser shares: the error that names the flag, shows the value (credentials masked) and
 * gives a fix that has itself been run through the same parser, plus the checks every text argument needs.
 */
import { InvalidInputError } from "../errors/index.js";

/** A refused argument: `<flag> "<value>": <why> (try "<fix>")`, or `(<hint>)` when no valid value can be derived. */
export class ArgumentError extends InvalidInputError {
  constructor(
    /** The CLI flag, e.g. `--images`. */
    readonly flag: string,
    /** The value as shown in the message: credentials masked. */
    readonly shown: string,
    readonly why: string,
    /** A value the same parser accepts; undefined when none could be derived (then `hint` says what to do). */
    readonly fix: string | undefined,
    readonly hint: string | undefined,
    /** True when `shown` and `fix` are whole lists, comma-separated as the CLI reads them. */
    readonly list = false,
  ) {
    super(`${flag} ${quote(shown)}: ${why} (${fix !== undefined ? `try ${quote(fix)}` : hint})`);
  }
}

/** How one argument is parsed, for its errors: the flag, and the parser a suggested fix must pass. */
export interface Grammar {
  flag: string;
  /** Throws when `value` is not valid; a fix is offered only when this accepts it. */
  check: (value: string) => unknown;
  /** How a value is shown in the error; default: URL credentials masked. */
  show?: (value: string) => string;
  /** The value is a whole list, comma-separated. */
  list?: boolean;
}

// A fix is found by parsing candidates, whose own errors may suggest further candidates: bound the nesting.
const MAX_FIX_DEPTH = 6;
const MAX_FIX_STEPS = 4;
let fixDepth = 0;

/**
 * The first of `candidate`, its suggested fix, that fix's fix, … that `check` accepts; undefined when none does.
 * Every fix an error shows comes from here, so it always passes the parser it is offered for.
 */
export function validFix(candidate: string | undefined, check: (value: string) => unknown, original: string) {
  if (fixDepth >= MAX_FIX_DEPTH) return undefined;
  fixDepth++;
  try {
    let c = candidate;
    for (let step = 0; step < MAX_FIX_STEPS && c !== undefined && c !== original; step++) {
      try {
        check(c);
        return c;
      } catch (e) {
        c = e instanceof ArgumentError ? e.fix : undefined;
      }
    }
    return undefined;
  } finally {
    fixDepth--;
  }
}

/** Throws the argument's error; `candidate` is offered only when the grammar accepts it, else `hint` is shown. */
export function refuse(g: Grammar, value: string, why: string, candidate: string | undefined, hint: string): never {
  const fix = validFix(candidate, g.check, value);
  const show = g.show ?? maskUrlCredentials;
  throw new ArgumentError(
    g.flag,
    show(value),
    why,
    fix === undefined ? undefined : show(fix),
    fix === undefined ? hint || "see the argument's description" : undefined,
    g.list ?? false,
  );
}

/** A value in double quotes, escaped as JSON, with invisible characters spelled out (`\u00a0`, `\u200b`). */
export function quote(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// Query parameters that carry credentials (GitLab's private_token, S3 presigned URLs, API keys).
const SECRET_PARAM_WORDS = new Set([
  "token",
  "password",
  "passwd",
  "pwd",
  "secret",
  "signature",
  "sig",
  "key",
  "apikey",
  "auth",
  "credential",
  "credentials",
]);

/** True when a URL query parameter's name says it carries a credential (`private_token`, `X-Amz-Signature`). */
export function isSecretParam(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[-_.]/)
    .some((word) => SECRET_PARAM_WORDS.has(word));
}

/**
 * `text` with the credentials of every URL in it masked: `https://user:***@host`, `https://***@host` (a token
 * alone in the user part), `?private_token=***`. Scheme-less `user:pass@host/…` is masked the same way.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(/(^|[a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]+)@/gi, (m: string, scheme: string, info: string) => {
      // Without a scheme, only a leading `user:pass@` before the first `/` is userinfo (not `git@host:path`).
      if (scheme === "" && !info.includes(":")) return m;
      const colon = info.indexOf(":");
      return `${scheme}${colon >= 0 ? `${info.slice(0, colon)}:***` : "***"}@`;
    })
    .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (m: string, sep: string, name: string) =>
      isSecretParam(name) ? `${sep}${name}=***` : m,
    );
}

/** A control or invisible character in `s` (C0, DEL, C1, zero-width, bidi marks, BOM), or undefined. */
export function findControl(s: string): string | undefined {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) || c === 0xfeff) return ch;
    if ((c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f)) return ch;
  }
  return undefined;
}

/** `U+000A (line feed)` style name of a character, for errors. */
export function describeChar(ch: string): string {
  const names: Record<string, string> = {
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\0": "NUL",
    " ": "space",
    "\u00a0": "no-break space",
    "\u200b": "zero-width space",
    "\ufeff": "byte order mark",
  };
  const code = `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  const name = names[ch];
  return name ? `${code} (${name})` : code;
}

/** `s` without control and invisible characters. */
export function stripControl(s: string): string {
  return [...s].filter((ch) => findControl(ch) === undefined).join("");
}

/**
 * The checks every text argument starts with: no leading or trailing whitespace (never trimmed silently: the fix
 * is the trimmed value), no control or invisible characters, and, unless `innerSpace`, no whitespace at all.
 * `spaceFix` turns a value with inner whitespace into a candidate fix.
 */
export function checkText(
  g: Grammar,
  value: string,
  opts: { innerSpace?: boolean; spaceFix?: (v: string) => string } = {},
): void {
  if (value !== value.trim()) {
    refuse(g, value, "has leading or trailing whitespace", value.trim(), "remove the whitespace around the value");
  }
  const control = findControl(value);
  if (control !== undefined) {
    refuse(g, value, `holds the control character ${describeChar(control)}`, stripControl(value), "remove it");
  }
  if (!opts.innerSpace) {
    const space = /\s/.exec(value)?.[0];
    if (space !== undefined) {
      const candidate = opts.spaceFix ? opts.spaceFix(value) : value.replace(/\s+/g, "");
      refuse(g, value, `holds whitespace (${describeChar(space)})`, candidate, "remove the whitespace");
    }
  }
}

/**
 * A list as the Dagger CLI reads a list flag (CSV: an item holding `,`, `"` or a line break, or starting with a
 * space, is quoted). Used to show a whole list in an error and to offer a whole list as its fix.
 */
export function joinList(items: readonly string[]): string {
  return items.map((s) => (/^\s|[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)).join(",");
}

/** Reads a list the way `joinList` writes it (and the CLI splits a list flag). */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"' && current === "") quoted = true;
    else if (ch === ",") {
      items.push(current);
      current = "";
    } else current += ch;
  }
  items.push(current);
  return items;
}

/** Refuses a list holding the same item twice, once normalised: the fix keeps one of each (`keep` picks which). */
export function refuseDuplicates<T>(
  g: Grammar,
  values: readonly string[],
  keyOf: (value: string, index: number) => T,
  describe: (first: string, second: string, key: T) => string,
  keep: "first" | "last" = "first",
): void {
  const keys = values.map(keyOf);
  const firstAt = new Map<T, number>();
  for (const [i, key] of keys.entries()) {
    const at = firstAt.get(key);
    if (at === undefined) {
      firstAt.set(key, i);
      continue;
    }
    const kept =
      keep === "first"
        ? values.filter((_, j) => keys.indexOf(keys[j] as T) === j)
        : values.filter((_, j) => keys.lastIndexOf(keys[j] as T) === j);
    refuse(
      { ...g, list: true },
      joinList(values),
      describe(values[at] ?? "", values[i] ?? "", key),
      joinList(kept),
      "give each one once",
    );
  }
}

/** Levenshtein distance, for "did you mean" fixes among a few known names. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known name closest to `name` (at most `max` edits away), for a fix. */
export function closest(name: string, known: readonly string[], max = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Refuses a number that is not a whole number in `[min, max]`; the fix is the nearest one that is. */
export function parseWholeNumber(
  value: number,
  g: Omit<Grammar, "check">,
  range: { min: number; max: number; fallback: number; unit?: string },
): number {
  const grammar: Grammar = { ...g, check: (s) => parseWholeNumber(Number(s), g, range) };
  const shown = String(value);
  const bounds = `a whole number from ${range.min} to ${range.max}${range.unit ? ` ${range.unit}` : ""}`;
  if (!Number.isFinite(value)) refuse(grammar, shown, `must be ${bounds}`, String(range.fallback), "");
  if (!Number.isInteger(value)) refuse(grammar, shown, `must be ${bounds}`, String(Math.round(value)), "");
  if (value < range.min || value > range.max) {
    const nearest = Math.min(range.max, Math.max(range.min, value));
    refuse(grammar, shown, `must be ${bounds}`, String(nearest), "");
  }
  return value;
}
