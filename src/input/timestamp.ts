/**
 * `--created`: the image's creation time for `org.opencontainers.image.created`, an RFC 3339 date-time with a
 * time zone, in the form Go's `time.RFC3339` parses (what docker, skopeo and registries use to read it): `T` and
 * `Z` uppercase, seconds present, no leap second. Kept exactly as given; an impossible date is refused.
 */
import { checkText, refuse, type Grammar } from "./argument.js";

// Loose on purpose: it reads the near misses (a space, lowercase t/z, no seconds, +0100, no zone) to offer the fix.
const NEAR_RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:([Tt ])(\d{2}):(\d{2})(?::(\d{2}))?(\.\d+)?)? ?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]; // prettier-ignore
const HINT = 'e.g. "2026-01-31T12:00:00Z" or "$(git log -1 --format=%cI)"';
// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_EPOCH = 253402300799;

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** `2026-01-31T12:00:00Z` for Unix seconds. */
export function epochToRfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Checks `value` is an RFC 3339 date-time with a zone (see the module comment) and returns it as given. */
export function parseCreated(value: string, flag = "--created"): string {
  const g: Grammar = { flag, check: (s) => parseCreated(s, flag) };
  if (value === "")
    refuse(g, value, "must not be empty", undefined, `${HINT}; leave --created out for no created label`);
  checkText(g, value, { innerSpace: true });
  if (/^\d+$/.test(value)) {
    // Unix time, as SOURCE_DATE_EPOCH or `git log --format=%ct` give it (milliseconds when too large for seconds).
    const n = Number(value);
    const seconds = n > MAX_EPOCH ? Math.floor(n / 1000) : n;
    refuse(
      g,
      value,
      "is a Unix time, not an RFC 3339 date-time",
      seconds <= MAX_EPOCH ? epochToRfc3339(seconds) : undefined,
      HINT,
    );
  }
  const m = NEAR_RFC3339.exec(value);
  if (!m) refuse(g, value, "is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SSZ or ±HH:MM)", undefined, HINT);
  const [, y, mo, d, sep, hh, mi, ss, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) refuse(g, value, `month ${mo} does not exist`, undefined, HINT);
  if (day < 1 || day > daysIn(year, month)) {
    const name = MONTHS[month - 1] ?? "";
    refuse(g, value, `${name} ${year} has no day ${d} (it has ${daysIn(year, month)} days)`, undefined, HINT);
  }
  if (hh !== undefined && Number(hh) > 23) refuse(g, value, `hour ${hh} does not exist (00 to 23)`, undefined, HINT);
  if (mi !== undefined && Number(mi) > 59) refuse(g, value, `minute ${mi} does not exist (00 to 59)`, undefined, HINT);
  if (ss !== undefined && Number(ss) === 60) {
    refuse(g, value, "is a leap second, which Go's time.Parse refuses", value.replace(/:60(?=[.Zz+-]|$)/, ":59"), HINT);
  }
  if (ss !== undefined && Number(ss) > 60) refuse(g, value, `second ${ss} does not exist (00 to 59)`, undefined, HINT);
  const zoneProblem = zone === undefined ? undefined : offsetProblem(zone);
  if (zoneProblem) refuse(g, value, zoneProblem, undefined, HINT);
  // The canonical spelling of what was read; any difference is a near miss with a named reason.
  const offset = zone === undefined ? "Z" : /^[Zz]$/.test(zone) ? "Z" : fullOffset(zone);
  const fraction = frac === undefined ? "" : frac.slice(0, 10);
  const fixed = `${y}-${mo}-${d}T${hh ?? "00"}:${mi ?? "00"}:${ss ?? "00"}${fraction}${offset}`;
  if (fixed === value) return value;
  const why =
    hh === undefined
      ? "is a date without a time (RFC 3339 needs both)"
      : zone === undefined
        ? "has no time zone (add Z for UTC, or the offset)"
        : ss === undefined
          ? "has no seconds"
          : sep !== "T"
            ? 'separates date and time with "T" in RFC 3339'
            : frac !== undefined && frac.length > 10
              ? "has more than 9 fractional digits"
              : /^[+-]/.test(zone)
                ? "writes the zone offset as ±HH:MM"
                : 'writes UTC as "Z"';
  return refuse(g, value, why, fixed, HINT);
}

function offsetProblem(zone: string): string | undefined {
  if (/^[Zz]$/.test(zone)) return undefined;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || "0");
  if (hours > 23 || minutes > 59) return `zone offset "${zone}" does not exist (±00:00 to ±23:59)`;
  return undefined;
}

function fullOffset(zone: string): string {
  const digits = zone.slice(1).replace(":", "");
  return `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2) || "00"}`;
}
