// What the `dagger` shim (dagger-shim.ts) sends to its server (shim-server.ts), and the record of each call.

export interface ShimRequest {
  argv: string[];
  /** The shell's environment where dagger ran: `env:NAME` secrets are read from it. */
  env: Record<string, string>;
  /** The shell's working directory: `--source=.` and `--output` are relative to it. */
  cwd: string;
}

export interface ShimPush {
  host: string;
  repository: string;
  tag: string;
  digest: string;
  username?: string;
  /** The manifest or index the tag was given, as stored. */
  manifest?: unknown;
}

/** One `dagger` run: what was asked, what the module returned, built and pushed, and what the CLI printed. */
export interface ShimRecord {
  argv: string[];
  cwd: string;
  module: string;
  /** Constructor ("") then each function, with the flags as typed. */
  steps: { fn: string; command: string; parent: string; flags: Record<string, string[]> }[];
  output?: string;
  status: number;
  stdout: string;
  stderr: string;
  /** Each step's return value, as the module returned it (the Publication's fields for publish). */
  returns: { fn: string; value: unknown }[];
  /** Directory.dockerBuild calls, with their platform ("" for the engine's). */
  builds: { platform: string }[];
  /** Container.publish addresses the module asked for, pushed or refused. */
  pushAttempts: string[];
  /** What the registries received. */
  pushes: ShimPush[];
  /** After the call, each repository it pushed to ("host/repository"): every tag there and the digest it names. */
  registry: Record<string, Record<string, string>>;
  /** The same command line on the same folder and secrets ran before in this server: its record, not a new run. */
  replayed: boolean;
  ms: number;
}

export interface ShimResponse {
  record: ShimRecord;
  /** What the CLI writes to -o/--output after a successful call (not for an object leaf, which it only prints). */
  outputFile?: { path: string; text: string };
}
