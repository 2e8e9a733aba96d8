// `npm run docs`: renders every object's functions, arguments and outputs from the SDK's own introspector on src/
// into README.md between the functions markers; test/registration/function-table.test.ts fails when they differ.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

import { format, resolveConfig } from "prettier";

import {
  introspectModule,
  type ArgDef,
  type FunctionDef,
  type ModuleDef,
  type ObjectDef,
  type TypeDef,
} from "../test/registration/introspect.js";

export const BEGIN = "<!-- functions:begin -->";
export const END = "<!-- functions:end -->";
export const README_PATH = fileURLToPath(new URL("../README.md", import.meta.url));
const SRC_DIR = fileURLToPath(new URL("../src", import.meta.url));

/** A name as `dagger call` spells it (strcase.ToKebab in cmd/dagger/module_inspect.go): `shaLength` → `sha-length`. */
export function cliName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

/** Text for a table cell: one line, `|` escaped, and `<x>` kept visible instead of read as an HTML tag. */
function cell(text: string): string {
  return text
    .trim()
    .replace(/\s*\n\s*/g, " ")
    .replace(/\|/g, "\\|")
    .replace(/</g, "\\<");
}

/** A paragraph: `<x>` kept visible. */
function prose(text: string): string {
  return text.trim().replace(/</g, "\\<");
}

function typeText(t: TypeDef): string {
  switch (t.kind) {
    case "STRING_KIND":
      return "string";
    case "INTEGER_KIND":
      return "int";
    case "FLOAT_KIND":
      return "float";
    case "BOOLEAN_KIND":
      return "bool";
    case "VOID_KIND":
      return "nothing";
    case "LIST_KIND":
      return t.typeDef ? `${typeText(t.typeDef)} list` : "list";
    default:
      return t.name ?? t.kind;
  }
}

function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function enumValues(mod: ModuleDef, t: TypeDef) {
  return t.kind === "ENUM_KIND" ? Object.values(mod.enums?.[t.name ?? ""]?.values ?? {}) : [];
}

/** The default as the engine registers it and `dagger call --help` shows it (an enum's member name, not its value). */
function defaultText(mod: ModuleDef, arg: ArgDef): string {
  if (arg.defaultPath) return `${code(arg.defaultPath)} (path in the module's context)`;
  const value = arg.defaultValue;
  if (value === undefined || value === null) return arg.isOptional ? "none" : "**required**";
  if (Array.isArray(value)) return value.length === 0 ? "empty" : value.map((v) => code(String(v))).join(", ");
  const member = enumValues(mod, arg.type).find((v) => v.value === value);
  if (member) return code(member.name);
  return code(typeof value === "string" ? value : JSON.stringify(value));
}

function argDescription(mod: ModuleDef, arg: ArgDef): string {
  const members = enumValues(mod, arg.type).map((v) => `${code(v.name)}: ${v.description.trim()}`);
  return cell([arg.description, ...members].filter((s) => s.trim() !== "").join(" "));
}

function argTable(mod: ModuleDef, args: ArgDef[]): string[] {
  return [
    "| argument | type | default | description |",
    "| --- | --- | --- | --- |",
    ...args.map(
      (a) =>
        `| ${code(`--${cliName(a.name)}`)} | ${code(typeText(a.type))} | ${defaultText(mod, a)} | ${argDescription(mod, a)} |`,
    ),
  ];
}

function returnsText(fn: FunctionDef, main: ObjectDef): string {
  const type = typeText(fn.returnType);
  if (fn.returnType.kind === "OBJECT_KIND" && fn.returnType.name === main.name) {
    return `${code(type)}: chain another function after it`;
  }
  return code(type);
}

function functionSection(mod: ModuleDef, main: ObjectDef, fn: FunctionDef): string[] {
  // A description that already states its cache policy (the CLI help shows only the description) is not repeated.
  const cache = /\b(never cached|cached for the session)\b/i.test(fn.description)
    ? ""
    : fn.cache === "never"
      ? " Never cached: every call runs again."
      : fn.cache === "session"
        ? " Cached for the session: one run however many fields are read; a new session runs again."
        : "";
  const args = Object.values(fn.arguments);
  return [
    `#### ${code(cliName(fn.name))}`,
    "",
    `${prose(fn.description)}${cache} Returns ${returnsText(fn, main)}.`,
    "",
    ...(args.length ? [...argTable(mod, args), ""] : ["No arguments.", ""]),
  ];
}

/** An object's outputs: its exposed fields and its functions without arguments, as `dagger call` chains them. */
function outputTable(obj: ObjectDef): string[] {
  const rows = [
    ...Object.values(obj.properties)
      .filter((p) => p.isExposed)
      .map((p) => ({ name: p.name, type: p.type, description: p.description })),
    ...Object.values(obj.methods)
      .filter((f) => Object.keys(f.arguments).length === 0)
      .map((f) => ({ name: f.name, type: f.returnType, description: f.description })),
  ];
  if (rows.length === 0) return [];
  return [
    "| output | type | description |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${code(cliName(r.name))} | ${code(typeText(r.type))} | ${cell(r.description)} |`),
    "",
  ];
}

/** An object's own constructor: a plain object's `constructor` is otherwise `Object` itself. */
function constructorOf(obj: ObjectDef): FunctionDef | undefined {
  return Object.hasOwn(obj, "constructor") ? obj.constructor : undefined;
}

/** The module's main object first, then the others in the order its functions return them, then any left. */
function objectOrder(mod: ModuleDef): ObjectDef[] {
  const all = Object.values(mod.objects);
  const main = all.find((o) => cliName(o.name) === cliName(mod.name)) ?? all.find((o) => constructorOf(o)) ?? all[0];
  const ordered: ObjectDef[] = main ? [main] : [];
  for (let i = 0; i < ordered.length; i++) {
    for (const fn of Object.values(ordered[i]!.methods)) {
      const next = fn.returnType.kind === "OBJECT_KIND" ? mod.objects[fn.returnType.name ?? ""] : undefined;
      if (next && !ordered.includes(next)) ordered.push(next);
    }
  }
  return [...ordered, ...all.filter((o) => !ordered.includes(o)).sort((a, b) => a.name.localeCompare(b.name))];
}

/** Where an object comes from: the functions returning it. */
function returnedBy(mod: ModuleDef, obj: ObjectDef): string[] {
  return Object.values(mod.objects).flatMap((o) =>
    Object.values(o.methods)
      .filter((f) => f.returnType.kind === "OBJECT_KIND" && f.returnType.name === obj.name && o !== obj)
      .map((f) => code(cliName(f.name))),
  );
}

/** The Markdown between the markers (before Prettier). */
export function renderFunctionTable(mod: ModuleDef): string {
  const [main, ...others] = objectOrder(mod);
  if (!main) throw new Error("the introspector found no object in src/");
  const lines: string[] = [
    "<!-- Generated by `npm run docs` from what the SDK registers for src/: edit the JSDoc in src/index.ts, not this. -->",
    "",
    `Names as \`dagger call\` takes them; from TypeScript they are camelCase (\`--sha-length\` is \`shaLength\`).`,
    "",
    `### ${main.name}`,
    "",
    prose(main.description),
    "",
  ];
  const ctorArgs = Object.values(constructorOf(main)?.arguments ?? {});
  if (ctorArgs.length) {
    lines.push("Module arguments, given before the function name:", "", ...argTable(mod, ctorArgs), "");
  }
  for (const fn of Object.values(main.methods)) lines.push(...functionSection(mod, main, fn));
  for (const obj of others) {
    const from = returnedBy(mod, obj);
    lines.push(`### ${obj.name}`, "", prose(obj.description), "");
    if (from.length) lines.push(`Returned by ${from.join(", ")}; chain one of its outputs after it.`, "");
    lines.push(...outputTable(obj));
    for (const fn of Object.values(obj.methods).filter((f) => Object.keys(f.arguments).length > 0)) {
      lines.push(...functionSection(mod, main, fn));
    }
  }
  return lines.join("\n").trimEnd();
}

/** README with the table between the markers, formatted as `npm run format` leaves it. */
export async function readmeWithTable(readme: string, mod: ModuleDef): Promise<string> {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md: no ${BEGIN} … ${END} pair to put the function table in`);
  const text = `${readme.slice(0, begin + BEGIN.length)}\n\n${renderFunctionTable(mod)}\n\n${readme.slice(end)}`;
  const config = (await resolveConfig(README_PATH)) ?? {};
  return format(text, { ...config, filepath: README_PATH });
}

export async function currentModule(): Promise<ModuleDef> {
  return introspectModule(SRC_DIR, "dockyard");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const readme = readFileSync(README_PATH, "utf8");
  const next = await readmeWithTable(readme, await currentModule());
  if (next !== readme) writeFileSync(README_PATH, next);
  console.log(next === readme ? "README.md: function table unchanged" : "README.md: function table updated");
}
