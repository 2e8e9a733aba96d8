// Rung 2 (registration): the dagger shim reads command lines as the Dagger CLI does, against the module's arguments as the SDK's introspector registers them (flag names, types, enums, required flags, chains).
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { stageModule } from "../engine/stage.js";
import { introspectModule, type ModuleDef } from "../registration/introspect.js";
import { kebab, parseDaggerCall, type ParsedCall } from "./lib/dagger-cli.js";

let mod: ModuleDef;
beforeAll(async () => {
  mod = await introspectModule(join((await stageModule()).dir, "src"), "dockyard");
});

const M = "github.com/acme/dockyard@v0.1.0";
const call = (line: string): ParsedCall => parseDaggerCall(line.split(" "), mod, "Dockyard");
/** Each step as `fn(arg=value, …)`, values as the double receives them (secrets and folders by address). */
const steps = (p: ParsedCall): string[] =>
  p.steps.map(
    (s) =>
      `${s.fn}(${Object.entries(s.args)
        .map(([k, v]) => `${k}=${v.kind === "json" ? JSON.stringify(v.value) : `${v.kind}:${v.address}`}`)
        .join(", ")})`,
  );

describe("kebab", () => {
  it.each([
    ["githubOutput", "github-output"],
    ["withRegistryAuth", "with-registry-auth"],
    ["shaLength", "sha-length"],
    ["sourceUrl", "source-url"],
  ])("%s is --%s", (name, flag) => expect(kebab(name)).toBe(flag));
});

describe("dagger call command lines", () => {
  const rows: { line: string; steps: string[]; leaf?: string; output?: string; field?: string }[] = [
    {
      line: `--progress plain call -m ${M} --source=. publish --images=ghcr.io/a/b --push=false --platforms=linux/amd64,linux/arm64 markdown`,
      steps: [
        "(source=directory:.)",
        'publish(images=["ghcr.io/a/b"], push=false, platforms=["linux/amd64","linux/arm64"])',
      ],
      field: "markdown",
      leaf: "STRING_KIND",
    },
    {
      line: `--progress=plain call --output=publish.env -m ${M} --source=. publish --images=a/b,c/d --username=u --password=env:TOKEN dotenv`,
      steps: ["(source=directory:.)", 'publish(images=["a/b","c/d"], username="u", password=secret:env:TOKEN)'],
      field: "dotenv",
      output: "publish.env",
    },
    {
      line: `call -m ${M} publish --images a/b --images c/d --push --sha-length 8 --latest=always -o out.json json`,
      steps: ["()", 'publish(images=["a/b","c/d"], push=true, shaLength=8, latest="ALWAYS")'],
      field: "json",
      output: "out.json",
    },
    {
      line: `call -m ${M} --source=. with-registry-auth --address=ghcr.io --username=bot --password=env:GHCR_TOKEN publish --images=ghcr.io/a/b`,
      steps: [
        "(source=directory:.)",
        'withRegistryAuth(address="ghcr.io", username="bot", password=secret:env:GHCR_TOKEN)',
        'publish(images=["ghcr.io/a/b"])',
      ],
      leaf: "OBJECT_KIND",
    },
    {
      line: `call -m ${M} --source=. publish --images=a/b digest`,
      steps: ["(source=directory:.)", 'publish(images=["a/b"])'],
      field: "digest",
      leaf: "STRING_KIND",
    },
  ];
  it.each(rows)("$line", (row) => {
    const parsed = call(row.line);
    expect(steps(parsed)).toEqual(row.steps);
    if (row.leaf) expect(parsed.leaf.kind).toBe(row.leaf);
    expect(parsed.output).toBe(row.output);
    expect(parsed.field).toBe(row.field);
  });

  const refused: [string, RegExp][] = [
    [`call -m ${M} --source=. publish --images=a/b --platform=linux/amd64`, /^unknown flag: --platform$/],
    [`call -m ${M} --source=. publish --images=a/b --secret=env:X`, /^unknown flag: --secret$/],
    [`call -m ${M} --source=. publish --push=false`, /^required flag\(s\) "images" not set$/],
    [`call -m ${M} publish --images=a/b --latest=sometimes`, /value should be one of AUTO,ALWAYS,NEVER/],
    [`call -m ${M} publish --images=a/b --sha-length=eight`, /invalid argument "eight" for "--sha-length"/],
    [`call -m ${M} publish --images=a/b --push=maybe`, /invalid argument "maybe" for "--push"/],
    [`call -m ${M} pubish --images=a/b`, /^unknown command "pubish" for "dagger call"$/],
    [
      `call -m ${M} publish --images=a/b github-outputs`,
      /^unknown command "github-outputs" for "dagger call publish"$/,
    ],
    [`call -m ${M} publish --images=a/b --username`, /^flag needs an argument: --username$/],
    [`call --source=. publish --images=a/b`, /no module/],
    [`functions -m ${M}`, /^unknown command "functions" for "dagger"$/],
  ];
  it.each(refused)("refuses %s", (line, message) => {
    expect(() => call(line)).toThrow(message);
  });
});
