// Unit (recipes): the README's two commands on a fresh machine: each names a script that installs what it needs
// (as root), says what is missing otherwise, and is shellcheck-clean; .ci/run runs the README's test command.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

import { ROOT } from "./lib/checks.js";
import { fakeBin, removeTempDirs } from "./lib/shell.js";

afterAll(removeTempDirs);

const root = fileURLToPath(ROOT);
const read = (path: string) => readFileSync(join(root, path), "utf8");
const README = read("README.md");

/** The packages a script asks for: every `name:/path` given to need_packages, plus docker.io for need_docker. */
function packagesOf(script: string): string[] {
  const text = read(script).replace(/\\\n\s*/g, " ");
  const named = [...text.matchAll(/^\s*need_packages (.+)$/gm)].flatMap((m) =>
    (m[1] ?? "").split(/\s+/).map((e) => e.split(":")[0] ?? ""),
  );
  return [...named, ...(/^\s*(?:if .*then )?need_docker\b/m.test(text) ? ["docker.io"] : [])].sort();
}

describe("the README's two commands", () => {
  it.each([
    { what: "set up and run the main job", command: "bash scripts/demo" },
    { what: "set up and run every test", command: "bash scripts/test-all" },
  ])("$what: `$command`, a script that exists", ({ what, command }) => {
    const row = README.split("\n").find((l) => l.startsWith(`| ${what}`)) ?? "";
    expect(row).toContain(`\`${command}\``);
    expect(existsSync(join(root, command.replace(/^bash /, "")))).toBe(true);
  });

  it(".ci/run runs the README's test command", () => {
    expect(read(".ci/run")).toMatch(/^exec bash scripts\/test-all$/m);
  });

  it("each script asks for the packages its job needs", () => {
    const demo = ["apache2-utils", "busybox-static", "docker-registry", "docker.io", "git"];
    expect(packagesOf("scripts/demo")).toEqual(demo);
    // The tests also read registries back with skopeo and sign token-auth tokens with openssl.
    expect(packagesOf("scripts/test-all")).toEqual([...demo, "openssl", "shellcheck", "skopeo"].sort());
  });

  it("the scripts are shellcheck-clean", () => {
    const run = spawnSync("shellcheck", ["-x", "scripts/demo", "scripts/test-all", "scripts/lib/debian-packages.sh"], {
      cwd: root,
      encoding: "utf8",
    });
    if (run.error) throw new Error(`shellcheck could not run (apt-get install shellcheck): ${run.error.message}`);
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it.each([
    { who: "root", uid: "0", installs: true },
    { who: "not root", uid: "1000", installs: false },
  ])("with nothing installed, $who: installs it all, or names it all and says how", ({ uid, installs }) => {
    // dpkg-query knows no package, id says who we are, apt-get records what it was asked.
    const bin = fakeBin({
      "dpkg-query": "#!/bin/sh\nexit 1\n",
      id: `#!/bin/sh\necho ${uid}\n`,
      "apt-get": '#!/bin/sh\necho "apt-get $*" >&2\n',
    });
    const script = ". scripts/lib/debian-packages.sh; need_packages git:/x busybox-static:/y; install_needed demo";
    const run = spawnSync("bash", ["-c", script], {
      cwd: root,
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    if (installs) {
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("demo: installing git busybox-static");
      expect(run.stderr).toContain("apt-get install -y -qq git busybox-static");
    } else {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("demo: missing Debian packages: git busybox-static");
      expect(run.stderr).toContain("apt-get install git busybox-static");
    }
  });
});
