// Rung 2 (registration): the README's function table is what scripts/function-table.ts renders from the SDK's own
// introspector on src/; the renderer's rules are checked on a small module of their own.
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import {
  BEGIN,
  cliName,
  currentModule,
  END,
  README_PATH,
  readmeWithTable,
  renderFunctionTable,
} from "../../scripts/function-table.js";
import type { ModuleDef } from "./introspect.js";

describe("the README's function table", () => {
  it("is what `npm run docs` renders from src/", async () => {
    const readme = readFileSync(README_PATH, "utf8");
    const expected = await readmeWithTable(readme, await currentModule());
    expect(readme, "README.md's function table is out of date with src/: run `npm run docs`").toBe(expected);
  });

  it("has one pair of markers", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect([readme.split(BEGIN).length - 1, readme.split(END).length - 1]).toEqual([1, 1]);
  });
});

describe("cliName: names as dagger call spells them (strcase.ToKebab)", () => {
  it.each([
    ["images", "images"],
    ["shaLength", "sha-length"],
    ["withRegistryAuth", "with-registry-auth"],
    ["githubOutput", "github-output"],
    ["sourceURL", "source-url"],
    ["Dockyard", "dockyard"],
  ])("%s → %s", (name, flag) => {
    expect(cliName(name)).toBe(flag);
  });
});

const STR = { kind: "STRING_KIND" };
// Each object names constructor (undefined) itself: otherwise TypeScript types it as Object.prototype.constructor.
const fixture: ModuleDef = {
  name: "dockyard",
  description: "",
  enums: {
    Mode: {
      name: "Mode",
      description: "",
      values: { FAST: { name: "FAST", value: "fast", description: "Quick." } },
    },
  },
  objects: {
    Extra: { name: "Extra", constructor: undefined, description: "Returned by nobody.", methods: {}, properties: {} },
    Report: {
      name: "Report",
      constructor: undefined,
      description: "A report.",
      methods: {
        asText: { name: "asText", description: "As text.", arguments: {}, returnType: STR },
        line: {
          name: "line",
          description: "One line.",
          arguments: {
            lineNumber: {
              name: "lineNumber",
              description: "From 1.",
              type: { kind: "INTEGER_KIND" },
              isOptional: false,
            },
          },
          returnType: STR,
        },
      },
      properties: {
        okCount: {
          name: "okCount",
          description: "How many | passed.",
          type: { kind: "INTEGER_KIND" },
          isExposed: true,
        },
        hidden: { name: "hidden", description: "", type: STR, isExposed: false },
      },
    },
    Dockyard: {
      name: "Dockyard",
      constructor: undefined,
      description: "The module.",
      methods: {
        run: {
          name: "run",
          description: "Runs <it>.",
          cache: "never",
          arguments: {
            mode: {
              name: "mode",
              description: "How.",
              type: { kind: "ENUM_KIND", name: "Mode" },
              isOptional: false,
              defaultValue: "fast",
            },
            names: {
              name: "names",
              description: "Names.",
              type: { kind: "LIST_KIND", typeDef: STR },
              isOptional: false,
            },
          },
          returnType: { kind: "OBJECT_KIND", name: "Report" },
        },
      },
      properties: {},
    },
  },
};

describe("renderFunctionTable", () => {
  const table = renderFunctionTable(fixture);
  it.each([
    {
      rule: "the main object first, then what it returns, then the rest",
      want: /### Dockyard[\s\S]*### Report[\s\S]*### Extra/,
    },
    { rule: "a function's flags in kebab-case", want: /#### `run`/ },
    {
      rule: "an enum default as the member name, members described",
      want: /\| `--mode` \| `Mode` \| `FAST` \| How\. `FAST`: Quick\. \|/,
    },
    { rule: "a required list", want: /\| `--names` \| `string list` \| \*\*required\*\* \| Names\. \|/ },
    {
      rule: "the cache policy and return type",
      want: /Runs \\<it>\. Never cached: every call runs again\. Returns `Report`\./,
    },
    { rule: "where an object comes from", want: /Returned by `run`; chain one of its outputs after it\./ },
    {
      rule: "exposed fields and argument-less functions as outputs, | escaped",
      want: /\| `ok-count` \| `int` \| How many \\\| passed\. \|\n\| `as-text` \| `string` \| As text\. \|/,
    },
    {
      rule: "a sub-object's function with arguments gets its own table",
      want: /#### `line`[\s\S]*\| `--line-number` \| `int` \| \*\*required\*\* \| From 1\. \|/,
    },
  ])("$rule", ({ want }) => {
    expect(table).toMatch(want);
  });

  it("leaves out fields the API does not expose", () => {
    expect(table).not.toMatch(/hidden/);
  });

  it("refuses a README without markers, naming them", async () => {
    await expect(readmeWithTable("# x\n", fixture)).rejects.toThrow(/<!-- functions:begin -->/);
  });
});
