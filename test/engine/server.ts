// Rung 3 (engine double): a loopback GraphQL server the real Dagger SDK talks to instead of an engine.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildSchema,
  execute,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type GraphQLTypeResolver,
} from "graphql";
import type { Backend } from "./backend.js";
import { loadModule, moduleChain, type ModuleChain, type ModuleOptions } from "./calls.js";
import { FunctionCache, moduleHandlers, sessionSchema, type FunctionRun } from "./modules.js";
import {
  handlers,
  journalArgs,
  type CallContext,
  type CallOutcome,
  type ExecContext,
  type Handler,
  type Session,
} from "./resolvers.js";
import { DoubleState, type JournalEntry, type PublishRecord, type Ref } from "./state.js";

export type { CallContext, CallOutcome } from "./resolvers.js";
export type { JournalEntry, PublishRecord } from "./state.js";
export type { FunctionRun } from "./modules.js";

/** A client session: what one `dagger call`, or one SDK connection, is to the engine. */
export interface ClientSession {
  readonly id: string;
  readonly token: string;
  /** Sends a query in this session, validated against the core schema plus the served modules' types. */
  query(query: string): Promise<{ status: number; body: ExecutionResult }>;
}

export interface EngineDoubleOptions {
  backend: Backend;
  /** Dagger schema SDL; default: the vendored schema/dagger-v0.21.8.graphqls (see schema/README.md). */
  schemaPath?: string;
}

/** A token bound to one function call; `outcome()` is set once the SDK calls returnValue or returnError. */
export interface CallSession {
  token: string;
  outcome(): CallOutcome | undefined;
  /** Revokes the token: later requests with it get 401. */
  close(): void;
}

export interface EngineDouble {
  readonly port: number;
  /** A token for direct queries from tests: no function call is bound to it. */
  readonly adminToken: string;
  readonly journal: readonly JournalEntry[];
  readonly builds: number;
  /** Processes withExec ran (R29): each distinct exec once per session. */
  readonly execs: number;
  readonly publishes: readonly PublishRecord[];
  readonly backend: Backend;
  /** A Secret ID whose plaintext stays inside the double. */
  secret(name: string, plaintext: string): string;
  /** A Secret as `dagger call --password env:X` passes it: no name (core/schema/secret.go:90-93). */
  cliSecret(plaintext: string): string;
  /** A Directory ID backed by a host folder (absolute or relative to the cwd). */
  hostDirectory(path: string): string;
  /** Sends a query as the SDK would (POST /query, Basic auth); resolves with the raw HTTP status and body. */
  query(query: string, token?: string): Promise<{ status: number; body: ExecutionResult }>;
  /** Binds a fresh token to a function call's context. */
  openCall(call: CallContext): CallSession;
  /** Registry hosts the module's container reaches, to their loopback addresses (Backend.moduleNetwork). */
  moduleNetwork(): Promise<Readonly<Record<string, string>>>;
  /** Function calls clients asked of served modules, and whether each ran or came from the function cache. */
  readonly functionRuns: readonly FunctionRun[];
  /**
   * A new client session serving `modules` as dependencies: their types join the session's schema, and their
   * functions run through the SDK's entrypoint, cached by each function's policy (CONFORMANCE R24).
   */
  session(opts?: { modules?: ModuleOptions[] }): Promise<ClientSession>;
  /** `dagger call` for a module: constructor (if args given) then chained functions, each in a child process. */
  module(opts?: ModuleOptions): ModuleChain;
  /** Clears journal, publishes, build count, function runs and the build and function caches; IDs stay valid. */
  reset(): void;
  /** Stops serving, then closes the backend (its registries' servers). */
  close(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_SCHEMA = resolve(HERE, "schema/dagger-v0.21.8.graphqls");

function loadSchemaSDL(path: string): string {
  if (!existsSync(path)) throw new Error(`engine double: schema ${path} is absent (the default is ${DEFAULT_SCHEMA})`);
  return readFileSync(path, "utf8");
}

/** The SDK sends `Authorization: Basic base64(token + ":")`. */
function tokenOf(req: IncomingMessage): string | undefined {
  const m = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  return decoded.endsWith(":") ? decoded.slice(0, -1) : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Dispatches on `ParentType.field`; an unmodelled field is an error naming it, never a silent null. */
const fieldResolver: GraphQLFieldResolver<unknown, ExecContext> = (source, args, ctx, info) => {
  const field = `${info.parentType.name}.${info.fieldName}`;
  const handler = ctx.session.client?.handlers[field] ?? handlers[field];
  if (!handler) throw new Error(`engine double: field ${field} is not modelled`);
  ctx.state.record(field, journalArgs(field, args));
  return handler(source as Ref, args, ctx, info);
};

/** node(id:) returns an interface: the concrete type is the model's kind. */
const typeResolver: GraphQLTypeResolver<unknown, ExecContext> = (value) => {
  const model = (value as Ref).model;
  return model.kind === "ModuleObject" ? model.typeName : model.kind;
};

class Double implements EngineDouble {
  readonly adminToken = randomBytes(16).toString("hex");
  private readonly sessions = new Map<string, Session>();
  private readonly state: DoubleState;
  private readonly functionCache = new FunctionCache();
  private readonly runs: FunctionRun[] = [];

  constructor(
    private readonly server: Server,
    private readonly schema: GraphQLSchema,
    private readonly schemaSDL: string,
    readonly backend: Backend,
    readonly port: number,
  ) {
    this.state = new DoubleState(backend);
    this.sessions.set(this.adminToken, { token: this.adminToken, argIds: [] });
    server.on("request", (req, res) => void this.handle(req, res));
  }

  get journal(): readonly JournalEntry[] {
    return this.state.journal;
  }
  get builds(): number {
    return this.state.builds;
  }
  get execs(): number {
    return this.state.execs;
  }
  get publishes(): readonly PublishRecord[] {
    return this.state.publishes;
  }
  get functionRuns(): readonly FunctionRun[] {
    return this.runs;
  }

  async session(opts: { modules?: ModuleOptions[] } = {}): Promise<ClientSession> {
    const modules = await Promise.all((opts.modules ?? []).map((m) => loadModule(m)));
    const id = randomBytes(8).toString("hex");
    const token = randomBytes(16).toString("hex");
    const host = {
      port: this.port,
      state: this.state,
      openCall: (call: CallContext) => this.openCall(call),
      moduleNetwork: () => this.backend.moduleNetwork(),
      recordRun: (run: FunctionRun) => void this.runs.push(run),
    };
    const moduleFields = Object.assign(
      {},
      ...modules.map((m) => moduleHandlers(host, this.functionCache, m, () => id)),
    ) as Record<string, Handler>;
    const schema = modules.length ? sessionSchema(this.schemaSDL, modules) : this.schema;
    this.sessions.set(token, { token, argIds: [], client: { id, schema, handlers: moduleFields } });
    return { id, token, query: (q) => this.query(q, token) };
  }

  secret(name: string, plaintext: string): string {
    return this.state.mint({ kind: "Secret", name, plaintext }).id;
  }
  cliSecret(plaintext: string): string {
    return this.secret("", plaintext);
  }

  hostDirectory(path: string): string {
    const root = resolve(path);
    if (!existsSync(root) || !statSync(root).isDirectory())
      throw new Error(`engine double: ${root} is not a directory`);
    return this.state.mint({ kind: "Directory", root, sub: "" }).id;
  }

  openCall(call: CallContext): CallSession {
    const token = randomBytes(16).toString("hex");
    // Unset arguments are not sent, as `dagger call` leaves out flags it was not given.
    const argIds = Object.entries(call.inputArgs)
      .filter(([, v]) => v !== undefined)
      .map(([name, v]) => this.state.mint({ kind: "FunctionCallArgValue", name, value: JSON.stringify(v) }).id);
    let outcome: CallOutcome | undefined;
    // The first answer wins, as the engine accepts one return per call.
    const settle = (o: CallOutcome): void => void (outcome ??= o);
    this.sessions.set(token, { token, call, argIds, settle });
    return { token, outcome: () => outcome, close: () => void this.sessions.delete(token) };
  }

  moduleNetwork(): Promise<Readonly<Record<string, string>>> {
    return this.backend.moduleNetwork();
  }

  module(opts: ModuleOptions = {}): ModuleChain {
    return moduleChain(this, opts);
  }

  async query(query: string, token: string = this.adminToken): Promise<{ status: number; body: ExecutionResult }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/query`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${token}:`).toString("base64")}`,
      },
      body: JSON.stringify({ query }),
    });
    const text = await res.text();
    let body: ExecutionResult;
    try {
      body = JSON.parse(text) as ExecutionResult;
    } catch {
      body = { errors: [new GraphQLError(text)] };
    }
    return { status: res.status, body };
  }

  reset(): void {
    this.state.reset();
    this.functionCache.clear();
    this.runs.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((res, rej) => this.server.close((e) => (e ? rej(e) : res())));
    await this.backend.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/query")
        return send(res, 404, { message: "not found" });
      const session = this.sessions.get(tokenOf(req) ?? "");
      if (!session) return send(res, 401, { message: "unauthorized" });
      let body: { query?: unknown; variables?: Record<string, unknown> };
      try {
        body = JSON.parse(await readBody(req)) as typeof body;
      } catch {
        return send(res, 400, { errors: [{ message: "request body is not JSON" }] });
      }
      const { query, variables } = body;
      if (typeof query !== "string") return send(res, 400, { errors: [{ message: "missing query" }] });
      let document: DocumentNode;
      try {
        document = parse(query);
      } catch (e) {
        return send(res, 422, { errors: [e as GraphQLError] });
      }
      const schema = session.client?.schema ?? this.schema;
      const invalid = validate(schema, document);
      if (invalid.length > 0) return send(res, 422, { errors: invalid });
      const contextValue: ExecContext = { state: this.state, session };
      const result = await execute({
        schema,
        document,
        contextValue,
        fieldResolver,
        typeResolver,
        ...(variables ? { variableValues: variables } : {}),
      });
      send(res, 200, result);
    } catch (e) {
      send(res, 500, { errors: [{ message: `engine double: ${String(e)}` }] });
    }
  }
}

export async function startEngineDouble(opts: EngineDoubleOptions): Promise<EngineDouble> {
  const sdl = loadSchemaSDL(opts.schemaPath ?? DEFAULT_SCHEMA);
  const schema = buildSchema(sdl);
  const server = createServer();
  // Node closes an idle keep-alive connection after 5 s, racing a slow SDK's next request ("socket hang up");
  // Go's http.Server, the engine's, sets no idle timeout unless told to.
  server.keepAliveTimeout = 0;
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res());
  });
  const port = (server.address() as AddressInfo).port;
  return new Double(server, schema, sdl, opts.backend, port);
}

export { FunctionCallError } from "./calls.js";
export type { ModuleChain, ModuleOptions } from "./calls.js";
