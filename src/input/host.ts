/**
 * A registry host as an image reference names it: a DNS name, an IPv4 address or a bracketed IPv6 address,
 * each with an optional port (distribution/reference's `domainAndPort`, made strict: real labels, real
 * addresses, ports 1 to 65535, lowercase).
 */
import { isIPv6 } from "node:net";

/** What is wrong with a host, and a corrected host when one can be derived. */
export interface HostProblem {
  why: string;
  fix?: string;
  hint: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const MAX_LABEL = 63;
const MAX_NAME = 253;
const HOST_HINT = 'a host is dot-separated labels of letters, digits and "-", or an IP address, e.g. "ghcr.io"';

/** Splits `host[:port]` and `[v6]:port`; the port is the text after the last `:` outside brackets. */
export function splitPort(host: string): { name: string; port: string | undefined } {
  const close = host.lastIndexOf("]");
  const colon = host.lastIndexOf(":");
  if (colon > close && !(close < 0 && host.indexOf(":") !== colon)) {
    return { name: host.slice(0, colon), port: host.slice(colon + 1) };
  }
  return { name: host, port: undefined };
}

/** Undefined when `host` is a valid, lowercase registry host with an optional port. */
export function hostProblem(host: string): HostProblem | undefined {
  if (host === "") return { why: "the registry host is empty", hint: HOST_HINT };
  if (host !== host.toLowerCase()) {
    return {
      why: `registry host "${host}" must be lowercase (Docker and Dagger match credentials by the host as written)`,
      fix: host.toLowerCase(),
      hint: HOST_HINT,
    };
  }
  const { name, port } = splitPort(host);
  const nameProblem = name.startsWith("[") ? ipv6Problem(name) : hostNameProblem(name);
  if (nameProblem) {
    const fix =
      nameProblem.fix === undefined ? undefined : port === undefined ? nameProblem.fix : `${nameProblem.fix}:${port}`;
    return { ...nameProblem, ...(fix !== undefined ? { fix } : {}) };
  }
  return port === undefined ? undefined : portProblem(name, port);
}

function ipv6Problem(name: string): HostProblem | undefined {
  const inner = name.slice(1, -1);
  // distribution/reference takes `\[[a-fA-F0-9:]+\]` only: no zone, no embedded IPv4 (`[::ffff:192.0.2.1]`).
  if (!name.endsWith("]") || !isIPv6(inner) || !/^[a-f0-9:]+$/.test(inner)) {
    return { why: `"${name}" is not an IPv6 address in brackets`, hint: 'e.g. "[::1]:5000"' };
  }
  return undefined;
}

function hostNameProblem(name: string): HostProblem | undefined {
  const labels = name.split(".");
  if (labels.some((l) => l === "")) {
    const fix = labels.filter((l) => l !== "").join(".");
    return {
      why: `registry host "${name}" has an empty label (a leading, trailing or double ".")`,
      fix,
      hint: HOST_HINT,
    };
  }
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) {
    return { why: `"${bad}" is not a host name label (letters, digits and inner "-")`, hint: HOST_HINT };
  }
  const long = labels.find((l) => l.length > MAX_LABEL);
  if (long !== undefined) {
    return { why: `host label "${long.slice(0, 16)}…" is longer than ${MAX_LABEL} characters`, hint: HOST_HINT };
  }
  if (name.length > MAX_NAME) return { why: `host name is longer than ${MAX_NAME} characters`, hint: HOST_HINT };
  // An all-numeric name can only be an IPv4 address: DNS has no numeric top-level domains.
  if (labels.every((l) => /^\d+$/.test(l))) {
    const ok = labels.length === 4 && labels.every((l) => /^(?:0|[1-9]\d{0,2})$/.test(l) && Number(l) <= 255);
    if (!ok) {
      const fix =
        labels.length === 4 && labels.every((l) => Number(l) <= 255)
          ? labels.map((l) => String(Number(l))).join(".")
          : undefined;
      return {
        why: `"${name}" is not an IPv4 address (four numbers from 0 to 255, without leading zeros)`,
        ...(fix !== undefined ? { fix } : {}),
        hint: 'e.g. "127.0.0.1:5000"',
      };
    }
  }
  return undefined;
}

function portProblem(name: string, port: string): HostProblem | undefined {
  if (port === "") return { why: 'the ":" is not followed by a port', fix: name, hint: HOST_HINT };
  if (!/^\d+$/.test(port)) return { why: `port "${port}" is not a number`, hint: "a port is a number from 1 to 65535" };
  const n = Number(port);
  if (n < 1 || n > 65535)
    return { why: `port ${port} is not from 1 to 65535`, hint: "a port is a number from 1 to 65535" };
  if (port !== String(n)) return { why: `port "${port}" has leading zeros`, fix: `${name}:${n}`, hint: "" };
  return undefined;
}
