// Rung 3 support (test infrastructure, no engine): a killed test process's temp folders are removed by the next
// process that makes one with the same prefix; a live process's folders are left alone.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { processTempDir } from "./tempdirs.js";

/** A pid that has ended: a child that exits at once. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("processTempDir", () => {
  it.each([
    { owner: "an ended process", pid: deadPid(), removed: true },
    { owner: "this process (alive)", pid: process.pid, removed: false },
    { owner: "init (alive, another process)", pid: 1, removed: false },
  ])("a folder left by $owner is removed: $removed", ({ pid, removed }) => {
    const prefix = `dockyard-tempdirs-test-${Math.random().toString(36).slice(2, 8)}-`;
    const left = join(tmpdir(), `${prefix}${pid}-left`);
    mkdirSync(left);
    const made = processTempDir(prefix);
    expect(made.startsWith(join(tmpdir(), `${prefix}${process.pid}-`))).toBe(true);
    expect(existsSync(made)).toBe(true);
    expect(existsSync(left)).toBe(!removed);
    rmSync(left, { recursive: true, force: true });
    rmSync(made, { recursive: true, force: true });
  });
});
