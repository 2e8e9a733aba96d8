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

// A digest as distribution/reference writes one after `@` (`sha256:<hex>`): it ends an image name, never a host.
const DIGEST = String.raw`[a-z][a-z0-9]*(?:[-_+.][a-z][a-z0-9]*)*:[0-9a-f]{32,}`;
/** True when `s` is a digest as distribution/reference writes one: `sha256:<hex>`, `sha512:<hex>`, … */
export function isDigest(s: string): boolean {
  return new RegExp(`^${DIGEST}$`, "i").test(s);
}

// What may follow the `@` of userinfo: a host name or IP (any case), an optional port, then the end of the host.
const HOST_LABEL = String.raw`[a-z0-9](?:[a-z0-9-]*[a-z0-9])?`;
const HOST = String.raw`(?:\[[0-9a-f:.]+\]|${HOST_LABEL}(?:\.${HOST_LABEL})*)(?::\d{1,5})?(?=[/?#:"'\s<>),;\]]|$)`;
// Tried only where a word of scheme characters starts, so a long word is scanned once, not once per character.
const SCHEME = String.raw`(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://`;
// A user name: no whitespace, quote, `/`, `?`, `#`, `@`, `:`, brackets (an IPv6 host) or list punctuation.
const USER = String.raw`[^\s"'\x60<>/?#@:=(),;[\]]+`;
// A password may hold anything but whitespace, quotes, `<>` and `,` (tokens hold `/`, `#`, `?`, `:`, even `@`).
const PASSWORD = String.raw`[^\s"'\x60<>,]*`;
// `host:8080/path`: a port and a path, not a password.
const NOT_PORT_PATH = String.raw`(?!\d{1,5}[/?#])`;
const USERINFO = new RegExp(
  [
    // 1-3: `scheme://user[:password]@host`, the password running to the last `@` that a host follows.
    String.raw`(${SCHEME})(${USER})(?::${NOT_PORT_PATH}(${PASSWORD}))?@(?!${DIGEST})(?=${HOST})`,
    // 4-6: `scheme://user[:password]@…` as RFC 3986 writes userinfo (no `/?#@`), whatever follows.
    String.raw`(${SCHEME})(${USER})(?::([^\s"'\x60<>,/?#@]*))?@(?!${DIGEST})`,
    // 7-8: `user:password@host` at the start of a word; not `git@host:path`, `mailto:`, `scheme://`.
    String.raw`(?<![^\s"'\x60=(<,;])(?!mailto:)(${USER}):(?!//)${NOT_PORT_PATH}(${PASSWORD})@(?!${DIGEST})(?=${HOST})`,
  ].join("|"),
  "gi",
);

/**
 * `text` with every URL's userinfo rewritten by `write(scheme, user, hasPassword)` (`scheme` is "" without one).
 * The one rule for userinfo, which detection (`urlCredentials`, labels, build args), stripping and masking share:
 * - after `scheme://`, `user@` or `user:password@` where the password runs to the LAST `@` followed by a host
 *   (a host name or IP address, an optional port, then `/`, `?`, `#`, `:`, a quote, whitespace or the end), so
 *   `https://ci:TOKEN/x#y@host/…` is userinfo; without such a host, RFC 3986 userinfo (no `/?#@`) still is;
 * - without a scheme, `user:password@host` at the start of a word (after whitespace, a quote, `=`, `(`, `<`, `,`
 *   or `;`): `ci:TOKEN@gitlab.example/x.git`; never `git@github.com:acme/app.git` or `jane@acme.example` (no
 *   password), `mailto:`, nor `host:8080/path@…` (a port, then a path);
 * - an `@` followed by a digest (`redis@sha256:<hex>`, `localhost:8080@sha256:<hex>`) is never userinfo.
 * A user name holds no `/?#@:[]`; a password no whitespace, quote, `<>` or `,`.
 */
export function rewriteUserinfo(text: string, write: (scheme: string, user: string, hasPassword: boolean) => string) {
  return text.replace(USERINFO, (...m: (string | undefined)[]) => {
    const scheme = m[1] ?? m[4] ?? "";
    const user = m[2] ?? m[5] ?? m[7] ?? "";
    const password = m[1] !== undefined ? m[3] : m[4] !== undefined ? m[6] : m[8];
    return write(scheme, user, password !== undefined);
  });
}

/** True when `text` holds a URL's userinfo, by the rule of `rewriteUserinfo`. */
export function hasUserinfo(text: string): boolean {
  return rewriteUserinfo(text, () => "") !== text;
}

/**
 * `text` with the credentials of every URL in it masked: `https://user:***@host`, `https://***@host` (a token
 * alone in the user part), `user:***@host/…` without a scheme (userinfo as `rewriteUserinfo` finds it), and
 * `?private_token=***`.
 */
export function maskUrlCredentials(text: string): string {
  return rewriteUserinfo(
    text,
    (scheme, user, hasPassword) => `${scheme}${hasPassword ? `${user}:***` : "***"}@`,
  ).replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (m: string, sep: string, name: string) =>
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
