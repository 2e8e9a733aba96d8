// Unit (recipes): every CI example and workflow passes each check that applies to it (YAML, schemas, GitHub's parser, actionlint, shellcheck, policy); the per-event runs, which run the module, are events.test.ts's, one test per event.
import { afterAll, describe, expect, it } from "vitest";

import { ciFiles, FILES, readCi, runCheck, type CheckName } from "./lib/checks.js";
import { removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

/** Run per event by events.test.ts (each event a dagger call through the engine double): not run twice. */
const PER_EVENT: CheckName[] = [
  "github-events",
  "dockerhub-events",
  "gitlab-events",
  "github-multiarch-events",
  "gitlab-multiarch-events",
];

describe("CI files", () => {
  it("every examples/*.yml and .github/workflows/*.yml has its checks listed", () => {
    expect(ciFiles()).toEqual(Object.keys(FILES).sort());
  });

  const rows = Object.entries(FILES).flatMap(([file, checks]) =>
    checks.filter((check) => !PER_EVENT.includes(check)).map((check) => ({ file, check })),
  );
  it.each(rows)("$file passes $check", async ({ file, check }) => {
    expect(await runCheck(check, readCi(file))).toEqual([]);
  });
});
