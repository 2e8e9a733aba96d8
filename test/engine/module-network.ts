// Rung 3 (engine double): the module container's network, preloaded into each module child before the SDK's
// entrypoint. The real module reaches registries by name over https from its own container (src/registry/README.md);
// here every named registry of the backend is a loopback HTTP server, so `fetch` to https://<host>/… goes to it
// (TLS is not modelled: CONFORMANCE R29). Loopback addresses pass as they are; any other name fails as Node's
// fetch fails on a name DNS does not know (`TypeError: fetch failed`, cause `getaddrinfo ENOTFOUND <name>`).
import { MODULE_NETWORK_ENV } from "./network-env.js";

const network = JSON.parse(process.env[MODULE_NETWORK_ENV] ?? "{}") as Record<string, string>;
delete process.env[MODULE_NETWORK_ENV];

const realFetch = globalThis.fetch;

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function unknownHost(hostname: string): TypeError {
  const cause = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: "ENOTFOUND",
    errno: -3008,
    syscall: "getaddrinfo",
    hostname,
  });
  return new TypeError("fetch failed", { cause });
}

globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(input instanceof Request ? input.url : input);
  if (isLoopback(url.hostname)) return realFetch(input, init);
  const address = network[url.host];
  if (address === undefined) return Promise.reject(unknownHost(url.hostname));
  const served = `http://${address}${url.pathname}${url.search}`;
  return realFetch(input instanceof Request ? new Request(served, input) : served, init);
};
