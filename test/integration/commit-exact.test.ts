// Rung 3 (engine double): the image tagged with a commit is that commit — built from its tree, guards that fail
// closed, nothing secret in labels — on real Docker builds pushed to a real registry and read back layer by layer.
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import type { PublicationData } from "../../src/push/publication.js";
import { dockerAvailable, git, gitFixture, REPO_ROOT, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 commit-exact suite (docker backend)");

const COPY_ALL = join(REPO_ROOT, "test/fixtures/copy-all");
const PASSWORD = "ci-pass-5e11";
const TOKEN_CANARY = "ghs_c4n4ryJobToken0123456789abcdefABCDEF";

/** Entries of uncompressed tar bytes (ustar: name at 0, mtime at 136, size at 124, prefix at 345). */
function tarEntries(tar: Buffer): { name: string; mtime: number }[] {
  const entries: { name: string; mtime: number }[] = [];
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString("latin1")
        .replace(/\0.*$/s, "");
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = parseInt(field(124, 12).trim() || "0", 8);
    entries.push({ name: prefix ? `${prefix}/${name}` : name, mtime: parseInt(field(136, 12).trim() || "0", 8) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

describe.skipIf(!docker)("commit-exact builds, end to end on the docker backend", () => {
  const suite = useDockerWorld(PASSWORD);
  const count = (field: string) => suite.count(field);

  function publish(dir: string, args: Record<string, unknown>): Promise<PublicationData> {
    const d = suite.world.double;
    return d
      .module({ args: { source: d.hostDirectory(dir) } })
      .call("publish", { username: "ci", password: d.cliSecret(PASSWORD), ...args })
      .result<PublicationData>();
  }

  /** Every path in the pushed image under /app, and all of its layer bytes as text. */
  async function imageFiles(
    repo: string,
    tag: string,
  ): Promise<{ files: string[]; mtimes: Record<string, number>; text: string }> {
    const layers = await suite.registry.client("ci").layers(repo, tag);
    const entries = layers
      .flatMap(tarEntries)
      .map((e) => ({ ...e, name: e.name.replace(/^\.?\//, "").replace(/\/$/, "") }))
      .filter((e) => e.name.startsWith("app/"));
    const files = entries.map((e) => e.name).sort();
    const mtimes = Object.fromEntries(entries.map((e) => [e.name, e.mtime]));
    return { files, mtimes, text: layers.map((l) => l.toString("latin1")).join("\n") };
  }

  /** A checkout of COPY_ALL as actions/checkout leaves it: the job token in .git/config, an ignored log beside it. */
  function ciCheckout() {
    const g = gitFixture(COPY_ALL);
    g.git("config", "http.https://github.com/.extraheader", `AUTHORIZATION: basic ${TOKEN_CANARY}`);
    writeFileSync(join(g.dir, "local-credentials.log"), `token=${TOKEN_CANARY}\n`);
    return g;
  }

  it("builds the commit's tree: no .git, no ignored file, no token reaches a layer", async () => {
    const g = ciCheckout();
    const pub = await publish(g.dir, { images: [`${suite.registry.host}/acme/exact`] });
    expect(pub.dirty).toBe(false);
    const { files, mtimes, text } = await imageFiles("acme/exact", g.head().slice(0, 7));
    expect(files).toEqual(["app/.gitignore", "app/Dockerfile", "app/hello.txt"]);
    expect(text).not.toContain(TOKEN_CANARY);
    // The commit's tree is stamped 1 s, as Dagger's checkout stamps it: the layer does not depend on when or
    // where the checkout was made (the image config still does: see README, "Reproducible builds").
    expect(mtimes["app/hello.txt"]).toBe(1);
    expect(mtimes["app/Dockerfile"]).toBe(1);
  });

  it("--allow-dirty builds the working folder as it is, never its .git, and says so", async () => {
    const g = ciCheckout();
    writeFileSync(join(g.dir, "hello.txt"), "edited\n");
    writeFileSync(join(g.dir, "new.txt"), "untracked\n");
    // A nested clone whose .git/config holds a token URL: no .git at any depth may enter the context.
    const lib = gitFixture(COPY_ALL);
    lib.git("clone", "-q", lib.dir, join(g.dir, "lib"));
    git(join(g.dir, "lib"), "remote", "set-url", "origin", `https://ci:${TOKEN_CANARY}@git.example/lib.git`);
    const pub = await publish(g.dir, { images: [`${suite.registry.host}/acme/dirty`], allowDirty: true });
    expect(pub).toMatchObject({ dirty: true, pushed: true, commit: g.head() });
    const tag = g.head().slice(0, 7);
    const { files, text } = await imageFiles("acme/dirty", tag);
    expect(files).toEqual([
      "app/.gitignore",
      "app/Dockerfile",
      "app/hello.txt",
      "app/lib",
      "app/lib/.gitignore",
      "app/lib/Dockerfile",
      "app/lib/hello.txt",
      "app/local-credentials.log",
      "app/new.txt",
    ]);
    expect(files.filter((f) => /(^|\/)\.git(\/|$)/.test(f))).toEqual([]);
    expect(text).not.toContain(`ci:${TOKEN_CANARY}`);
    expect(text).toContain("edited");
    const labels = (await suite.registry.client("ci").imageConfig("acme/dirty", tag)).config?.Labels ?? {};
    expect(labels).toMatchObject({ "dockyard.dirty": "true", "org.opencontainers.image.revision": g.head() });
  });

  it("--commit of an ancestor builds that commit's tree, not the checkout's", async () => {
    const g = gitFixture(COPY_ALL);
    const first = g.head();
    writeFileSync(join(g.dir, "hello.txt"), "v2\n");
    g.git("commit", "-qam", "v2");
    const pub = await publish(g.dir, {
      images: [`${suite.registry.host}/acme/older`],
      commit: first,
      ref: "refs/heads/main",
    });
    expect(pub.commit).toBe(first);
    const { text } = await imageFiles("acme/older", first.slice(0, 7));
    expect(text).toContain("v1\n");
    expect(text).not.toContain("v2\n");
  });

  it.each([
    {
      rule: "a commit on another branch",
      prepare: (g: ReturnType<typeof gitFixture>) => {
        g.git("checkout", "-q", "-b", "other");
        g.git("commit", "-q", "--allow-empty", "-m", "elsewhere");
        const other = g.head();
        g.git("checkout", "-q", "main");
        return other;
      },
    },
    { rule: "a commit the repository does not hold", prepare: () => "c".repeat(40) },
  ])("--commit not in HEAD's history is refused naming both commits: $rule", async ({ prepare }) => {
    const g = gitFixture(COPY_ALL);
    const given = prepare(g);
    const err = (await publish(g.dir, {
      images: [`${suite.registry.host}/acme/notours`],
      commit: given,
      ref: "main",
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`--commit "${given}" is not in the history of the source's HEAD ${g.head()}`);
    expect(err.message).toMatch(/GITHUB_SHA is the merge commit/);
    expect(count("Directory.dockerBuild")).toBe(0);
    expect(count("Container.publish")).toBe(0);
    expect(await suite.registry.client("ci").listTags("acme/notours")).toEqual([]);
  });

  it("a dirty check that cannot run fails closed; --allow-dirty is the way past it", async () => {
    const g = gitFixture(COPY_ALL);
    writeFileSync(join(g.dir, ".git/index"), "not an index");
    const err = (await publish(g.dir, { images: [`${suite.registry.host}/acme/closed`] }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/could not check the source for uncommitted changes \(.+\).*--allow-dirty/s);
    expect(count("Directory.dockerBuild")).toBe(0);
    expect(await suite.registry.client("ci").listTags("acme/closed")).toEqual([]);
    const pub = await publish(g.dir, { images: [`${suite.registry.host}/acme/closed`], allowDirty: true });
    // --allow-dirty compares the folder with the commit's tree itself, not through the broken index: it is the commit.
    expect(pub).toMatchObject({ pushed: true, dirty: false });
  });

  it("a source without .git builds the folder and trusts --commit and --ref", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dockyard-nogit-"));
    cpSync(COPY_ALL, dir, { recursive: true });
    const commit = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
    const pub = await publish(dir, { images: [`${suite.registry.host}/acme/nogit`], commit, ref: "refs/tags/v1.0.0" });
    expect(pub.tags).toEqual(["1a2b3c4", "1.0.0", "1.0", "1", "latest"]);
    expect((await imageFiles("acme/nogit", "1.0.0")).files).toEqual(["app/Dockerfile", "app/hello.txt"]);
  });

  it("a --source-url holding credentials is refused, masked, before anything builds", async () => {
    const g = gitFixture(COPY_ALL);
    const url = `https://gitlab-ci-token:${TOKEN_CANARY}@gitlab.example/acme/app.git`;
    const err = (await publish(g.dir, { images: [`${suite.registry.host}/acme/leak`], sourceUrl: url }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/--source-url "https:\/\/gitlab-ci-token:\*+@gitlab\.example\/acme\/app\.git"/);
    expect(err.message).toContain("https://gitlab.example/acme/app.git");
    expect(err.message).not.toContain(TOKEN_CANARY);
    expect(count("Directory.dockerBuild")).toBe(0);
    expect(await suite.registry.client("ci").listTags("acme/leak")).toEqual([]);
  });
});
