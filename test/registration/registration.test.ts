// Rung 2 (registration): the SDK's own introspector turns src/ into the typedefs `dagger functions` shows.
import { beforeAll, describe, expect, it } from "vitest";

import { introspectModule, type ArgDef, type ModuleDef, type ObjectDef } from "./introspect.js";

type Expected = Record<string, { type: string; optional: boolean; default?: unknown }>;

const STR = "STRING_KIND";
const INT = "INTEGER_KIND";
const BOOL = "BOOLEAN_KIND";
const LIST_STR = "LIST_KIND<STRING_KIND>";

const buildArgs: Expected = {
  dockerfile: { type: STR, optional: false, default: "Dockerfile" },
  context: { type: STR, optional: false, default: "." },
  target: { type: STR, optional: true },
  buildArgs: { type: LIST_STR, optional: false, default: [] },
};

const tagArgs: Expected = {
  commit: { type: STR, optional: true },
  ref: { type: STR, optional: true },
  shaLength: { type: INT, optional: false, default: 7 },
  latest: { type: STR, optional: false, default: "auto" },
  extraTags: { type: LIST_STR, optional: false, default: [] },
};

const FUNCTIONS: Record<string, { returns: string; args: Expected }> = {
  withRegistryAuth: {
    returns: "OBJECT_KIND:Dockyard",
    args: {
      address: { type: STR, optional: false },
      username: { type: STR, optional: false },
      secret: { type: "OBJECT_KIND:Secret", optional: false },
    },
  },
  withBuildSecret: {
    returns: "OBJECT_KIND:Dockyard",
    args: { id: { type: STR, optional: false }, secret: { type: "OBJECT_KIND:Secret", optional: false } },
  },
  tags: {
    returns: LIST_STR,
    args: {
      ...tagArgs,
    },
  },
  metadata: {
    returns: "OBJECT_KIND:Metadata",
    args: {
      ...tagArgs,
      labels: { type: LIST_STR, optional: false, default: [] },
      sourceUrl: { type: STR, optional: true },
      created: { type: STR, optional: true },
    },
  },
  build: {
    returns: "OBJECT_KIND:Container",
    args: {
      ...buildArgs,
      platform: { type: "SCALAR_KIND:Platform", optional: true },
      labels: { type: LIST_STR, optional: false, default: [] },
      commit: { type: STR, optional: true },
      ref: { type: STR, optional: true },
      sourceUrl: { type: STR, optional: true },
      created: { type: STR, optional: true },
    },
  },
  publish: {
    returns: LIST_STR,
    args: {
      images: { type: LIST_STR, optional: false },
      username: { type: STR, optional: true },
      password: { type: "OBJECT_KIND:Secret", optional: true },
      tags: { type: LIST_STR, optional: false, default: [] },
      platforms: { type: "LIST_KIND<SCALAR_KIND:Platform>", optional: false, default: [] },
      ...buildArgs,
      labels: { type: LIST_STR, optional: false, default: [] },
      commit: { type: STR, optional: true },
      ref: { type: STR, optional: true },
      shaLength: { type: INT, optional: false, default: 7 },
      latest: { type: STR, optional: false, default: "auto" },
      dryRun: { type: BOOL, optional: false, default: false },
      allowDirty: { type: BOOL, optional: false, default: false },
      sourceUrl: { type: STR, optional: true },
      created: { type: STR, optional: true },
      retries: { type: INT, optional: false, default: 3 },
    },
  },
};

const METADATA_FIELDS: Record<string, string> = {
  commit: STR,
  shortSha: STR,
  ref: STR,
  branch: STR,
  gitTag: STR,
  pullRequest: INT,
  version: STR,
  dirty: BOOL,
  tags: LIST_STR,
  labels: LIST_STR,
};

function typeName(t: { kind: string; name?: string; typeDef?: unknown }): string {
  if (t.kind === "LIST_KIND") return `LIST_KIND<${typeName(t.typeDef as typeof t)}>`;
  return t.name ? `${t.kind}:${t.name}` : t.kind;
}

function argShape(a: ArgDef) {
  // The SDK reports a literal default as given in source; a missing default means none.
  return {
    type: typeName(a.type),
    optional: a.isOptional,
    ...(a.defaultValue !== undefined ? { default: a.defaultValue } : {}),
  };
}

let mod: ModuleDef;
let dockyard: ObjectDef;

beforeAll(async () => {
  mod = await introspectModule("src", "dockyard");
  dockyard = mod.objects.Dockyard!;
});

describe("module registration", () => {
  it("has a module description", () => {
    expect(mod.description).toMatch(/Dockerfile/);
  });

  it("exposes exactly the Dockyard and Metadata objects", () => {
    expect(Object.keys(mod.objects).sort()).toEqual(["Dockyard", "Metadata"]);
  });

  it("has a constructor taking source: Directory defaulting to the context root", () => {
    const source = dockyard.constructor?.arguments.source;
    expect(source).toMatchObject({ defaultPath: "/", isOptional: false });
    expect(typeName(source!.type)).toBe("OBJECT_KIND:Directory");
    expect(source!.description).not.toBe("");
    expect(Object.keys(dockyard.constructor!.arguments)).toEqual(["source"]);
  });

  it("exposes exactly the documented functions", () => {
    expect(Object.keys(dockyard.methods).sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  it.each(Object.entries(FUNCTIONS))("%s: arguments, defaults and return type", (name, want) => {
    const fn = dockyard.methods[name]!;
    expect(typeName(fn.returnType)).toBe(want.returns);
    expect(Object.keys(fn.arguments)).toEqual(Object.keys(want.args));
    for (const [argName, arg] of Object.entries(fn.arguments)) {
      expect({ arg: argName, ...argShape(arg) }).toEqual({ arg: argName, ...want.args[argName] });
    }
  });

  it.each(Object.keys(FUNCTIONS))("%s: the function and every argument have a description", (name) => {
    const fn = dockyard.methods[name]!;
    expect(fn.description.trim()).not.toBe("");
    for (const arg of Object.values(fn.arguments)) {
      expect({ arg: arg.name, description: arg.description.trim() !== "" }).toEqual({
        arg: arg.name,
        description: true,
      });
    }
  });

  it("Metadata exposes its fields, each described", () => {
    const props = mod.objects.Metadata!.properties;
    expect(Object.fromEntries(Object.values(props).map((p) => [p.name, typeName(p.type)]))).toEqual(METADATA_FIELDS);
    for (const p of Object.values(props)) {
      expect({ field: p.name, exposed: p.isExposed, described: p.description.trim() !== "" }).toEqual({
        field: p.name,
        exposed: true,
        described: true,
      });
    }
  });

  it("keeps state fields (credentials, build secrets) off the API", () => {
    const exposed = Object.values(dockyard.properties).filter((p) => p.isExposed);
    expect(exposed).toEqual([]);
  });
});
