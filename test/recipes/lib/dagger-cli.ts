// `dagger call` command lines read as the Dagger CLI v0.21.8 reads them, against the module's registered typedefs
// (the SDK introspector's ModuleDef): function and flag names in kebab case, values typed per argument.
// Citations: dagger/dagger at v0.21.8, cmd/dagger/.
import type { ArgDef, FunctionDef, ModuleDef, TypeDef } from "../../registration/introspect.js";

/** A flag's value as given on the command line, typed by the argument's registration; resolved by the shim. */
export type CliValue =
  | { kind: "json"; value: unknown }
  /** flags.go:349-355: `c.Address(s).Secret()`, `env:NAME`, `file:PATH` and the like. */
  | { kind: "secret"; address: string }
  /** flags.go:299-310: `c.Address(s).Directory()`, a host path here. */
  | { kind: "directory"; address: string };

export interface ChainStep {
  /** The function as registered (camelCase); "" for the constructor. */
  fn: string;
  /** Kebab-case name as typed on the command line ("" for the constructor). */
  command: string;
  /** The object the function belongs to. */
  parent: string;
  args: Record<string, CliValue>;
  /** Flags as typed, `--name` to raw values, for reports. */
  flags: Record<string, string[]>;
  /** The object the function returns, when it returns one. */
  returns?: string;
}

export interface ParsedCall {
  module: string;
  /** -o/--output: written by the CLI after the call (functions.go:865-871). */
  output?: string;
  json: boolean;
  /** Constructor first, then each function; the last is the leaf. */
  steps: ChainStep[];
  /** The leaf's return type. */
  leaf: TypeDef;
  /** Set when the leaf is an exposed field of the previous step's object, not a function. */
  field?: string;
}

/** The CLI's own error (cobra/pflag wording), printed as `Error: …` with exit code 1. */
export class CliUsageError extends Error {}

/** strcase.ToKebab as the CLI names flags and commands (functions.go FlagName/CmdName). */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

/** Global flags of `dagger` that take a value; anything else before `call` is a boolean or refused. */
const GLOBAL_VALUE_FLAGS = new Set(["--progress", "-W", "--workdir"]);
const GLOBAL_BOOL_FLAGS = new Set([
  "--debug",
  "-d",
  "--silent",
  "-s",
  "--quiet",
  "-q",
  "-v",
  "-vv",
  "-vvv",
  "--verbose",
]);

/** pflag's boolean syntax (strconv.ParseBool). */
function parseBool(flag: string, s: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  throw new CliUsageError(
    `invalid argument "${s}" for "${flag}" flag: strconv.ParseBool: parsing "${s}": invalid syntax`,
  );
}

function parseInt10(flag: string, s: string): number {
  if (!/^[+-]?\d+$/.test(s)) {
    throw new CliUsageError(
      `invalid argument "${s}" for "${flag}" flag: strconv.ParseInt: parsing "${s}": invalid syntax`,
    );
  }
  return Number(s);
}

/** flags.go:170-208 and pflag's StringSlice: CSV, quote characters removed, each value trimmed. */
function csv(s: string): string[] {
  const text = s.replace(/["'`]/g, "");
  return text === "" ? [] : text.split(",").map((v) => v.trim());
}

function enumMember(mod: ModuleDef, name: string, flag: string, s: string): string {
  const members = Object.values(mod.enums?.[name]?.values ?? {});
  const hit = members.find((m) => m.name.toLowerCase() === s.toLowerCase());
  if (!hit) {
    throw new CliUsageError(
      `invalid argument "${s}" for "${flag}" flag: value should be one of ${members.map((m) => m.name).join(",")}`,
    );
  }
  return hit.name;
}

function isBool(t: TypeDef): boolean {
  return t.kind === "BOOLEAN_KIND";
}

/** One flag value, typed as flags.go:642-800 registers the argument. */
function scalar(mod: ModuleDef, t: TypeDef, flag: string, s: string): CliValue {
  switch (t.kind) {
    case "STRING_KIND":
      return { kind: "json", value: s };
    case "BOOLEAN_KIND":
      return { kind: "json", value: parseBool(flag, s) };
    case "INTEGER_KIND":
      return { kind: "json", value: parseInt10(flag, s) };
    case "FLOAT_KIND":
      if (Number.isNaN(Number(s)) || s.trim() === "")
        throw new CliUsageError(`invalid argument "${s}" for "${flag}" flag`);
      return { kind: "json", value: Number(s) };
    case "ENUM_KIND":
      return { kind: "json", value: enumMember(mod, t.name ?? "", flag, s) };
    case "SCALAR_KIND":
      if (t.name === "Platform" && s === "") throw new CliUsageError("platform cannot be empty");
      return { kind: "json", value: s };
    case "OBJECT_KIND":
      if (t.name === "Secret") return { kind: "secret", address: s };
      if (t.name === "Directory") return { kind: "directory", address: s };
      throw new CliUsageError(
        `unsupported flag type for ${flag}: "${t.name ?? "?"}" object (not modelled by the shim)`,
      );
    default:
      throw new CliUsageError(`unsupported flag type for ${flag}: ${t.kind} (not modelled by the shim)`);
  }
}

interface FlagSlot {
  arg: ArgDef;
  values: string[];
}

/** Every value of one argument as the function receives it: a list argument gathers every occurrence. */
function argValue(mod: ModuleDef, flag: string, slot: FlagSlot): CliValue {
  const t = slot.arg.type;
  if (t.kind !== "LIST_KIND") return scalar(mod, t, flag, slot.values.at(-1) ?? "");
  const element = t.typeDef ?? { kind: "STRING_KIND" };
  const items = slot.values.flatMap(csv).map((v) => scalar(mod, element, flag, v));
  if (items.some((i) => i.kind !== "json")) {
    throw new CliUsageError(`list flag ${flag} of objects: not modelled by the shim`);
  }
  return { kind: "json", value: items.map((i) => (i as { value: unknown }).value) };
}

function functionOf(mod: ModuleDef, parent: string, command: string): { fn: string; def: FunctionDef } | undefined {
  const methods = mod.objects[parent]?.methods ?? {};
  const name = Object.keys(methods).find((m) => kebab(m) === command);
  const def = name === undefined ? undefined : methods[name];
  return name !== undefined && def ? { fn: name, def } : undefined;
}

function fieldOf(mod: ModuleDef, parent: string, command: string): { name: string; type: TypeDef } | undefined {
  const props = mod.objects[parent]?.properties ?? {};
  const name = Object.keys(props).find((p) => kebab(p) === command && props[p]?.isExposed);
  const prop = name === undefined ? undefined : props[name];
  return name !== undefined && prop ? { name, type: prop.type } : undefined;
}

/**
 * Reads `dagger [global flags] call [-m M] [-o F] [--json] [constructor flags] fn [flags] fn2 … leaf`. Flags follow
 * pflag: `--name=value`, `--name value`, a bare boolean `--name`; unknown flags and missing required ones fail as
 * the CLI fails. `mainObject` is the module's main object (its constructor's flags come before the first function).
 */
export function parseDaggerCall(argv: string[], mod: ModuleDef, mainObject: string): ParsedCall {
  let i = 0;
  for (; i < argv.length && argv[i] !== "call"; i++) {
    const a = argv[i] ?? "";
    const name = a.split("=")[0] ?? "";
    if (GLOBAL_VALUE_FLAGS.has(name)) {
      if (!a.includes("=")) i++;
    } else if (!GLOBAL_BOOL_FLAGS.has(name)) {
      throw new CliUsageError(a.startsWith("-") ? `unknown flag: ${a}` : `unknown command "${a}" for "dagger"`);
    }
  }
  if (argv[i] !== "call") throw new CliUsageError("the shim runs only `dagger call`");
  const rest = argv.slice(i + 1);
  let module: string | undefined;
  let output: string | undefined;
  let json = false;
  const steps: ChainStep[] = [];
  let parent = mainObject;
  let current: { step: ChainStep; def: FunctionDef; slots: Map<string, FlagSlot> } | undefined;
  let field: { name: string; type: TypeDef } | undefined;
  const ctor: FunctionDef = mod.objects[mainObject]?.constructor ?? {
    name: "",
    description: "",
    arguments: {},
    returnType: { kind: "OBJECT_KIND", name: mainObject },
  };
  const open = (fn: string, command: string, def: FunctionDef) => {
    current = { step: { fn, command, parent, args: {}, flags: {} }, def, slots: new Map() };
  };
  const close = () => {
    if (!current) return;
    const { step, def, slots } = current;
    for (const [flag, slot] of slots) step.args[slot.arg.name] = argValue(mod, flag, slot);
    const missing = Object.values(def.arguments)
      .filter((a) => !a.isOptional && a.defaultValue === undefined && step.args[a.name] === undefined)
      .map((a) => `"${kebab(a.name)}"`);
    if (missing.length > 0) throw new CliUsageError(`required flag(s) ${missing.join(", ")} not set`);
    // The registration gives the constructor no return type: it returns the main object.
    const rt = step.fn === "" ? { kind: "OBJECT_KIND", name: mainObject } : def.returnType;
    if (rt.kind === "OBJECT_KIND" && rt.name !== undefined) step.returns = rt.name;
    steps.push(step);
    current = undefined;
  };
  open("", "", ctor);
  for (let k = 0; k < rest.length; k++) {
    const a = rest[k] ?? "";
    if (field) throw new CliUsageError(`unknown command "${a}" for "dagger call ${kebab(field.name)}"`);
    if (a.startsWith("-") && a !== "-") {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      const take = (): string => {
        if (inline !== undefined) return inline;
        const next = rest[++k];
        if (next === undefined) throw new CliUsageError(`flag needs an argument: ${name}`);
        return next;
      };
      // `call`'s own flags hold anywhere in the chain (persistent flags of the command).
      if (name === "-m" || name === "--mod") {
        module = take();
        continue;
      }
      if (name === "-o" || name === "--output") {
        output = take();
        continue;
      }
      if (name === "-j" || name === "--json") {
        json = inline === undefined ? true : parseBool(name, inline);
        continue;
      }
      if (GLOBAL_VALUE_FLAGS.has(name)) {
        take();
        continue;
      }
      if (GLOBAL_BOOL_FLAGS.has(name)) continue;
      const arg = current ? Object.values(current.def.arguments).find((x) => `--${kebab(x.name)}` === name) : undefined;
      if (!current || !arg) {
        throw new CliUsageError(
          name.startsWith("--") ? `unknown flag: ${name}` : `unknown shorthand flag: '${name.slice(1, 2)}' in ${name}`,
        );
      }
      const value = isBool(arg.type) && inline === undefined ? "true" : take();
      const slot = current.slots.get(name) ?? { arg, values: [] };
      slot.values.push(value);
      current.slots.set(name, slot);
      current.step.flags[name] = [...(current.step.flags[name] ?? []), value];
      continue;
    }
    const from = current?.step.command || "";
    close();
    const returned = steps.at(-1)?.returns;
    if (returned === undefined)
      throw new CliUsageError(`unknown command "${a}" for "dagger call${from ? ` ${from}` : ""}"`);
    parent = returned;
    const fn = functionOf(mod, parent, a);
    if (fn) {
      open(fn.fn, a, fn.def);
      continue;
    }
    const prop = fieldOf(mod, parent, a);
    if (!prop) throw new CliUsageError(`unknown command "${a}" for "dagger call${from ? ` ${from}` : ""}"`);
    field = prop;
  }
  close();
  if (module === undefined)
    throw new CliUsageError("no module: pass -m <module address> (the shim runs no local dagger.json)");
  const last = steps.at(-1);
  const leaf: TypeDef = field
    ? field.type
    : last?.fn === ""
      ? { kind: "OBJECT_KIND", name: mainObject }
      : (functionOf(mod, last?.parent ?? mainObject, last?.command ?? "")?.def.returnType ?? { kind: "VOID_KIND" });
  return {
    module,
    json,
    steps,
    leaf,
    ...(output !== undefined ? { output } : {}),
    ...(field ? { field: field.name } : {}),
  };
}
