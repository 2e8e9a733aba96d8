// Unit (recipes): every CI example and workflow passes each check that applies to it (YAML, schemas, GitHub's parser, actionlint, shellcheck, policy, per-event runs).
import { afterAll, describe, expect, it } from "vitest";

import { ciFiles, FILES, readCi, runCheck } from "./lib/checks.js";
import { removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

describe("CI files", () => {
  it("every examples/*.yml and .github/workflows/*.yml has its checks listed", () => {
    expect(ciFiles()).toEqual(Object.keys(FILES).sort());
  });

  const rows = Object.entries(FILES).flatMap(([file, checks]) => checks.map((check) => ({ file, check })));
  it.each(rows)("$file passes $check", async ({ file, check }) => {
    expect(await runCheck(check, readCi(file))).toEqual([]);
  });
});
