/** `NAME=VALUE` arguments (`--build-args`, `--labels`) and build secret ids (`--id` of with-build-secret). */
import {
  ArgumentError,
  checkText,
  hasUserinfo,
  findControl,
  joinList,
  refuse,
  splitList,
  stripControl,
  type Grammar,
} from "./argument.js";
import { parseCreated, epochToRfc3339 } from "./timestamp.js";
import { parseSourceUrl, stripSecretParams, stripUserinfo, urlCredentials } from "./url.js";

export { validatePlatforms } from "./platform.js";

export interface KeyValue {
  name: string;
  value: string;
}

/** Splits `NAME=VALUE` at the first `=` (the value may hold more); `example` is shown when there is none. */
export function parseKeyValue(entry: string, flag: string, example: string): KeyValue {
  const at = entry.indexOf("=");
  if (at <= 0) {
    const g: Grammar = { flag, check: (s) => parseKeyValue(s, flag, example) };
    refuse(g, entry, at === 0 ? 'has no name before "="' : "must be NAME=VALUE", undefined, `e.g. "${example}"`);
  }
  return { name: entry.slice(0, at), value: entry.slice(at + 1) };
}

/** Refuses the same name twice; the fix keeps the last, which is the one Docker would use. */
function refuseRepeatedNames(g: Grammar, values: readonly string[], entries: KeyValue[], what: string): void {
  const names = entries.map((e) => e.name);
  const at = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (at < 0) return;
  const name = names[at] ?? "";
  const kept = values.filter((_, i) => names.lastIndexOf(names[i] ?? "") === i);
  refuse(
    { ...g, list: true },
    joinList(values),
    `${what} "${name}" is given twice`,
    joinList(kept),
    "give each name once",
  );
}

/**
 * A value that would publish a URL's credentials (build args end up in the image's history), else undefined:
 * userinfo anywhere in it, with or without a scheme (`ci:TOKEN@gitlab.example/x.git`, by the rule masking uses),
 * or a URL's query parameter named like a token.
 */
function credentialsIn(value: string): { why: string; clean: string } | undefined {
  const urls = (text: string) => text.match(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi) ?? [];
  const withoutQuerySecrets = (text: string) =>
    urls(text).reduce((t, url) => t.replace(url, stripSecretParams(url)), text);
  if (hasUserinfo(value)) {
    return {
      why: "its URL holds credentials (user info before the host)",
      clean: withoutQuerySecrets(stripUserinfo(value)),
    };
  }
  for (const url of urls(value)) {
    const why = urlCredentials(url);
    if (why) return { why: `its URL ${why}`, clean: withoutQuerySecrets(value) };
  }
  return undefined;
}

// Dockerfile ARG names that `${NAME}` can expand: a letter or "_", then letters, digits and "_".
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// 9999-12-31T23:59:59Z: beyond it a SOURCE_DATE_EPOCH is milliseconds, or a mistake.
const MAX_EPOCH = 253402300799;

function parseBuildArg(entry: string, flag: string): KeyValue {
  const g: Grammar = { flag, check: (s) => parseBuildArg(s, flag) };
  const kv = parseKeyValue(entry, flag, "NODE_ENV=production");
  if (!ARG_NAME.test(kv.name)) {
    const fixed = kv.name
      .trim()
      .replace(/[^A-Za-z0-9_]+/g, "_")
      .replace(/^(\d)/, "_$1");
    refuse(
      g,
      entry,
      `"${kv.name}" is not a build argument name (letters, digits and "_", not starting with a digit)`,
      `${fixed}=${kv.value}`,
      'e.g. "NODE_ENV=production"',
    );
  }
  if (kv.value.includes("\0"))
    refuse(g, entry, "the value holds a NUL character", `${kv.name}=${kv.value.replace(/\0/g, "")}`, "");
  const leak = credentialsIn(kv.value);
  if (leak) {
    refuse(
      g,
      entry,
      `${leak.why}: build arguments are recorded in the image's history`,
      `${kv.name}=${leak.clean}`,
      "pass credentials with with-build-secret",
    );
  }
  if (kv.name === "SOURCE_DATE_EPOCH") checkSourceDateEpoch(g, entry, kv.value);
  return kv;
}

/** SOURCE_DATE_EPOCH is whole seconds since 1970 (reproducible-builds.org), which BuildKit stamps the image with. */
function checkSourceDateEpoch(g: Grammar, entry: string, value: string): void {
  const hint = 'e.g. "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)"';
  if (/^(?:0|[1-9]\d*)$/.test(value) && Number(value) <= MAX_EPOCH) return;
  let candidate: string | undefined;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    candidate = n <= MAX_EPOCH ? String(n) : n <= MAX_EPOCH * 1000 + 999 ? String(Math.floor(n / 1000)) : undefined;
  } else if (value !== "") {
    try {
      const created = parseCreated(value, g.flag);
      candidate = String(Math.floor(Date.parse(created) / 1000));
    } catch {
      candidate = undefined;
    }
  }
  if (candidate !== undefined && Number(candidate) < 0) candidate = undefined;
  refuse(
    g,
    entry,
    `SOURCE_DATE_EPOCH must be whole seconds since 1970 (0 to ${MAX_EPOCH}, ${epochToRfc3339(MAX_EPOCH).slice(0, 10)})`,
    candidate === undefined ? undefined : `SOURCE_DATE_EPOCH=${candidate}`,
    hint,
  );
}

/**
 * `--build-args` as NAME=VALUE: the name as a Dockerfile `ARG` can expand it, the value anything but NUL (it may
 * hold `=`); a value with a URL's credentials is refused (build args are kept in the image's history); the same
 * name twice is refused; `SOURCE_DATE_EPOCH` must be whole seconds.
 */
export function parseBuildArgs(values: readonly string[], flag = "--build-args"): KeyValue[] {
  const entries = values.map((v) => parseBuildArg(v, flag));
  const g: Grammar = { flag, check: (s) => parseBuildArgs(splitList(s), flag) };
  refuseRepeatedNames(g, values, entries, "build argument");
  return entries;
}

// A label key as Docker's and the OCI's guidelines write one: lowercase reverse-DNS words.
const LABEL_KEY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const MAX_LABEL_KEY = 255;
const OCI = "org.opencontainers.image";

/** The OCI annotations whose values have a grammar of their own, checked with that argument's parser. */
const LABEL_VALUE_PARSERS: Record<string, (value: string, flag: string) => unknown> = {
  [`${OCI}.created`]: parseCreated,
  [`${OCI}.source`]: parseSourceUrl,
  [`${OCI}.url`]: parseSourceUrl,
  [`${OCI}.documentation`]: parseSourceUrl,
};

// Labels that say which commit the image is and whether it was built from elsewhere: dockyard's alone to set.
const RESERVED_LABELS: Record<string, string> = {
  [`${OCI}.revision`]: "it is the commit whose tree is built: pass --commit",
  "dockyard.dirty": "it is set when a folder that differs from its commit is built: pass --allow-dirty",
};

function parseLabel(entry: string, flag: string): KeyValue {
  const g: Grammar = { flag, check: (s) => parseLabel(s, flag) };
  const kv = parseKeyValue(entry, flag, "org.opencontainers.image.vendor=Acme");
  return checkLabel(g, entry, kv, "", "label");
}

/**
 * A label's (or annotation's) key and value by the label grammar; `prefix` is what precedes `key=value` in
 * `entry` (an annotation's level), kept in every fix.
 */
export function checkLabel(
  g: Grammar,
  entry: string,
  kv: KeyValue,
  prefix: string,
  kind: "label" | "annotation",
): KeyValue {
  if (!LABEL_KEY.test(kv.name) || kv.name.length > MAX_LABEL_KEY) {
    const fixed = kv.name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/[._-]{2,}/g, (m) => m[0] ?? "-")
      .replace(/^[._-]+|[._-]+$/g, "");
    const why =
      kv.name.length > MAX_LABEL_KEY
        ? `the key is longer than ${MAX_LABEL_KEY} characters`
        : `"${kv.name}" is not ${kind === "label" ? "a label" : "an annotation"} key: lowercase letters and digits in words separated by ".", "-" or "_"`;
    refuse(
      g,
      entry,
      why,
      fixed.length > 0 && fixed.length <= MAX_LABEL_KEY ? `${prefix}${fixed}=${kv.value}` : undefined,
      `e.g. "${prefix}com.example.team=core"`,
    );
  }
  if (findControl(kv.value.replace(/\t/g, " ")) !== undefined) {
    const clean = stripControl(kv.value.replace(/[\r\n\t]+/g, " "));
    refuse(g, entry, "the value holds a line break or control character", `${prefix}${kv.name}=${clean}`, "");
  }
  const leak = credentialsIn(kv.value);
  if (leak)
    refuse(
      g,
      entry,
      `${leak.why}: ${kind === "label" ? "image labels" : "annotations"} are public`,
      `${prefix}${kv.name}=${leak.clean}`,
      "",
    );
  const reserved = RESERVED_LABELS[kv.name];
  if (reserved) refuse(g, entry, `${kv.name} is set by dockyard and cannot be overridden`, undefined, reserved);
  const parse = LABEL_VALUE_PARSERS[kv.name];
  if (parse) {
    try {
      parse(kv.value, g.flag);
    } catch (e) {
      if (!(e instanceof ArgumentError)) throw e;
      const fix = e.fix === undefined ? undefined : `${prefix}${kv.name}=${e.fix}`;
      refuse(g, entry, `${kv.name}: ${e.why}`, fix, e.hint ?? "");
    }
  }
  return kv;
}

/**
 * `--labels` as key=value: keys lowercase reverse-DNS words (`[a-z0-9]+([._-][a-z0-9]+)*`), values on one line
 * without credentials; OCI annotations with a grammar (`.created`, `.source`, `.url`, `.documentation`) are
 * checked by it; `.revision` and `dockyard.dirty` are dockyard's own; the same key twice is refused.
 */
export function parseLabels(values: readonly string[], flag = "--labels"): KeyValue[] {
  const entries = values.map((v) => parseLabel(v, flag));
  const g: Grammar = { flag, check: (s) => parseLabels(splitList(s), flag) };
  refuseRepeatedNames(g, values, entries, "label");
  return entries;
}

// A file name under /run/secrets that `RUN --mount=type=secret,id=<id>` can name without quoting.
const SECRET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_SECRET_ID = 255;

/**
 * A build secret id (`--id` of with-build-secret): mounted at /run/secrets/<id>, so one file name: letters,
 * digits, `_`, `.`, `-`, not starting with `.` or `-`, at most 255 characters.
 */
export function parseSecretId(value: string, flag = "--id"): string {
  const g: Grammar = { flag, check: (s) => parseSecretId(s, flag) };
  if (value === "")
    refuse(g, value, "must not be empty", undefined, 'name the secret as the Dockerfile does, e.g. "npmrc"');
  checkText(g, value, { spaceFix: (v) => v.replace(/\s+/g, "_") });
  if (value.includes("/")) {
    const base = value
      .split("/")
      .filter((c) => c !== "" && c !== "." && c !== "..")
      .pop();
    refuse(g, value, "is a path: the id is one file name under /run/secrets", base, 'e.g. "npmrc"');
  }
  if (value === "." || value === "..") refuse(g, value, "is not a file name", undefined, 'e.g. "npmrc"');
  if (!SECRET_ID.test(value) || value.length > MAX_SECRET_ID) {
    const fixed = value
      .replace(/[^A-Za-z0-9_.-]+/g, "_")
      .replace(/^[.-]+/, "")
      .slice(0, MAX_SECRET_ID);
    refuse(
      g,
      value,
      'use letters, digits, ".", "_" and "-", not starting with "." or "-", at most 255',
      fixed || undefined,
      'e.g. "npmrc"',
    );
  }
  return value;
}

/** Kept for callers of the old name. */
export function validateSecretId(id: string): string {
  return parseSecretId(id);
}
