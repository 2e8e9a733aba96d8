// Rung 3 (engine double): tests of the double itself — protocol, IDs, journal, git, builds, publish, and a real SDK call.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FunctionCallError } from "./calls.js";
import { MemoryBackend } from "./memory-backend.js";
import { startEngineDouble, type EngineDouble } from "./server.js";

const ECHO = resolve(import.meta.dirname, "../fixtures/echo-module");
const PASSWORD = "s3cret-pw";

let double: EngineDouble;
let backend: MemoryBackend;
let work: string;

function git(dir: string, ...args: string[]): string {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@e",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@e",
  };
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", env }).trim();
}

/** A git checkout with a Dockerfile, one commit, an annotated and a lightweight tag. */
function makeRepo(name: string): { dir: string; first: string; second: string } {
  const dir = join(work, name);
  execFileSync("git", ["init", "-q", "-b", "main", dir]);
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
  writeFileSync(join(dir, ".gitignore"), "ignored.txt\n");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "one");
  const first = git(dir, "rev-parse", "HEAD");
  git(dir, "tag", "-a", "v1.0.0", "-m", "annotated");
  writeFileSync(join(dir, "app.txt"), "v2\n");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "two");
  const second = git(dir, "rev-parse", "HEAD");
  git(dir, "tag", "v1.1.0");
  git(dir, "tag", "other");
  return { dir, first, second };
}

/** Runs a query as the admin session; fails the test on any GraphQL error. */
async function data<T>(query: string): Promise<T> {
  const { status, body } = await double.query(query);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  expect(status).toBe(200);
  return body.data as T;
}

async function firstError(query: string): Promise<string> {
  const { body } = await double.query(query);
  return body.errors?.[0]?.message ?? "";
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "double-test-"));
  backend = new MemoryBackend({
    registries: { "reg.local:5000": { users: { ci: PASSWORD } }, "open.local:5001": {}, "docker.io": {} },
  });
  double = await startEngineDouble({ backend });
});

afterAll(async () => {
  await double.close();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => double.reset());

describe("protocol", () => {
  it.each([
    {
      name: "unmodelled field fails naming it",
      query: '{ container { withExec(args: ["x"]) { id } } }',
      // Without ../shared the fallback SDL lacks the field, and validation names it instead.
      want: /engine double: field Container\.withExec is not modelled|Cannot query field "withExec" on type "Container"/,
    },
    {
      name: "unmodelled Query field fails naming it",
      query: "{ defaultPlatform }",
      want: /engine double: field Query\.defaultPlatform is not modelled|Cannot query field "defaultPlatform" on type "Query"/,
    },
    {
      name: "field absent from the schema fails validation",
      query: "{ container { noSuchField } }",
      want: 'Cannot query field "noSuchField" on type "Container"',
    },
    {
      name: "missing required argument fails validation",
      query: '{ setSecret(name: "x") { id } }',
      want: 'argument "plaintext" of type "String!" is required',
    },
    { name: "unknown ID fails", query: '{ node(id: "dbl:Secret:999999") { id } }', want: "engine double: unknown ID" },
  ])("$name", async ({ query, want }) => {
    const message = await firstError(query);
    if (typeof want === "string") expect(message).toContain(want);
    else expect(message).toMatch(want);
  });

  it("answers validation failures with 422 and no data", async () => {
    const { status, body } = await double.query("{ container { noSuchField } }");
    expect(status).toBe(422);
    expect(body.data).toBeUndefined();
  });

  it.each([
    { name: "wrong token", token: "not-a-token", status: 401 },
    { name: "empty token", token: "", status: 401 },
  ])("rejects a $name with $status", async ({ token, status }) => {
    expect((await double.query("{ version }", token)).status).toBe(status);
  });

  it("rejects a token once its call is closed", async () => {
    const call = double.openCall({ moduleName: "m", parentName: "M", name: "f", parent: {}, inputArgs: {} });
    expect((await double.query("{ currentFunctionCall { name } }", call.token)).body.data).toEqual({
      currentFunctionCall: { name: "f" },
    });
    call.close();
    expect((await double.query("{ version }", call.token)).status).toBe(401);
  });

  it("mirrors the query's nesting in data", async () => {
    const got = await data<unknown>('{ setSecret(name: "n", plaintext: "p1234") { name } }');
    expect(got).toEqual({ setSecret: { name: "n" } });
  });
});

describe("IDs and journal", () => {
  it("round-trips an ID through node(id:) with an inline fragment", async () => {
    const { setSecret } = await data<{ setSecret: { id: string } }>(
      '{ setSecret(name: "tok", plaintext: "abc123") { id } }',
    );
    const got = await data<{ node: { name: string } }>(`{ node(id: "${setSecret.id}") { ... on Secret { name } } }`);
    expect(got.node.name).toBe("tok");
  });

  it("refuses node(id:) through a fragment on another type", async () => {
    const id = double.secret("tok", "abc123");
    expect(await firstError(`{ node(id: "${id}") { ... on Container { sync } } }`)).toContain(
      "node is a Secret, queried as Container",
    );
  });

  it("records calls in order with JSON args and never a plaintext", async () => {
    const dir = double.hostDirectory(ECHO);
    const { setSecret } = await data<{ setSecret: { id: string } }>(
      `{ setSecret(name: "pw", plaintext: "${PASSWORD}") { id } }`,
    );
    await double.query(
      `{ node(id: "${dir}") { ... on Directory { dockerBuild(secrets: ["${setSecret.id}"]) { withRegistryAuth(address: "reg.local:5000", username: "ci", secret: "${setSecret.id}") { id } } } } }`,
    );
    const fields = double.journal.map((j) => j.field);
    expect(fields).toEqual([
      "Query.setSecret",
      "Secret.id",
      "Query.node",
      "Directory.dockerBuild",
      "Container.withRegistryAuth",
      "Container.id",
    ]);
    expect(double.journal.map((j) => j.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(double.journal[0]?.args).toEqual({ name: "pw" });
    expect(JSON.stringify(double.journal)).not.toContain(PASSWORD);
  });
});

describe("git", () => {
  let repo: { dir: string; first: string; second: string };
  let id: string;
  beforeAll(() => {
    repo = makeRepo("git");
    id = double.hostDirectory(repo.dir);
  });
  const onGit = (sel: string): string => `{ node(id: "${id}") { ... on Directory { asGit { ${sel} } } } }`;
  type GitData<T> = { node: { asGit: T } };

  it("reads HEAD on a branch as refs/heads/<branch>", async () => {
    const got = await data<GitData<{ head: { ref: string; commit: string } }>>(onGit("head { ref commit }"));
    expect(got.node.asGit.head).toEqual({ ref: "refs/heads/main", commit: repo.second });
  });

  it.each([
    { tag: "v1.0.0", kind: "annotated (peeled)", want: () => repo.first },
    { tag: "v1.1.0", kind: "lightweight", want: () => repo.second },
  ])("resolves $kind tag $tag to its commit", async ({ tag, want }) => {
    const got = await data<GitData<{ tag: { commit: string; ref: string } }>>(
      onGit(`tag(name: "${tag}") { commit ref }`),
    );
    expect(got.node.asGit.tag).toEqual({ commit: want(), ref: `refs/tags/${tag}` });
  });

  it.each([
    { patterns: "[]", want: ["other", "v1.0.0", "v1.1.0"] },
    { patterns: '["v*"]', want: ["v1.0.0", "v1.1.0"] },
    { patterns: '["refs/tags/v1.1*"]', want: ["v1.1.0"] },
  ])("lists tags matching $patterns", async ({ patterns, want }) => {
    const got = await data<GitData<{ tags: string[] }>>(onGit(`tags(patterns: ${patterns})`));
    expect(got.node.asGit.tags).toEqual(want);
  });

  it("fails on an unknown tag", async () => {
    expect(await firstError(onGit('tag(name: "nope") { commit }'))).toContain('does not contain ref "nope"');
  });

  it("reports uncommitted changes, untracked non-ignored files as added", async () => {
    const clean = await data<GitData<{ uncommitted: { isEmpty: boolean } }>>(onGit("uncommitted { isEmpty }"));
    expect(clean.node.asGit.uncommitted.isEmpty).toBe(true);
    writeFileSync(join(repo.dir, "new.txt"), "x");
    writeFileSync(join(repo.dir, "ignored.txt"), "x");
    writeFileSync(join(repo.dir, "app.txt"), "changed");
    rmSync(join(repo.dir, "Dockerfile"));
    const got = await data<GitData<{ uncommitted: Record<string, unknown> }>>(
      onGit("uncommitted { isEmpty addedPaths modifiedPaths removedPaths }"),
    );
    expect(got.node.asGit.uncommitted).toEqual({
      isEmpty: false,
      addedPaths: ["new.txt"],
      modifiedPaths: ["app.txt"],
      removedPaths: ["Dockerfile"],
    });
    git(repo.dir, "checkout", "-q", "--", ".");
    rmSync(join(repo.dir, "new.txt"));
  });

  it("reads a detached HEAD as ref HEAD, as Dagger's ls-remote lookup does", async () => {
    const detached = makeRepo("detached");
    git(detached.dir, "checkout", "-q", "--detach", detached.first);
    const dir = double.hostDirectory(detached.dir);
    const got = await data<{ node: { asGit: { head: { ref: string; commit: string } } } }>(
      `{ node(id: "${dir}") { ... on Directory { asGit { head { ref commit } } } } }`,
    );
    expect(got.node.asGit.head).toEqual({ ref: "HEAD", commit: detached.first });
  });

  it("fails asGit on a folder without .git", async () => {
    const dir = double.hostDirectory(ECHO);
    expect(await firstError(`{ node(id: "${dir}") { ... on Directory { asGit { head { commit } } } } }`)).toContain(
      "not a git repository",
    );
  });
});

describe("builds and publish", () => {
  let ctx: string;
  beforeAll(() => {
    ctx = double.hostDirectory(makeRepo("build").dir);
  });
  const build = (args: string, tail: string): string =>
    `{ node(id: "${ctx}") { ... on Directory { dockerBuild${args} { ${tail} } } } }`;

  it("builds once per distinct request, like content-addressed caching", async () => {
    await data(build('(buildArgs: [{name: "A", value: "1"}])', "sync"));
    await data(build('(buildArgs: [{name: "A", value: "1"}])', "sync"));
    expect(double.builds).toBe(1);
    await data(build('(buildArgs: [{name: "A", value: "2"}])', "sync"));
    expect(double.builds).toBe(2);
  });

  it("does not build until something forces it", async () => {
    await data(build("", 'withLabel(name: "a", value: "b") { id }'));
    expect(double.builds).toBe(0);
  });

  it("publishes with the creds registered for the host and returns ref@digest", async () => {
    const pw = double.secret("pw", PASSWORD);
    const got = await data<{ node: { dockerBuild: { withLabel: { withRegistryAuth: { publish: string } } } } }>(
      build(
        "",
        `withLabel(name: "l", value: "v") { withRegistryAuth(address: "reg.local:5000/acme/app", username: "ci", secret: "${pw}") { publish(address: "reg.local:5000/acme/app:1a2b3c4") } }`,
      ),
    );
    expect(got.node.dockerBuild.withLabel.withRegistryAuth.publish).toMatch(
      /^reg\.local:5000\/acme\/app:1a2b3c4@sha256:[a-f0-9]{64}$/,
    );
    expect(double.publishes).toEqual([
      { address: "reg.local:5000/acme/app:1a2b3c4", host: "reg.local:5000", username: "ci", variants: 1 },
    ]);
    expect(backend.pushed.at(-1)?.manifest).toMatchObject({ labels: { l: "v" } });
  });

  it.each([
    { name: "wrong password", secret: "wrong", user: "ci" },
    { name: "unknown user", secret: PASSWORD, user: "eve" },
  ])("fails publish with a 401-like error on $name", async ({ secret, user }) => {
    const pw = double.secret("pw", secret);
    const msg = await firstError(
      build(
        "",
        `withRegistryAuth(address: "reg.local:5000", username: "${user}", secret: "${pw}") { publish(address: "reg.local:5000/acme/app:1") }`,
      ),
    );
    expect(msg).toContain("401 Unauthorized");
  });

  it("normalises Docker Hub aliases for credentials and the returned ref", async () => {
    const pw = double.secret("hub", "hub-token");
    const got = await data<{ node: { dockerBuild: { withRegistryAuth: { publish: string } } } }>(
      build(
        "",
        `withRegistryAuth(address: "index.docker.io", username: "me", secret: "${pw}") { publish(address: "acme/app:1") }`,
      ),
    );
    expect(got.node.dockerBuild.withRegistryAuth.publish).toMatch(/^docker\.io\/acme\/app:1@sha256:/);
    expect(double.publishes[0]).toMatchObject({ host: "docker.io", username: "me" });
  });

  it("publishes several platforms as one index through platformVariants", async () => {
    const ids = await data<{ a: { dockerBuild: { id: string } }; b: { dockerBuild: { id: string } } }>(
      `{ a: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/amd64") { id } } }
         b: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } } }`,
    );
    const variants = `["${ids.a.dockerBuild.id}", "${ids.b.dockerBuild.id}"]`;
    const got = await data<{ container: { publish: string } }>(
      `{ container { publish(address: "open.local:5001/acme/multi:1", platformVariants: ${variants}) } }`,
    );
    expect(got.container.publish).toMatch(/@sha256:/);
    expect(double.publishes[0]).toMatchObject({ variants: 2 });
    expect(double.publishes[0]?.username).toBeUndefined();
  });

  it("refuses an invalid reference before pushing", async () => {
    expect(await firstError(build("", 'publish(address: "reg.local:5000/Acme/app:1")'))).toContain("must be lowercase");
    expect(backend.pushed.filter((p) => p.repository === "Acme/app")).toEqual([]);
  });
});

describe("function calls through the real SDK entrypoint", () => {
  const echo = (args?: Record<string, unknown>) =>
    double.module({ dir: ECHO, name: "echo-module", ...(args ? { args } : {}) });

  it("runs the constructor, a chained call carrying state, then a function taking a Secret and a Directory", async () => {
    const token = double.secret("tok", "eight-ch");
    const dir = double.hostDirectory(ECHO);
    const got = await echo({ greeting: "hi" })
      .call("withGreeting", { greeting: "yo" })
      .call("describe", { token, dir })
      .result<string>();
    expect(got).toBe("yo tok:8 [src/,tsconfig.json]");
    expect(JSON.stringify(double.journal)).not.toContain("eight-ch");
    expect(double.journal.filter((j) => j.field === "FunctionCall.returnValue")).toHaveLength(3);
  });

  it("builds and publishes through the SDK's own query shapes", async () => {
    const repo = makeRepo("sdk-ship");
    const got = await echo({ greeting: "hey" })
      .call("ship", {
        dir: double.hostDirectory(repo.dir),
        address: "reg.local:5000/acme/echo:abc",
        username: "ci",
        password: double.secret("pw", PASSWORD),
      })
      .result<string>();
    expect(got).toMatch(/^reg\.local:5000\/acme\/echo:abc@sha256:[a-f0-9]{64}$/);
    expect(double.builds).toBe(1);
    expect(backend.builtRequests.at(-1)?.buildArgs).toEqual([{ name: "GREETING", value: "hey" }]);
    expect(JSON.stringify(double.journal)).not.toContain(PASSWORD);
  });

  it("reads git HEAD from a module function", async () => {
    const repo = makeRepo("sdk-head");
    const got = await echo()
      .call("head", { dir: double.hostDirectory(repo.dir) })
      .result<string>();
    expect(got).toBe(`refs/heads/main ${repo.second}`);
  });

  it("rejects with the module's error message", async () => {
    const err = await echo()
      .call("fail", { message: "boom: bad input" })
      .result()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionCallError);
    expect((err as FunctionCallError).message).toBe("boom: bad input");
    expect(double.journal.some((j) => j.field === "FunctionCall.returnError")).toBe(true);
  });
});

describe("fallback schema", () => {
  it("serves the modelled subset from our own SDL when the Dagger schema is absent", async () => {
    const other = await startEngineDouble({ backend: new MemoryBackend(), schemaPath: join(work, "absent.graphqls") });
    try {
      const id = other.secret("tok", "abc123");
      expect((await other.query(`{ node(id: "${id}") { ... on Secret { name } } }`)).body.data).toEqual({
        node: { name: "tok" },
      });
      expect((await other.query("{ defaultPlatform }")).status).toBe(422);
      const repo = makeRepo("fallback");
      const got = await other
        .module({ dir: ECHO, name: "echo-module" })
        .call("head", { dir: other.hostDirectory(repo.dir) })
        .result<string>();
      expect(got).toBe(`refs/heads/main ${repo.second}`);
    } finally {
      await other.close();
    }
  });
});
