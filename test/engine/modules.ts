// Rung 3 (engine double): a module served to a client session as the engine serves a dependency: its types join the
// session's schema, each function runs through the SDK's entrypoint, and each call is cached by its function's policy.
import { createHash, randomUUID } from "node:crypto";
import { buildSchema, type GraphQLSchema } from "graphql";
import type { FunctionDef, ModuleDef, TypeDef } from "../registration/introspect.js";
import { callFunction, FunctionCallError, type CallHost, type LoadedModule } from "./calls.js";
import type { DoubleState, Ref } from "./state.js";

/** Dagger's function cache policies (core/typedef.go:476-484); the SDK registers them from @func({ cache }). */
export type CachePolicy = "Default" | "PerSession" | "Never";

/** One function call a client asked for, and whether the engine ran the function or answered from its cache. */
export interface FunctionRun {
  module: string;
  parentName: string;
  name: string;
  sessionId: string;
  policy: CachePolicy;
  ran: boolean;
}

/** A client session (one `dagger` invocation, or one SDK `connect`): its own ID, token and schema. */
export interface ClientSession {
  readonly id: string;
  readonly token: string;
  readonly schema: GraphQLSchema;
  readonly modules: readonly LoadedModule[];
}

/** gqlObjectName (core/gqlformat.go:24-27): strcase.ToCamel. */
export function gqlObjectName(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== "")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}

/** namespaceObject (core/gqlformat.go:36-61): a module's types carry its name, the main object is the module's. */
export function namespacedName(objectName: string, moduleName: string): string {
  const obj = gqlObjectName(objectName);
  const prefix = gqlObjectName(moduleName);
  if (obj.startsWith(prefix)) {
    const rest = obj.slice(prefix.length);
    if (rest === "") return prefix;
    if (/^[A-Z]/.test(rest)) return gqlObjectName(moduleName + rest);
  }
  return gqlObjectName(`${moduleName}_${objectName}`);
}

/** The policy a function is registered with (sdk register.ts:145-161): none given is Default. */
export function cachePolicyOf(fn: FunctionDef | undefined): CachePolicy {
  switch (fn?.cache) {
    case "never":
      return "Never";
    case "session":
      return "PerSession";
    case undefined:
    case "":
      return "Default";
    default:
      throw new Error(`engine double: cache policy ${JSON.stringify(fn?.cache)} is not modelled`);
  }
}

const CORE_ID_TYPES = new Set(["Container", "Directory", "File", "Secret", "GitRepository", "GitRef", "Changeset"]);
const SCALARS: Record<string, string> = {
  STRING_KIND: "String",
  INTEGER_KIND: "Int",
  BOOLEAN_KIND: "Boolean",
  FLOAT_KIND: "Float",
  VOID_KIND: "Void",
};

/** A TypeDef as the schema spells it: objects travel as IDs in arguments (v0.21.8's `ID @expectedType`). */
function gqlType(t: TypeDef, mod: ModuleDef, asInput: boolean): { type: string; directive: string } {
  const scalar = SCALARS[t.kind];
  if (scalar) return { type: scalar, directive: "" };
  if (t.kind === "LIST_KIND" && t.typeDef) {
    const inner = gqlType(t.typeDef, mod, asInput);
    return { type: `[${inner.type}!]`, directive: inner.directive };
  }
  const name = t.name ?? "";
  if (t.kind === "SCALAR_KIND" && name === "Platform") return { type: "Platform", directive: "" };
  if (t.kind === "ENUM_KIND" && mod.enums?.[name]) return { type: namespacedName(name, mod.name), directive: "" };
  if (t.kind === "OBJECT_KIND") {
    const own = mod.objects[name] !== undefined;
    if (!own && !CORE_ID_TYPES.has(name)) throw new Error(`engine double: object type ${name} is not modelled`);
    const typeName = own ? namespacedName(name, mod.name) : name;
    return asInput
      ? { type: "ID", directive: ` @expectedType(name: ${JSON.stringify(typeName)})` }
      : { type: typeName, directive: "" };
  }
  throw new Error(`engine double: type ${JSON.stringify(t)} is not modelled`);
}

function fieldSDL(name: string, fn: FunctionDef, mod: ModuleDef): string {
  const args = Object.values(fn.arguments).map((a) => {
    const t = gqlType(a.type, mod, true);
    const required = !a.isOptional && a.defaultValue === undefined;
    return `${a.name}: ${t.type}${required ? "!" : ""}${t.directive}`;
  });
  const policy = cachePolicyOf(fn);
  // core/typedef.go:179-190: a policy other than Default shows as @cache on the field.
  const cache = policy === "Default" ? "" : ` @cache(policy: ${policy})`;
  return `  ${name}${args.length ? `(${args.join(", ")})` : ""}: ${gqlType(fn.returnType, mod, false).type}!${cache}`;
}

/** The constructor as a function returning the main object (core/object.go:1034-1090); none given takes nothing. */
function constructorOf(objName: string, ctor: FunctionDef | undefined): FunctionDef {
  return {
    name: "",
    description: ctor?.description ?? "",
    arguments: ctor?.arguments ?? {},
    returnType: { kind: "OBJECT_KIND", name: objName },
  };
}

/** gqlFieldName of the module's name (core/object.go:1130, core/gqlformat.go:63-66): strcase.ToLowerCamel. */
function constructorField(moduleName: string): string {
  const camel = gqlObjectName(moduleName);
  return camel.charAt(0).toLowerCase() + camel.slice(1);
}

/** The module's types, as the engine installs them for a client that depends on it (core/module.go:1480-1690). */
export function moduleSDL(mod: ModuleDef): string {
  const main = gqlObjectName(mod.name);
  const out: string[] = [];
  for (const [objName, obj] of Object.entries(mod.objects)) {
    const typeName = namespacedName(objName, mod.name);
    const fields = ["  id: ID!"];
    for (const [prop, p] of Object.entries(obj.properties)) {
      if (p.isExposed) fields.push(`  ${prop}: ${gqlType(p.type, mod, false).type}!`);
    }
    for (const [fnName, fn] of Object.entries(obj.methods)) fields.push(fieldSDL(fnName, fn, mod));
    out.push(`type ${typeName} implements Node {\n${fields.join("\n")}\n}`);
    if (typeName === main) {
      // The constructor is a Query field named after the module (core/object.go:1130).
      const ctor = constructorOf(objName, obj.constructor);
      out.push(`extend type Query {\n${fieldSDL(constructorField(mod.name), ctor, mod)}\n}`);
    }
  }
  for (const [enumName, e] of Object.entries(mod.enums ?? {})) {
    const members = Object.values(e.values).map((v) => `  ${v.name} @enumValue(value: ${JSON.stringify(v.value)})`);
    out.push(`enum ${namespacedName(enumName, mod.name)} {\n${members.join("\n")}\n}`);
  }
  return out.join("\n\n");
}

/** The core schema plus every served module's types. */
export function sessionSchema(coreSDL: string, modules: readonly LoadedModule[]): GraphQLSchema {
  return buildSchema([coreSDL, ...modules.map((m) => moduleSDL(m.def))].join("\n\n"));
}

/** What a module field resolver needs from the double. */
export interface ModuleHost extends CallHost {
  readonly state: DoubleState;
  recordRun(run: FunctionRun): void;
}

/**
 * The engine's function cache (dagql/cache.go:3459-3640): a call's key is its receiver's key, the field and its
 * arguments, plus an implicit input per policy (core/modfunc.go:124-139; dagql/cache_inputs.go:27-50): none for
 * Default (persisted, across sessions), the session ID for PerSession, a random value for Never. Identical calls in
 * flight share one run; a failed call is not kept (dagql/cache.go:3775-3810).
 */
export class FunctionCache {
  private readonly entries = new Map<string, Promise<string>>();

  run(
    key: string,
    policy: CachePolicy,
    sessionId: string,
    execute: () => Promise<string>,
  ): { ran: boolean; value: Promise<string> } {
    const implicit = policy === "Never" ? randomUUID() : policy === "PerSession" ? sessionId : "";
    const full = createHash("sha256")
      .update(JSON.stringify([key, policy, implicit]))
      .digest("hex");
    const hit = this.entries.get(full);
    if (hit) return { ran: false, value: hit };
    const value = execute();
    this.entries.set(full, value);
    value.catch(() => this.entries.delete(full));
    return { ran: true, value };
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A call's identity: its receiver's, then the field and its arguments in a stable order (IDs as given). */
export function callKey(receiver: string, field: string, args: Record<string, unknown>): string {
  const sorted = Object.keys(args)
    .sort()
    .filter((k) => args[k] !== undefined && args[k] !== null)
    .map((k) => [k, args[k]]);
  return createHash("sha256")
    .update(JSON.stringify([receiver, field, sorted]))
    .digest("hex");
}

type ModuleHandler = (self: Ref, args: Record<string, unknown>) => unknown;

/** Field handlers for one module's types, by `Type.field`, for a client session. */
export function moduleHandlers(
  host: ModuleHost,
  cache: FunctionCache,
  mod: LoadedModule,
  session: () => string,
): Record<string, ModuleHandler> {
  const handlers: Record<string, ModuleHandler> = {};
  const typeNameOf = (objName: string) => namespacedName(objName, mod.def.name);

  const invoke = (
    receiverKey: string,
    parentName: string,
    fnName: string,
    fn: FunctionDef,
    parent: unknown,
    args: Record<string, unknown>,
  ): Promise<unknown> => {
    const policy = cachePolicyOf(fn);
    const key = callKey(receiverKey, `${parentName}.${fnName}`, args);
    const sessionId = session();
    const { ran, value } = cache.run(key, policy, sessionId, () =>
      callFunction(host, mod, { parentName, name: fnName, parent, inputArgs: args }).catch((e: unknown) => {
        // The double's own failure (no result) carries the child's stderr: the module's error alone does not.
        if (e instanceof FunctionCallError && e.message.startsWith("engine double:"))
          throw new Error(`${e.message}; stderr: ${e.stderr.trim().split("\n").slice(-40).join(" | ")}`);
        throw e;
      }),
    );
    host.recordRun({ module: mod.name, parentName, name: fnName, sessionId, policy, ran });
    return value.then((json) => fromResult(json, fn.returnType, key));
  };

  // core/object.go:41-77 ConvertFromSDKResult: an object of the module is its JSON; a core object is its ID.
  const fromResult = (json: string, t: TypeDef, key: string): unknown => {
    const value = JSON.parse(json) as unknown;
    if (t.kind === "OBJECT_KIND" && t.name && mod.def.objects[t.name]) {
      return host.state.mint({
        kind: "ModuleObject",
        typeName: typeNameOf(t.name),
        objectName: t.name,
        value: (value ?? {}) as Record<string, unknown>,
        callKey: key,
      });
    }
    if (t.kind === "OBJECT_KIND") return host.state.ref(String(value));
    return value;
  };

  const objectOf = (r: Ref, objName: string) => {
    if (r.model.kind !== "ModuleObject" || r.model.objectName !== objName)
      throw new Error(`engine double: expected a ${typeNameOf(objName)}, got ${r.model.kind}`);
    return r.model;
  };

  for (const [objName, obj] of Object.entries(mod.def.objects)) {
    const typeName = typeNameOf(objName);
    handlers[`${typeName}.id`] = (r) => r.id;
    for (const prop of Object.keys(obj.properties)) {
      // A field of the object is read from its JSON, a trivial field: no function runs (core/object.go:1344-1380).
      handlers[`${typeName}.${prop}`] = (r) => objectOf(r, objName).value[prop];
    }
    for (const [fnName, fn] of Object.entries(obj.methods)) {
      handlers[`${typeName}.${fnName}`] = (r, args) => {
        const m = objectOf(r, objName);
        return invoke(m.callKey, objName, fnName, fn, m.value, args);
      };
    }
    if (typeName === gqlObjectName(mod.def.name)) {
      const ctor = constructorOf(objName, obj.constructor);
      handlers[`Query.${constructorField(mod.def.name)}`] = (_r, args) => invoke("Query", objName, "", ctor, {}, args);
    }
  }
  return handlers;
}
