// Rung 3 (engine double): every dockyard function through the real SDK and the `dagger call` protocol, on the
// in-memory backend (no real push needed here; the docker-backed suite proves pushes in publish.test.ts).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { MemoryBackend } from "../engine/memory-backend.js";
import { startEngineDouble, type EngineDouble } from "../engine/server.js";
import { gitFixture, HELLO } from "./setup.js";

const REG = "reg.local:5000";
const COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";

let double: EngineDouble;
let backend: MemoryBackend;

beforeAll(async () => {
  backend = new MemoryBackend({ registries: { [REG]: { users: { ci: "pw" } } } });
  double = await startEngineDouble({ backend });
});
afterAll(async () => double?.close());
beforeEach(() => double.reset());

const fields = () => double.journal.map((e) => e.field);
const on = (dir: string) => double.module({ args: { source: double.hostDirectory(dir) } });

describe("tags from the .git inside source", () => {
  it.each([
    {
      rule: "HEAD on a branch: the branch",
      prepare: () => gitFixture(),
      want: (sha: string) => [sha, "main"],
    },
    {
      rule: "HEAD on a feature branch: its slug",
      prepare: () => {
        const g = gitFixture();
        g.git("checkout", "-q", "-b", "Feature/Login");
        return g;
      },
      want: (sha: string) => [sha, "feature-login"],
    },
    {
      rule: "detached HEAD: every tag at the commit, semver first",
      prepare: () => {
        const g = gitFixture();
        g.git("tag", "nightly");
        g.git("tag", "-a", "v2.1.0", "-m", "release");
        g.git("commit", "-q", "--allow-empty", "-m", "later");
        g.git("tag", "v9.9.9");
        g.git("checkout", "-q", "--detach", "v2.1.0");
        return g;
      },
      want: (sha: string) => [sha, "2.1.0", "2.1", "2", "tag-nightly", "latest"],
    },
    {
      rule: "detached HEAD without tags: only the sha tag",
      prepare: () => {
        const g = gitFixture();
        g.git("checkout", "-q", "--detach", "HEAD");
        return g;
      },
      want: (sha: string) => [sha],
    },
  ])("$rule", async ({ prepare, want }) => {
    const g = prepare();
    const tags = await on(g.dir).call("tags").result<string[]>();
    expect(tags).toEqual(want(g.head().slice(0, 7)));
  });

  it("an explicit ref wins over .git; the commit still comes from HEAD", async () => {
    const g = gitFixture();
    const tags = await on(g.dir).call("tags", { ref: "refs/pull/3/head" }).result<string[]>();
    expect(tags).toEqual([g.head().slice(0, 7), "pr-3"]);
  });

  it("with commit and ref given it makes no engine call", async () => {
    // No constructor step either: `source` is never loaded, so any engine call would fail or show in the journal.
    const tags = await double.module().call("tags", { commit: COMMIT, ref: "refs/tags/v1.0.0" }).result<string[]>();
    expect(tags).toEqual(["1a2b3c4", "1.0.0", "1.0", "1", "latest"]);
    const protocol =
      /^(Query\.(currentModule|currentFunctionCall|node)|FunctionCall\.|FunctionCallArgValue\.|CurrentModule\.)/;
    expect(fields().filter((f) => !protocol.test(f))).toEqual([]);
  });

  it("no .git and no --commit: a clear error saying how to pass them", async () => {
    await expect(on(HELLO).call("tags").result()).rejects.toThrow(
      /no commit to tag the image with: the source has no \.git folder; pass --commit and --ref \(GitHub Actions: --commit "\$GITHUB_SHA"/,
    );
  });

  it("no --source: tags with --commit and --ref still works; a build says to pass --source=.", async () => {
    expect(await double.module().call("tags", { commit: COMMIT, ref: "main" }).result<string[]>()).toEqual([
      "1a2b3c4",
      "main",
    ]);
    await expect(double.module().call("tags", { ref: "main" }).result()).rejects.toThrow(
      /no --source was given; pass --source=\./,
    );
    await expect(double.module().call("build", { commit: COMMIT, ref: "main" }).result()).rejects.toThrow(
      /no source to build: pass --source=\./,
    );
    expect(fields()).not.toContain("Directory.dockerBuild");
  });
});

describe("metadata", () => {
  it("returns the Metadata object with every field", async () => {
    const g = gitFixture();
    writeFileSync(join(g.dir, "untracked.txt"), "x");
    const m = await on(g.dir)
      .call("metadata", { ref: "refs/tags/v3.0.0-rc.1", sourceUrl: "https://git.example/a" }, { returns: "Metadata" })
      .result<Record<string, unknown>>();
    const commit = g.head();
    expect(m).toEqual({
      commit,
      shortSha: commit.slice(0, 7),
      ref: "refs/tags/v3.0.0-rc.1",
      branch: "",
      gitTag: "v3.0.0-rc.1",
      pullRequest: 0,
      version: "3.0.0-rc.1",
      dirty: true,
      tags: [commit.slice(0, 7), "3.0.0-rc.1"],
      labels: [
        `org.opencontainers.image.revision=${commit}`,
        "org.opencontainers.image.version=3.0.0-rc.1",
        "org.opencontainers.image.source=https://git.example/a",
        "dockyard.dirty=true",
      ],
    });
  });
});

describe("build", () => {
  it("builds the Dockerfile with args, target and platform, then applies the OCI labels", async () => {
    const id = await on(HELLO)
      .call("build", {
        commit: COMMIT,
        ref: "main",
        buildArgs: ["GREETING=hi"],
        target: "runtime",
        platform: "linux/arm64",
        labels: ["team=core"],
      })
      .result<string>();
    expect(id).toMatch(/Container/);
    const build = double.journal.find((e) => e.field === "Directory.dockerBuild");
    expect(build?.args).toMatchObject({
      dockerfile: "Dockerfile",
      target: "runtime",
      platform: "linux/arm64",
      buildArgs: [{ name: "GREETING", value: "hi" }],
    });
    const labels = double.journal.filter((e) => e.field === "Container.withLabel").map((e) => e.args);
    expect(labels).toEqual([
      { name: "org.opencontainers.image.revision", value: COMMIT },
      { name: "org.opencontainers.image.version", value: "main" },
      { name: "team", value: "core" },
    ]);
  });

  it("a Dockerfile missing from the context is named before anything builds", async () => {
    await expect(
      on(HELLO).call("build", { commit: COMMIT, ref: "main", dockerfile: "web.Dockerfile" }).result(),
    ).rejects.toThrow(/--dockerfile "web.Dockerfile": not found in --context "\."/);
    expect(fields()).not.toContain("Directory.dockerBuild");
  });

  it("a Dockerfile symlink leaving the source is named before anything builds (the engine sees only the upload)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dockyard-symlink-"));
    writeFileSync(join(dir, "host-only.Dockerfile"), "FROM scratch\n");
    const source = mkdtempSync(join(tmpdir(), "dockyard-source-"));
    symlinkSync(join(dir, "host-only.Dockerfile"), join(source, "Dockerfile"));
    await expect(on(source).call("build", { commit: COMMIT, ref: "main" }).result()).rejects.toThrow(
      /--dockerfile "Dockerfile": is a symlink whose target is missing or outside --context "\."/,
    );
    expect(fields()).not.toContain("Directory.dockerBuild");
  });
});

describe("bad input builds and pushes nothing", () => {
  it.each([
    {
      what: "uppercase image",
      args: { images: [`${REG}/Acme/App`] },
      match: /--images ".*": repository must be lowercase/,
    },
    { what: "image with a tag", args: { images: [`${REG}/app:1`] }, match: /--images ".*": must not carry a tag/ },
    { what: "no images", args: { images: [] }, match: /--images "": give at least one image name/ },
    {
      what: "bad user tag",
      args: { images: [`${REG}/app`], tags: ["a/b"] },
      match: /--tags "a\/b": is not a valid image tag/,
    },
    { what: "build arg without =", args: { images: [`${REG}/app`], buildArgs: ["X"] }, match: /--build-args "X"/ },
    { what: "shaLength 3", args: { images: [`${REG}/app`], shaLength: 3 }, match: /--sha-length "3"/ },
    {
      what: "shaLength longer than the given commit",
      args: { images: [`${REG}/app`], shaLength: 41 },
      match: /--sha-length "41"/,
    },
    { what: "latest maybe", args: { images: [`${REG}/app`], latest: "maybe" }, match: /Latest|latest/ },
    { what: "commit not hex", args: { images: [`${REG}/app`], commit: "xyz" }, match: /--commit "xyz"/ },
    { what: "bad platform", args: { images: [`${REG}/app`], platforms: ["arm64"] }, match: /--platforms "arm64"/ },
    {
      what: "platform alias",
      args: { images: [`${REG}/app`], platforms: ["linux/x86_64"] },
      match: /try "linux\/amd64"/,
    },
    { what: "username alone", args: { images: [`${REG}/app`], username: "ci" }, match: /also pass --password/ },
    { what: "retries 11", args: { images: [`${REG}/app`], retries: 11 }, match: /--retries "11"/ },
    { what: "push timeout 0", args: { images: [`${REG}/app`], pushTimeout: 0 }, match: /--push-timeout "0"/ },
    {
      what: "source URL with a token",
      args: {
        images: [`${REG}/app`],
        sourceUrl: "https://gitlab-ci-token:glcbt-64_s3cr3t@gitlab.example/acme/app.git",
      },
      match: /--source-url "https:\/\/gitlab-ci-token:\*+@gitlab\.example\/acme\/app\.git": holds credentials/,
    },
    { what: "impossible date", args: { images: [`${REG}/app`], created: "2026-02-30T00:00:00Z" }, match: /--created/ },
    { what: "label key", args: { images: [`${REG}/app`], labels: ["Bad Key=x"] }, match: /--labels "Bad Key=x"/ },
    {
      what: "context leaving the source",
      args: { images: [`${REG}/app`], context: "../x" },
      match: /--context "\.\.\/x"/,
    },
    {
      what: "pull request 0",
      args: { images: [`${REG}/app`], ref: "refs/pull/0/merge" },
      match: /--ref "refs\/pull\/0\/merge"/,
    },
    { what: "stage name", args: { images: [`${REG}/app`], target: "1st" }, match: /--target "1st"/ },
  ])("$what", async ({ args, match }) => {
    const err = (await on(HELLO)
      .call("publish", { commit: COMMIT, ref: "main", ...args })
      .result()
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(match);
    expect(err.message).not.toContain("s3cr3t");
    // Refused before the first engine call: not even the source is looked at.
    expect(fields().filter((f) => /^(Directory|GitRepository|GitRef|Container|File)\.(?!id$)/.test(f))).toEqual([]);
    expect(fields()).not.toContain("Directory.dockerBuild");
    expect(fields()).not.toContain("Container.publish");
    expect(backend.pushed).toHaveLength(0);
  });
});

describe("build secrets", () => {
  it("a secret already named by its id is passed as it came: its plaintext is never read", async () => {
    const secret = double.secret("npmrc", "token-1");
    await on(HELLO)
      .call("withBuildSecret", { id: "npmrc", secret })
      .call("build", { commit: COMMIT, ref: "main" })
      .result();
    expect(fields()).not.toContain("Secret.plaintext");
    expect(fields()).not.toContain("Query.setSecret");
    expect(double.journal.find((e) => e.field === "Directory.dockerBuild")?.args.secrets).toEqual([secret]);
  });

  it("a secret named otherwise is handed to the build under its id", async () => {
    await on(HELLO)
      .call("withBuildSecret", { id: "npmrc", secret: double.secret("b1946ac92492d2347c6235b4d2611184", "token-2") })
      .call("build", { commit: COMMIT, ref: "main" })
      .result();
    expect(double.journal.find((e) => e.field === "Query.setSecret")?.args).toMatchObject({ name: "npmrc" });
    expect(JSON.stringify(double.journal)).not.toContain("token-2");
  });

  it("an invalid id is refused", async () => {
    await expect(
      on(HELLO)
        .call("withBuildSecret", { id: "../x", secret: double.secret("s", "v") })
        .result(),
    ).rejects.toThrow(/--id "\.\.\/x"/);
  });
});

describe("publish on the memory backend", () => {
  it("username and password apply to every image host; withRegistryAuth wins for its host", async () => {
    const b = new MemoryBackend({
      registries: { [REG]: { users: { ci: "pw" } }, "other.local": { users: { x: "y" } } },
    });
    const d = await startEngineDouble({ backend: b });
    try {
      const refs = await d
        .module({ args: { source: d.hostDirectory(HELLO) } })
        .call("withRegistryAuth", { address: "other.local", username: "x", password: d.secret("o", "y") })
        .call("publish", {
          images: [`${REG}/app`, "other.local/app"],
          username: "ci",
          password: d.secret("p", "pw"),
          commit: COMMIT,
          ref: "main",
        })
        .result<{ refs: string[] }>()
        .then((p) => p.refs);
      expect(refs.map((r) => r.split("@")[0])).toEqual([
        `${REG}/app:1a2b3c4`,
        `${REG}/app:main`,
        "other.local/app:1a2b3c4",
        "other.local/app:main",
      ]);
      expect(Object.fromEntries(d.publishes.map((p) => [p.host, p.username]))).toEqual({
        [REG]: "ci",
        "other.local": "x",
      });
    } finally {
      await d.close();
    }
  });
});

/** A clean SHA-256 repository holding HELLO. */
function sha256Repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "dockyard-sha256-"));
  cpSync(HELLO, dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" });
  git("init", "-q", "--object-format=sha256", "-b", "main");
  git("add", "-A");
  git("-c", "user.email=ci@dockyard.test", "-c", "user.name=ci", "commit", "-q", "-m", "hello");
  return dir;
}

describe("a dry run plans what the real run does; --allow-dirty says dirty unless the folder is the commit", () => {
  type Outcome = { dirty: boolean } | { refused: RegExp };
  const withFile = (g: ReturnType<typeof gitFixture>, path: string, text: string) => {
    mkdirSync(join(g.dir, path, ".."), { recursive: true });
    writeFileSync(join(g.dir, path), text);
  };
  const rows: { rule: string; prepare: () => { dir: string; args?: Record<string, unknown> }; want: Outcome }[] = [
    { rule: "a clean checkout", prepare: () => gitFixture(), want: { dirty: false } },
    {
      rule: "a clean checkout, --allow-dirty: provably the commit",
      prepare: () => ({ dir: gitFixture().dir, args: { allowDirty: true } }),
      want: { dirty: false },
    },
    {
      rule: "git-ignored files (a token in .env, dist/), --allow-dirty: they are built, so dirty",
      prepare: () => {
        const g = gitFixture();
        writeFileSync(join(g.dir, ".gitignore"), "*.log\n.env\ndist/\n");
        g.git("commit", "-qam", "ignore .env and dist");
        withFile(g, ".env", "TOKEN=canary\n");
        withFile(g, "dist/app.js", "built\n");
        return { dir: g.dir, args: { allowDirty: true } };
      },
      want: { dirty: true },
    },
    {
      rule: "an untracked file: refused, dry run too",
      prepare: () => {
        const g = gitFixture();
        withFile(g, "new.txt", "x\n");
        return g;
      },
      want: { refused: /source has uncommitted changes \("new.txt"\)/ },
    },
    {
      rule: "a modified file, --allow-dirty: dirty, dry run too",
      prepare: () => {
        const g = gitFixture();
        withFile(g, "Dockerfile", "FROM scratch\nLABEL edited=1\n");
        return { dir: g.dir, args: { allowDirty: true } };
      },
      want: { dirty: true },
    },
    {
      rule: "a git worktree (.git is a file the engine cannot follow), --allow-dirty --commit --ref: dirty",
      prepare: () => {
        const g = gitFixture();
        const wt = join(mkdtempSync(join(tmpdir(), "dockyard-wt-")), "wt");
        g.git("worktree", "add", "-q", "-b", "wt", wt);
        writeFileSync(join(wt, "README.md"), "uncommitted\n");
        return { dir: wt, args: { allowDirty: true, commit: g.head(), ref: "refs/heads/wt" } };
      },
      want: { dirty: true },
    },
    {
      rule: "a nested clone's .git, --allow-dirty: never in the context, the clone's files make it dirty",
      prepare: () => {
        const g = gitFixture();
        const lib = gitFixture();
        mkdirSync(join(g.dir, "third_party"));
        lib.git("clone", "-q", lib.dir, join(g.dir, "third_party/lib"));
        return { dir: g.dir, args: { allowDirty: true } };
      },
      want: { dirty: true },
    },
    {
      rule: "a SHA-256 repository: refused, named as such",
      prepare: () => ({ dir: sha256Repo() }),
      want: { refused: /SHA-256 repository, which Dagger v0\.21 cannot read/ },
    },
    {
      rule: "a SHA-256 repository, --allow-dirty --commit --ref: built as it is, dirty",
      prepare: () => ({ dir: sha256Repo(), args: { allowDirty: true, commit: COMMIT, ref: "refs/heads/main" } }),
      want: { dirty: true },
    },
    {
      rule: "a Dockerfile missing from the context: refused, dry run too",
      prepare: () => ({ dir: gitFixture().dir, args: { dockerfile: "Missing.Dockerfile" } }),
      want: { refused: /Missing\.Dockerfile/ },
    },
  ];
  // Every row runs for real; the rows a dry run once got wrong run as a dry run too.
  const dryRunToo = /refused|modified/;
  it.each(
    rows.flatMap((row) => [false, ...(dryRunToo.test(row.rule) ? [true] : [])].map((dryRun) => ({ ...row, dryRun }))),
  )("$rule (dry run: $dryRun)", async ({ prepare, want, dryRun }) => {
    const { dir, args } = prepare();
    const run = on(dir)
      .call("publish", {
        images: [`${REG}/app`],
        username: "ci",
        password: double.secret("p", "pw"),
        dryRun,
        ...args,
      })
      .result<{ dirty: boolean; built: boolean; pushed: boolean }>();
    if ("refused" in want) {
      await expect(run).rejects.toThrow(want.refused);
      expect(fields()).not.toContain("Directory.dockerBuild");
      return;
    }
    expect(await run).toMatchObject({ dirty: want.dirty, built: !dryRun, pushed: !dryRun });
    expect(fields().includes("Directory.dockerBuild")).toBe(!dryRun);
  });
});
