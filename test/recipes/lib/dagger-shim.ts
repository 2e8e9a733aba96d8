// The `dagger` executable the recipe tests put on PATH (run by Node 24 with type stripping, no dependencies): sends
// its command line, environment and working directory to the shim server, prints what the CLI would print, writes
// --output after the call (cmd/dagger/functions.go:865-871 at v0.21.8), logs the call's record, and exits as dagger.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ShimRequest, ShimResponse } from "./shim-protocol.ts";

const url = process.env.DOCKYARD_SHIM_URL;
const log = process.env.DOCKYARD_SHIM_LOG;
if (!url || !log) {
  process.stderr.write("dagger (shim): DOCKYARD_SHIM_URL and DOCKYARD_SHIM_LOG must be set by the test\n");
  process.exit(2);
}
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
const request: ShimRequest = { argv: process.argv.slice(2), env, cwd: process.cwd() };
const res = await fetch(`${url}/call`, { method: "POST", body: JSON.stringify(request) });
const body = (await res.json()) as Partial<ShimResponse> & { error?: string };
if (!body.record) {
  process.stderr.write(`dagger (shim): the server failed: ${body.error ?? res.status}\n`);
  process.exit(2);
}
const record = body.record;
if (body.outputFile) {
  const path = resolve(body.outputFile.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body.outputFile.text);
  process.stderr.write(`Saved output to ${JSON.stringify(path)}.\n`);
}
appendFileSync(log, `${JSON.stringify(record)}\n`);
process.stdout.write(record.stdout);
process.stderr.write(record.stderr);
process.exitCode = record.status;
