// Rung 1 (types) plus a direct call: src/index.ts imported by tsx, `tags` with commit and ref makes no engine call.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

import type { Directory } from "@dagger.io/dagger";
import { Dockyard } from "../../src/index.js";
import { COMMIT } from "../fixtures/commits.js";

/** A source whose every use throws: any engine call from `tags` fails the test. */
const untouchableSource = new Proxy(
  {},
  {
    get(_t, prop) {
      throw new Error(`engine call: source.${String(prop)}`);
    },
  },
) as unknown as Directory;

describe("Dockyard.tags called directly", () => {
  it.each([
    { ref: "refs/tags/v1.2.3", want: ["1a2b3c4", "1.2.3", "1.2", "1", "latest"] },
    { ref: "refs/pull/9/merge", want: ["1a2b3c4", "pr-9"] },
  ])("$ref", async ({ ref, want }) => {
    expect(await new Dockyard(untouchableSource).tags(COMMIT, ref)).toEqual(want);
  });

  it("validates before anything else", async () => {
    await expect(new Dockyard(untouchableSource).tags(COMMIT, "main", 2)).rejects.toThrow(/--sha-length "?2/);
  });

  it("refuses a --sha-length longer than the given --commit before anything else", async () => {
    await expect(new Dockyard(untouchableSource).tags(COMMIT, "main", 41)).rejects.toThrow(
      /--sha-length "?41"?.*\(the commit's length\)/,
    );
  });

  it("works from `tsx` with no engine session in the environment", () => {
    const script = [
      `import { Dockyard } from "./src/index.js";`,
      `const tags = await new Dockyard(undefined).tags("${COMMIT}", "refs/heads/main", 7, "auto", ["edge"]);`,
      `console.log(JSON.stringify(tags));`,
    ].join("\n");
    const env = { ...process.env };
    delete env.DAGGER_SESSION_PORT;
    delete env.DAGGER_SESSION_TOKEN;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      env,
      encoding: "utf8",
    });
    expect(JSON.parse(out.trim().split("\n").pop() ?? "")).toEqual(["1a2b3c4", "main", "edge"]);
  });
});
