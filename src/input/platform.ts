/**
 * `--platforms` / `--platform`: `os/arch[/variant]`, each spelled as containerd's `platforms.Normalize` spells it
 * (the engine parses platforms with containerd). Other spellings of the same platform (x86_64, aarch64, armhf,
 * linux/arm64/v8, Linux/AMD64) are refused with the canonical one as the fix, so one platform has one name in
 * the image index and in dockyard's output, and two spellings of one platform cannot both be built.
 */
import { checkText, closest, joinList, refuse, splitList, type Grammar } from "./argument.js";

// containerd platforms (database.go isKnownOS/isKnownArch), plus Go's wasip1 and the wasi of Wasm images.
export const KNOWN_OS = [
  "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd",
  "openbsd", "plan9", "solaris", "wasi", "wasip1", "windows", "zos",
]; // prettier-ignore
export const KNOWN_ARCH = [
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle",
  "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64",
  "wasm",
]; // prettier-ignore

const OS_ALIASES: Record<string, string> = { macos: "darwin" };

/** Other names of an architecture, with the variant they imply: containerd's, uname -m's, Debian's, Docker Hub's. */
const ARCH_ALIASES: Record<string, [string, string]> = {
  i386: ["386", ""],
  i486: ["386", ""],
  i586: ["386", ""],
  i686: ["386", ""],
  x86: ["386", ""],
  x86_64: ["amd64", ""],
  "x86-64": ["amd64", ""],
  x64: ["amd64", ""],
  aarch64: ["arm64", ""],
  arm64v8: ["arm64", ""],
  armhf: ["arm", "v7"],
  armv7: ["arm", "v7"],
  armv7l: ["arm", "v7"],
  armv7hl: ["arm", "v7"],
  arm32v7: ["arm", "v7"],
  armel: ["arm", "v6"],
  armv6: ["arm", "v6"],
  armv6l: ["arm", "v6"],
  arm32v6: ["arm", "v6"],
  armv5: ["arm", "v5"],
  armv5l: ["arm", "v5"],
  armv5tel: ["arm", "v5"],
  arm32v5: ["arm", "v5"],
  armv8l: ["arm", "v8"],
  ppc64el: ["ppc64le", ""],
  loongarch64: ["loong64", ""],
};

const ARM64_MINOR = Array.from({ length: 9 }, (_, i) => `.${i + 1}`);

/** The variants each architecture has (OCI image index `platform.variant`); "" is none. */
const VARIANTS: Record<string, string[]> = {
  amd64: ["", "v2", "v3", "v4"],
  arm: ["v5", "v6", "v7", "v8"],
  arm64: ["", ...ARM64_MINOR.map((m) => `v8${m}`), "v9", ...ARM64_MINOR.map((m) => `v9${m}`)],
  riscv64: ["", "rva20u64", "rva22u64", "rva23u64"],
};

/** containerd's normalizeArch: the variant spellings that mean another (or no) variant. */
function normalizeVariant(arch: string, variant: string): string {
  if (arch === "amd64" && variant === "v1") return "";
  if (arch === "arm64" && ["8", "v8", "v8.0"].includes(variant)) return "";
  if (arch === "arm64" && ["9", "9.0", "v9.0"].includes(variant)) return "v9";
  if (arch === "arm" && variant === "") return "v7";
  if (arch === "arm" && /^[5-8]$/.test(variant)) return `v${variant}`;
  return variant;
}

function format(os: string, arch: string, variant: string): string {
  return [os, arch, ...(variant ? [variant] : [])].join("/");
}

interface Reading {
  canonical?: string;
  why?: string;
  candidate?: string;
  hint?: string;
}

const PLATFORM_HINT = 'os/arch or os/arch/variant, e.g. "linux/amd64", "linux/arm64" or "linux/arm/v7"';

/** The canonical spelling of `value`, or why none can be derived (with a candidate fix when there is one). */
function readPlatform(value: string): Reading {
  if (value.includes("*")) return { why: "wildcards are not platforms", hint: PLATFORM_HINT };
  const parts = value.toLowerCase().split("/");
  const osText = parts[0] ?? "";
  if (osText.includes("(")) {
    return { why: "an OS version (os(version)/arch) is not supported", candidate: value.replace(/\([^)]*\)/, "") };
  }
  if (parts.length > 3) {
    return { why: "has more than three components", candidate: parts.slice(0, 3).join("/"), hint: PLATFORM_HINT };
  }
  if (parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    return { why: 'each component is letters, digits, "_", "." or "-", none empty', hint: PLATFORM_HINT };
  }
  if (parts.length === 1) {
    const os = OS_ALIASES[osText] ?? osText;
    const [arch, variant] = ARCH_ALIASES[osText] ?? [osText, ""];
    const candidate = KNOWN_OS.includes(os)
      ? `${os}/amd64`
      : KNOWN_ARCH.includes(arch)
        ? format("linux", arch, normalizeVariant(arch, variant))
        : undefined;
    return {
      why: "must name both the OS and the architecture",
      ...(candidate ? { candidate } : {}),
      hint: PLATFORM_HINT,
    };
  }
  const os = OS_ALIASES[osText] ?? osText;
  const archText = parts[1] ?? "";
  const [arch, impliedVariant] = ARCH_ALIASES[archText] ?? [archText, ""];
  const variant = normalizeVariant(arch, parts[2] ?? impliedVariant);
  if (!KNOWN_OS.includes(os)) {
    const near = closest(os, KNOWN_OS, os.length > 5 ? 2 : 1);
    return {
      why: `"${osText}" is not an operating system Go or containerd knows`,
      ...(near ? { candidate: format(near, arch, variant) } : {}),
      hint: PLATFORM_HINT,
    };
  }
  if (!KNOWN_ARCH.includes(arch)) {
    const near = closest(archText, [...KNOWN_ARCH, ...Object.keys(ARCH_ALIASES)], archText.length > 5 ? 2 : 1);
    return {
      why: `"${archText}" is not an architecture Go or containerd knows`,
      ...(near ? { candidate: format(os, near, parts[2] ?? "") } : {}),
      hint: PLATFORM_HINT,
    };
  }
  const variants = VARIANTS[arch] ?? [""];
  if (!variants.includes(variant)) {
    const known = variants.filter((v) => v !== "");
    return {
      why: known.length
        ? `"${parts[2] ?? ""}" is not a variant of ${arch} (${known.slice(0, 4).join(", ")}${known.length > 4 ? ", …" : ""})`
        : `${arch} has no variants`,
      candidate: format(os, arch, variants[0] ?? ""),
    };
  }
  return { canonical: format(os, arch, variant) };
}

/** `value` in canonical spelling, or undefined when it is no platform at all. */
export function canonicalPlatform(value: string): string | undefined {
  return readPlatform(value).canonical;
}

/** One platform, already in canonical spelling; anything else is refused with the canonical spelling as the fix. */
export function parsePlatform(value: string, flag = "--platform"): string {
  const g: Grammar = { flag, check: (s) => parsePlatform(s, flag) };
  if (value === "") refuse(g, value, "must not be empty", undefined, PLATFORM_HINT);
  checkText(g, value);
  const reading = readPlatform(value);
  if (reading.canonical === undefined) {
    refuse(g, value, reading.why ?? "is not a platform", reading.candidate, reading.hint ?? PLATFORM_HINT);
  }
  if (reading.canonical !== value) {
    const why =
      value !== value.toLowerCase()
        ? "must be lowercase"
        : `is written "${reading.canonical}" (containerd's normalised name for this platform)`;
    refuse(g, value, why, reading.canonical, PLATFORM_HINT);
  }
  return value;
}

/**
 * Every platform, each in canonical spelling (see `parsePlatform`); the same platform twice, once normalised
 * (`linux/arm64` and `linux/arm64/v8`), is refused. An empty list is the engine's own platform.
 */
export function parsePlatforms(values: readonly string[], flag = "--platforms"): string[] {
  const g: Grammar = { flag, check: (s) => parsePlatforms(s === "" ? [] : splitList(s), flag), list: true };
  // Duplicates first, when every item reads as a platform: their fix is the list with each platform once.
  const canonical = values.map((v) => (v.trim() === v ? canonicalPlatform(v) : undefined));
  if (canonical.every((c) => c !== undefined)) {
    const at = canonical.findIndex((c, i) => canonical.indexOf(c) !== i);
    if (at >= 0) {
      const first = values[canonical.indexOf(canonical[at] ?? "")] ?? "";
      const second = values[at] ?? "";
      const why =
        first === second
          ? `"${first}" is given twice`
          : `"${first}" and "${second}" are the same platform (${canonical[at] ?? ""})`;
      refuse(g, joinList(values), why, joinList([...new Set(canonical)]), "give each platform once");
    }
  }
  return values.map((v) => parsePlatform(v, flag));
}

/** Kept for callers of the old name: checks the list and returns it. */
export function validatePlatforms(platforms: string[]): string[] {
  return parsePlatforms(platforms);
}
