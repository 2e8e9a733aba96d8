// Test infrastructure (no rung of its own): temp folders that outlive no test process. Vitest often kills its
// workers rather than letting them exit, so each folder carries its maker's pid and a later process removes the
// folders of makers that are gone.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
const swept = new Set<string>();
let hooked = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes `<prefix><pid>-*` folders whose process has ended (once per prefix and process). */
function sweep(prefix: string): void {
  if (swept.has(prefix)) return;
  swept.add(prefix);
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\d+)-`);
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(pattern.exec(name)?.[1] ?? NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** A fresh folder `<tmp>/<prefix><pid>-XXXXXX`, removed when this process exits or by a later one if it is killed. */
export function processTempDir(prefix: string): string {
  sweep(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
