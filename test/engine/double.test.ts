// Rung 3 (engine double): tests of the double itself — protocol, IDs, journal, git, builds, publish, and a real SDK call.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RegistryCredential } from "./backend.js";
import {
  BASE_IMAGE,
  dockerAvailable,
  ensureBaseImage,
  ensureBaseImages,
  ensureDockerEngine,
  ensureScannerImage,
  SCANNER_IMAGE,
} from "../infra/docker.js";
import { match, startFaultProxy, type FaultProxy } from "../infra/fault-proxy.js";
import { startRegistry, type Registry } from "../infra/registry.js";
import { digestRead, skopeo } from "../infra/skopeo.js";
import { FunctionCallError, RUNTIME_NODE_VERSION } from "./calls.js";
import { DockerBackend } from "./docker-backend.js";
import { MemoryBackend } from "./memory-backend.js";
import { authHost } from "./refs.js";
import { startEngineDouble, type EngineDouble } from "./server.js";
import { cliSecret } from "./state.js";

const REPO_ROOT_DIR = resolve(dirname(new URL(import.meta.url).pathname), "../..");

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
      query: '{ container { withEnvVariable(name: "A", value: "b") { id } } }',
      want: /engine double: field Container\.withEnvVariable is not modelled/,
    },
    {
      name: "unmodelled Query field fails naming it",
      query: "{ defaultPlatform }",
      want: /engine double: field Query\.defaultPlatform is not modelled/,
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

  it("answers version as the pinned engine release (R16)", async () => {
    expect(await data<{ version: string }>("{ version }")).toEqual({ version: "v0.21.9" });
  });

  it("refuses GitRepository.branches: dockyard does not use it, so it is not modelled", async () => {
    const repo = double.hostDirectory(makeRepo("branches").dir);
    expect(await firstError(`{ node(id: "${repo}") { ... on Directory { asGit { branches } } } }`)).toMatch(
      /engine double: field GitRepository\.branches is not modelled/,
    );
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
    // dockerBuild reads the Dockerfile when it is asked (core/container.go:5069-5105), so the folder needs one.
    const dir = double.hostDirectory(makeRepo("journal").dir);
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
    expect(await firstError(onGit('tag(name: "nope") { commit }'))).toBe(
      'repository does not contain ref "refs/tags/nope"',
    );
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
      {
        address: "reg.local:5000/acme/app:1a2b3c4",
        host: "reg.local:5000",
        username: "ci",
        credentialFrom: "session",
        variants: 1,
      },
    ]);
    expect(backend.pushed.at(-1)?.labels).toEqual([{ l: "v" }]);
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

  it("R28 withAnnotation builds nothing; publish writes each container's on its manifest and index descriptor, none on the index", async () => {
    type Annotated = { withAnnotation: { withAnnotation: { withAnnotation: { id: string } } } };
    const ids = await data<{ a: { dockerBuild: Annotated }; b: { dockerBuild: { id: string } } }>(
      `{ a: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/amd64") { withAnnotation(name: "k", value: "old") { withAnnotation(name: "k", value: "new") { withAnnotation(name: "only.amd64", value: "1") { id } } } } } }
         b: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } } }`,
    );
    expect(double.builds).toBe(0);
    const amd64 = ids.a.dockerBuild.withAnnotation.withAnnotation.withAnnotation.id;
    const variants = `["${amd64}", "${ids.b.dockerBuild.id}"]`;
    const got = await data<{ container: { publish: string } }>(
      `{ container { publish(address: "open.local:5001/acme/annotated:1", platformVariants: ${variants}) } }`,
    );
    const index = backend.pushed.at(-1)?.manifest as {
      annotations?: unknown;
      manifests: { digest: string; annotations?: Record<string, string>; platform: { architecture: string } }[];
    };
    expect(index.annotations).toBeUndefined();
    // A later value of one name wins, as the export's map does; a container without any gets none.
    expect(index.manifests.map((m) => [m.platform.architecture, m.annotations])).toEqual([
      ["amd64", { k: "new", "only.amd64": "1" }],
      ["arm64", undefined],
    ]);
    const registry = backend.registry("open.local:5001");
    const child = (digest: string) =>
      JSON.parse(registry.manifest("acme/annotated", digest)!.bytes.toString("utf8")) as { annotations?: unknown };
    expect(child(index.manifests[0]!.digest).annotations).toEqual({ k: "new", "only.amd64": "1" });
    expect(child(index.manifests[1]!.digest).annotations).toBeUndefined();
    expect(got.container.publish).toMatch(/@sha256:/);
  });

  it("publish of a container with no filesystem and no variants fails as Dagger does (R11)", async () => {
    expect(await firstError('{ container { publish(address: "open.local:5001/acme/empty:1") } }')).toBe(
      "no containers to export",
    );
  });

  it("publish of two variants of one platform fails naming it (R11)", async () => {
    const ids = await data<{ a: { dockerBuild: { id: string } }; b: { dockerBuild: { id: string } } }>(
      `{ a: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } }
         b: node(id: "${ctx}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } } }`,
    );
    const variants = `["${ids.a.dockerBuild.id}", "${ids.b.dockerBuild.id}"]`;
    expect(
      await firstError(
        `{ container { publish(address: "open.local:5001/acme/dup:1", platformVariants: ${variants}) } }`,
      ),
    ).toBe('duplicate platform "linux/arm64"');
    expect(double.publishes).toEqual([]);
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
    expect(got).toBe("yo tok:8 [package.json,src/,tsconfig.json]");
    expect(JSON.stringify(double.journal)).not.toContain("eight-ch");
    expect(double.journal.filter((j) => j.field === "FunctionCall.returnValue")).toHaveLength(3);
  });

  it("runs the module on the runtime's Node 24.13.1 with NODE_OPTIONS=--use-openssl-ca (L8)", async () => {
    expect(await echo().call("runtime").result<string>()).toBe(`${RUNTIME_NODE_VERSION} --use-openssl-ca`);
  });

  it("sends every registered default the caller left out, as the engine does (R13b)", async () => {
    // The constructor's greeting = "hello" is not given: the engine sends its registered default, "\"hello\"".
    expect(await echo({}).call("withGreeting", { greeting: "yo" }).result<{ greeting: string }>()).toEqual({
      greeting: "yo",
    });
    const sent = double.journal.filter((j) => j.field === "FunctionCallArgValue.value");
    expect(sent).toHaveLength(2);
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

describe("R27 the module's container reaches the backend's registries by name (core/container_exec.go:341-371)", () => {
  const echo = () => double.module({ dir: ECHO, name: "echo-module" });
  let digest: string;
  beforeAll(async () => {
    const ctx = double.hostDirectory(makeRepo("network").dir);
    const got = await data<{ node: { dockerBuild: { withLabel: { publish: string } } } }>(
      `{ node(id: "${ctx}") { ... on Directory { dockerBuild { withLabel(name: "l", value: "v") { publish(address: "open.local:5001/acme/app:t1") } } } } }`,
    );
    digest = got.node.dockerBuild.withLabel.publish.split("@")[1] ?? "";
  });

  it.each([
    { url: "https://open.local:5001/v2/acme/app/tags/list", want: '200 {"name":"acme/app","tags":["t1"]}' },
    { url: "https://registry-1.docker.io/v2/", want: "200 {}" },
    { url: "https://reg.local:5000/v2/", want: /^401 .*"UNAUTHORIZED"/ },
    { url: "https://open.local:5001/v2/acme/none/manifests/t1", want: /^404 .*"NAME_UNKNOWN"/ },
    { url: "https://ghcr.io/v2/", want: "fetch failed: getaddrinfo ENOTFOUND ghcr.io" },
  ])("GET $url from the module answers $want", async ({ url, want }) => {
    const got = await echo().call("get", { url }).result<string>();
    if (typeof want === "string") expect(got).toBe(want);
    else expect(got).toMatch(want);
  });

  it("serves the pushed bytes: the manifest hashes to publish's digest and its config holds the labels", async () => {
    const manifest = await echo()
      .call("get", { url: `https://open.local:5001/v2/acme/app/manifests/${digest}` })
      .result<string>();
    expect(manifest.startsWith("200 ")).toBe(true);
    const body = manifest.slice(4);
    expect(`sha256:${createHash("sha256").update(body).digest("hex")}`).toBe(digest);
    const config = (JSON.parse(body) as { config: { digest: string } }).config.digest;
    const blob = await echo()
      .call("get", { url: `https://open.local:5001/v2/acme/app/blobs/${config}` })
      .result<string>();
    expect(JSON.parse(blob.slice(4))).toMatchObject({ os: "linux", config: { Labels: { l: "v" } } });
  });

  it("is read by skopeo as a registry: the same manifest bytes", async () => {
    const address = (await double.moduleNetwork())["open.local:5001"] ?? "";
    const raw = await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${address}/acme/app:t1`);
    expect(`sha256:${createHash("sha256").update(raw).digest("hex")}`).toBe(digest);
  });
});

describe("R24 a served module: its types in the session's schema, each call cached by its policy (core/modfunc.go:124-139)", () => {
  const modules = [{ dir: ECHO, name: "echo-module" }];

  async function ask<T>(
    session: { query(q: string): Promise<{ body: { data?: unknown; errors?: unknown } }> },
    q: string,
  ) {
    const { body } = await session.query(q);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data as T;
  }

  it("serves the module's types as the engine names them (core/gqlformat.go:36-61) and refuses what it lacks", async () => {
    const session = await double.session({ modules });
    const got = await ask<{ echoModule: { withGreeting: { greeting: string; id: string } } }>(
      session,
      `{ echoModule(greeting: "hi") { withGreeting(greeting: "yo") { greeting id } } }`,
    );
    expect(got.echoModule.withGreeting.greeting).toBe("yo");
    const node = await ask<{ node: { __typename: string; greeting: string } }>(
      session,
      `{ node(id: "${got.echoModule.withGreeting.id}") { __typename ... on EchoModule { greeting } } }`,
    );
    expect(node.node).toEqual({ __typename: "EchoModule", greeting: "yo" });
    // The admin session serves no module; an unknown argument fails validation as in the engine.
    expect((await double.query(`{ echoModule { greeting } }`)).status).toBe(422);
    expect((await session.query(`{ echoModule { stamp(label: "x", nope: 1) } }`)).status).toBe(422);
  });

  it("reads a field of a returned object without running a function", async () => {
    const session = await double.session({ modules });
    await ask(session, `{ echoModule { withGreeting(greeting: "a") { greeting } } }`);
    await ask(session, `{ echoModule { withGreeting(greeting: "a") { id } } }`);
    // Constructor and withGreeting ran once each; the second query was answered from the cache.
    expect(double.functionRuns.map((r) => [r.name, r.ran])).toEqual([
      ["", true],
      ["withGreeting", true],
      ["", false],
      ["withGreeting", false],
    ]);
  });

  it.each([
    // function, policy, runs for: twice in one session, then once in a new session
    ["stamp", "Default", [true, false, false]],
    ["sessionStamp", "PerSession", [true, false, true]],
    ["callStamp", "Never", [true, true, true]],
  ])("%s (%s): runs %j", async (fn, policy, want) => {
    const first = await double.session({ modules });
    const second = await double.session({ modules });
    const q = `{ echoModule { ${fn}(label: "l") } }`;
    const values = [
      await ask<{ echoModule: Record<string, string> }>(first, q),
      await ask<{ echoModule: Record<string, string> }>(first, q),
      await ask<{ echoModule: Record<string, string> }>(second, q),
    ].map((d) => d.echoModule[fn]);
    const runs = double.functionRuns.filter((r) => r.name === fn);
    expect(runs.map((r) => r.policy)).toEqual([policy, policy, policy]);
    expect(runs.map((r) => r.ran)).toEqual(want);
    // A cached answer is the first run's value; a run makes a new one.
    expect(values.map((v, i) => (i === 0 ? true : v !== values[i - 1]))).toEqual([true, ...want.slice(1)]);
  });

  it("shares one run between identical calls in flight, and keeps no failure", async () => {
    const session = await double.session({ modules });
    const q = `{ echoModule { sessionStamp(label: "same") } }`;
    const [a, b] = await Promise.all([ask<unknown>(session, q), ask<unknown>(session, q)]);
    expect(a).toEqual(b);
    expect(double.functionRuns.filter((r) => r.name === "sessionStamp").map((r) => r.ran)).toEqual([true, false]);
    const fail = `{ echoModule { fail(message: "boom") } }`;
    expect((await session.query(fail)).body.errors?.[0]?.message).toBe("boom");
    expect((await session.query(fail)).body.errors?.[0]?.message).toBe("boom");
    expect(double.functionRuns.filter((r) => r.name === "fail").map((r) => r.ran)).toEqual([true, true]);
  });
});

describe("schema", () => {
  it("refuses to start without the schema it was given, naming it", async () => {
    const absent = join(work, "absent.graphqls");
    await expect(startEngineDouble({ backend: new MemoryBackend(), schemaPath: absent })).rejects.toThrow(absent);
  });
});

// ---- Conformance with Dagger v0.21.8: one block per row of test/engine/CONFORMANCE.md (row ids in the titles) ----

/** `{ node(id) { ... on Directory { <sel> } } }` for a host folder. */
const onDir = (id: string, sel: string): string => `{ node(id: "${id}") { ... on Directory { ${sel} } } }`;

/** A folder of files (path -> text; a value of { link } makes a symlink). */
function folder(name: string, files: Record<string, string | { link: string }>): string {
  const dir = join(work, name);
  for (const [path, v] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    if (typeof v === "string") writeFileSync(join(dir, path), v);
    else symlinkSync(v.link, join(dir, path));
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("R3 registry auth is session-wide (core/schema/container.go:3999-4028, auth/registry.go)", () => {
  let ctx: string;
  beforeAll(() => {
    ctx = double.hostDirectory(makeRepo("auth").dir);
  });
  const built = async (): Promise<string> =>
    (await data<{ node: { dockerBuild: { id: string } } }>(onDir(ctx, "dockerBuild { id }"))).node.dockerBuild.id;
  const withAuth = (ctr: string, user: string, secret: string, tail: string) =>
    `{ node(id: "${ctr}") { ... on Container { withRegistryAuth(address: "reg.local:5000", username: "${user}", secret: "${secret}") { ${tail} } } } }`;

  it("returns the parent container itself", async () => {
    const a = await built();
    const got = await data<{ node: { withRegistryAuth: { id: string } } }>(
      withAuth(a, "ci", double.secret("p", PASSWORD), "id"),
    );
    expect(got.node.withRegistryAuth.id).toBe(a);
  });

  it("last write wins for every container of the session; a repeated identical call adds nothing", async () => {
    const a = await built();
    const b = await built();
    const good = double.secret("good", PASSWORD);
    const bad = double.secret("bad", "not-it");
    await data(withAuth(a, "ci", good, "id"));
    await data(withAuth(b, "eve", bad, "id"));
    // a's own credential was overwritten by b's; repeating a's call is a cache hit in Dagger.
    const msg = await firstError(withAuth(a, "ci", good, 'publish(address: "reg.local:5000/acme/auth:1")'));
    expect(msg).toContain("401 Unauthorized");
    expect(double.publishes).toEqual([]);
  });

  it("reset() forgets the session's credentials", async () => {
    const a = await built();
    await data(withAuth(a, "ci", double.secret("p", PASSWORD), "id"));
    double.reset();
    const msg = await firstError(
      `{ node(id: "${a}") { ... on Container { publish(address: "reg.local:5000/acme/auth:2") } } }`,
    );
    expect(msg).toBe(
      "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
    );
  });

  it.each<{ config: Record<string, RegistryCredential>; from?: string; user?: string; ok: boolean }>([
    { config: {}, ok: false },
    {
      config: { "reg.local:5000": { username: "ci", password: PASSWORD } },
      from: "docker-config",
      user: "ci",
      ok: true,
    },
  ])("without withRegistryAuth, the CLI host's docker config ($from) is used", async ({ config, from, user, ok }) => {
    const b = new MemoryBackend({
      registries: { "reg.local:5000": { users: { ci: PASSWORD } } },
      hostDockerConfig: config,
    });
    const d = await startEngineDouble({ backend: b });
    try {
      const dir = d.hostDirectory(makeRepo(`docker-config-${String(ok)}`).dir);
      const { body } = await d.query(onDir(dir, 'dockerBuild { publish(address: "reg.local:5000/acme/cfg:1") }'));
      expect(body.errors === undefined).toBe(ok);
      expect(d.publishes.map((p) => [p.username, p.credentialFrom])).toEqual(ok ? [[user, from]] : []);
    } finally {
      await d.close();
    }
  });

  it.each([
    { address: "reg.local:5000/acme/app:1.0", host: "reg.local:5000" },
    { address: "https://reg.local:5000/", host: "reg.local:5000" },
    { address: "localhost/app", host: "localhost" },
    { address: "ghcr.io/acme/app@sha256:" + "a".repeat(64), host: "ghcr.io" },
    { address: "alpine", host: "docker.io" },
    { address: "acme/app", host: "docker.io" },
    { address: "registry-1.docker.io", host: "docker.io" },
    { address: "Ghcr.IO", host: "Ghcr.IO" },
    { address: "registry.example.com:5000:1.4", host: "registry.example.com:5000" },
    { address: "docker.io.example.com/app", host: "docker.io" },
  ])("reads the host of $address as $host, as parseAuthAddress does", ({ address, host }) => {
    expect(authHost(address)).toBe(host);
  });

  it("refuses an address without a dot, a port or localhost", () => {
    expect(() => authHost("intranet:0/app")).toThrow(
      "failed parsing [intranet:0], expected address format: [registrydomain.extension]",
    );
  });
});

describe("R4 secrets from the CLI have no name; dockerBuild needs names (core/container.go:5128-5153)", () => {
  let ctx: string;
  beforeAll(() => {
    ctx = double.hostDirectory(makeRepo("secrets").dir);
  });
  const buildWith = (ids: string[]) => onDir(ctx, `dockerBuild(secrets: ${JSON.stringify(ids)}) { id }`);

  it("mints a CLI secret whose name is empty", async () => {
    const id = cliSecret(double, "from-env");
    const got = await data<{ node: { name: string } }>(`{ node(id: "${id}") { ... on Secret { name } } }`);
    expect(got.node.name).toBe("");
  });

  it.each([
    {
      what: "a nameless secret",
      ids: () => [cliSecret(double, "v1")],
      want: "secret has no name and cannot be referenced from Dockerfile secret id",
    },
    {
      what: "two secrets under one name",
      ids: () => [double.secret("npmrc", "a"), double.secret("npmrc", "b")],
      want: 'multiple secrets provided for dockerBuild secret id "npmrc"',
    },
  ])("refuses $what when dockerBuild is asked, before any build", async ({ ids, want }) => {
    expect(await firstError(buildWith(ids()))).toBe(want);
    expect(double.builds).toBe(0);
  });

  it("takes the same secret twice as once", async () => {
    const s = double.secret("npmrc", "a");
    await data(onDir(ctx, `dockerBuild(secrets: ["${s}", "${s}"]) { sync }`));
    expect(double.builds).toBe(1);
  });

  it("keys the build by the secret's name, not its value (a setSecret handle ignores the value)", async () => {
    await data(onDir(ctx, `dockerBuild(secrets: ["${double.secret("tok", "v1")}"]) { sync }`));
    await data(onDir(ctx, `dockerBuild(secrets: ["${double.secret("tok", "v2")}"]) { sync }`));
    expect(double.builds).toBe(1);
  });
});

describe("R5 asGit and uncommitted (util/gitutil, core/git_local.go, core/changeset_delta.go)", () => {
  it("fails asGit when .git is a file pointing outside the snapshot (worktree)", async () => {
    const main = makeRepo("wt-main");
    const wt = join(work, "wt-linked");
    git(main.dir, "worktree", "add", "-q", wt);
    expect(await firstError(onDir(double.hostDirectory(wt), "asGit { head { commit } }"))).toBe(
      "git error: not a git repository",
    );
  });

  it("reads a submodule through its superproject's snapshot, not on its own", async () => {
    const lib = makeRepo("sub-lib");
    const sup = makeRepo("sub-super");
    git(sup.dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.dir, "lib");
    git(sup.dir, "commit", "-q", "-m", "sub");
    const whole = double.hostDirectory(sup.dir);
    const got = await data<{ node: { directory: { asGit: { head: { commit: string } } } } }>(
      onDir(whole, 'directory(path: "lib") { asGit { head { commit } } }'),
    );
    expect(got.node.directory.asGit.head.commit).toBe(lib.second);
    expect(await firstError(onDir(double.hostDirectory(join(sup.dir, "lib")), "asGit { head { commit } }"))).toBe(
      "git error: not a git repository",
    );
  });

  it("ignores the user's global git config and excludes (HOME=/dev/null, no XDG_CONFIG_HOME)", async () => {
    const repo = makeRepo("global-excludes");
    const home = join(work, "fake-home");
    mkdirSync(join(home, ".config", "git"), { recursive: true });
    writeFileSync(join(home, ".gitconfig"), "[core]\n\texcludesFile = ~/.gitignore_global\n");
    writeFileSync(join(home, ".gitignore_global"), "*.local\n");
    writeFileSync(join(home, ".config", "git", "ignore"), "*.xdg\n");
    writeFileSync(join(repo.dir, "settings.local"), "x");
    writeFileSync(join(repo.dir, "notes.xdg"), "x");
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = join(home, ".config");
    try {
      const got = await data<{ node: { asGit: { uncommitted: { addedPaths: string[] } } } }>(
        onDir(double.hostDirectory(repo.dir), "asGit { uncommitted { addedPaths } }"),
      );
      expect(got.node.asGit.uncommitted.addedPaths).toEqual(["notes.xdg", "settings.local"]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("lists new folders as dir/ entries, collapses removed folders, and counts files only for isEmpty", async () => {
    const repo = makeRepo("dirs");
    mkdirSync(join(repo.dir, "gone"));
    writeFileSync(join(repo.dir, "gone", "a.txt"), "a");
    writeFileSync(join(repo.dir, "gone", "b.txt"), "b");
    git(repo.dir, "add", ".");
    git(repo.dir, "commit", "-q", "-m", "gone");
    const id = double.hostDirectory(repo.dir);
    const q = onDir(id, "asGit { uncommitted { isEmpty addedPaths modifiedPaths removedPaths } }");
    type U = { node: { asGit: { uncommitted: Record<string, unknown> } } };
    mkdirSync(join(repo.dir, "empty"));
    expect((await data<U>(q)).node.asGit.uncommitted).toEqual({
      isEmpty: true,
      addedPaths: ["empty/"],
      modifiedPaths: [],
      removedPaths: [],
    });
    rmSync(join(repo.dir, "gone"), { recursive: true });
    mkdirSync(join(repo.dir, "new", "deep"), { recursive: true });
    writeFileSync(join(repo.dir, "new", "deep", "x.txt"), "x");
    expect((await data<U>(q)).node.asGit.uncommitted).toEqual({
      isEmpty: false,
      addedPaths: ["empty/", "new/", "new/deep/", "new/deep/x.txt"],
      modifiedPaths: [],
      removedPaths: ["gone/"],
    });
  });
});

describe("R5e Directory.changes and R5f SHA-256 repositories (core/changeset.go, util/gitutil/ls_remote.go)", () => {
  type Changes = { isEmpty: boolean; addedPaths: string[]; modifiedPaths: string[]; removedPaths: string[] };
  async function changesFromHeadTree(dir: string): Promise<Changes> {
    const tree = await data<{ node: { asGit: { head: { tree: { id: string } } } } }>(
      onDir(double.hostDirectory(dir), "asGit { head { tree(discardGitDir: true) { id } } }"),
    );
    const sel = `filter(exclude: [".git", "**/.git"]) { changes(from: "${tree.node.asGit.head.tree.id}") { isEmpty addedPaths modifiedPaths removedPaths } }`;
    const got = await data<{ node: { filter: { changes: Changes } } }>(onDir(double.hostDirectory(dir), sel));
    return got.node.filter.changes;
  }

  it("a working folder against its commit's tree: equal by content and git mode, whatever the file times", async () => {
    const repo = makeRepo("changes-clean");
    expect(await changesFromHeadTree(repo.dir)).toEqual({
      isEmpty: true,
      addedPaths: [],
      modifiedPaths: [],
      removedPaths: [],
    });
  });

  it("ignored files count (uncommitted() would not), and so does an executable bit", async () => {
    const repo = makeRepo("changes-ignored");
    writeFileSync(join(repo.dir, "ignored.txt"), "token\n");
    chmodSync(join(repo.dir, "app.txt"), 0o755);
    expect(await changesFromHeadTree(repo.dir)).toEqual({
      isEmpty: false,
      addedPaths: ["ignored.txt"],
      modifiedPaths: ["app.txt"],
      removedPaths: [],
    });
  });

  it("head() of a SHA-256 repository fails as Remote.Lookup does: only 40-hex ids are commits", async () => {
    const dir = join(work, "sha256-repo");
    execFileSync("git", ["init", "-q", "--object-format=sha256", "-b", "main", dir]);
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    git(dir, "add", ".");
    git(dir, "commit", "-q", "-m", "one");
    git(dir, "tag", "v1.0.0");
    const sha = git(dir, "rev-parse", "HEAD");
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(await firstError(onDir(double.hostDirectory(dir), "asGit { head { commit } }"))).toBe(
      `invalid commit sha "${sha}" for "refs/heads/main"`,
    );
    expect(await firstError(onDir(double.hostDirectory(dir), 'asGit { tag(name: "v1.0.0") { commit } }'))).toBe(
      `invalid commit sha "${sha}" for "refs/tags/v1.0.0"`,
    );
  });
});

describe("R6 dockerBuild reads like Dagger: syntax line, Dockerfile, ignore file (core/container.go:5028-5108)", () => {
  it.each([
    { line: "# syntax=docker/dockerfile:1", ok: true },
    { line: "# syntax = docker.io/docker/dockerfile-upstream:1.7-labs", ok: true },
    { line: "#syntax=moby/dockerfile@sha256:" + "0".repeat(64), ok: true },
    { line: "# escape=`\n# syntax=docker/dockerfile:1", ok: true },
    { line: "// syntax=docker/dockerfile:1", ok: true },
    { line: "# syntax=ghcr.io/acme/frontend:1", ok: false, ref: "ghcr.io/acme/frontend:1" },
    { line: "# syntax=docker/dockerfile-evil:1", ok: false, ref: "docker/dockerfile-evil:1" },
    { line: "#!/usr/bin/env buildctl\n# syntax=tonistiigi/hcl", ok: false, ref: "tonistiigi/hcl" },
    { line: "FROM scratch\n# syntax=ghcr.io/acme/frontend:1", ok: true },
  ])("$line: accepted $ok", async ({ line, ok, ref }) => {
    const dir = folder(`syntax-${Math.random().toString(36).slice(2)}`, { Dockerfile: `${line}\nFROM scratch\n` });
    const { body } = await double.query(onDir(double.hostDirectory(dir), "dockerBuild { id }"));
    if (ok) expect(body.errors).toBeUndefined();
    else
      expect(body.errors?.[0]?.message).toBe(
        `dockerBuild syntax frontend ${JSON.stringify(ref)} is unsupported in hard-cutover path`,
      );
  });

  it.each([
    {
      dockerfile: "missing.Dockerfile",
      want: 'failed to read Dockerfile "missing.Dockerfile": open /missing.Dockerfile: no such file or directory',
    },
    { dockerfile: "sub", want: 'failed to read Dockerfile "sub": read /sub: is a directory' },
    {
      dockerfile: "outside.Dockerfile",
      want: 'failed to read Dockerfile "outside.Dockerfile": open /etc/hostname: no such file or directory',
    },
  ])("reads the Dockerfile when asked, inside the snapshot: $dockerfile", async ({ dockerfile, want }) => {
    const dir = folder(`dfread-${dockerfile}`, { "sub/x": "x", "outside.Dockerfile": { link: "/etc/hostname" } });
    expect(await firstError(onDir(double.hostDirectory(dir), `dockerBuild(dockerfile: "${dockerfile}") { id }`))).toBe(
      want,
    );
  });

  it("filters the build context with <dockerfile>.dockerignore, else .dockerignore", async () => {
    const dir = folder("ignore", {
      Dockerfile: "FROM scratch\n",
      "web.Dockerfile": "FROM scratch\n",
      "web.Dockerfile.dockerignore": "secret.txt\n",
      ".dockerignore": "# comment\n/*.log\n!keep.log\n",
      "secret.txt": "s",
      "a.log": "a",
      "keep.log": "k",
    });
    const id = double.hostDirectory(dir);
    const contextOf = async (dockerfile: string) => {
      await data(onDir(id, `dockerBuild(dockerfile: "${dockerfile}") { sync }`));
      return readdirSync(backend.builtRequests.at(-1)?.contextDir ?? "").sort();
    };
    expect(await contextOf("Dockerfile")).toEqual([
      ".dockerignore",
      "Dockerfile",
      "keep.log",
      "secret.txt",
      "web.Dockerfile",
      "web.Dockerfile.dockerignore",
    ]);
    expect(await contextOf("web.Dockerfile")).toEqual([
      ".dockerignore",
      "Dockerfile",
      "a.log",
      "keep.log",
      "web.Dockerfile",
      "web.Dockerfile.dockerignore",
    ]);
  });
});

describe("R7 directory(path) is lazy and bounded by its snapshot (core/directory.go:1086-1123, 3070-3182)", () => {
  let id: string;
  beforeAll(() => {
    const outside = folder("outside", { "secret.txt": "OUTSIDE" });
    id = double.hostDirectory(
      folder("snapshot", {
        "app.txt": "app",
        "sub/inner.txt": "inner",
        "rel-link": { link: "app.txt" },
        "abs-link": { link: "/app.txt" },
        "escape-link": { link: join(outside, "secret.txt") },
        "dotdot-link": { link: "../outside/secret.txt" },
        "dir-link": { link: outside },
      }),
    );
  });

  it("answers directory(missing) and fails only when it is used", async () => {
    const got = await data<{ node: { directory: { exists: boolean } } }>(
      onDir(id, 'directory(path: "missing") { exists(path: "Dockerfile") }'),
    );
    expect(got.node.directory.exists).toBe(false);
    expect(await firstError(onDir(id, 'directory(path: "missing") { sync }'))).toBe(
      "stat missing: no such file or directory",
    );
    expect(await firstError(onDir(id, 'directory(path: "app.txt") { sync }'))).toBe(
      "path app.txt is a file, not a directory",
    );
  });

  it.each([
    { path: "app.txt", want: true },
    { path: "rel-link", want: true },
    { path: "abs-link", want: true },
    { path: "escape-link", want: false },
    { path: "dotdot-link", want: false },
    { path: "dir-link/secret.txt", want: false },
    { path: "../outside/secret.txt", want: false },
    { path: "", want: false },
  ])("exists($path) is $want: symlinks resolve inside the snapshot only", async ({ path, want }) => {
    const got = await data<{ node: { exists: boolean } }>(onDir(id, `exists(path: "${path}")`));
    expect(got.node.exists).toBe(want);
  });

  it("never reads a host file through a symlink", async () => {
    const { body } = await double.query(onDir(id, 'file(path: "escape-link") { contents }'));
    expect(JSON.stringify(body)).not.toContain("OUTSIDE");
    expect(body.errors?.[0]?.message).toBe("stat escape-link: no such file or directory");
  });

  it("reads a file through a symlink inside the snapshot, and refuses a folder by name (R19)", async () => {
    const got = await data<{ node: { file: { contents: string } } }>(onDir(id, 'file(path: "rel-link") { contents }'));
    expect(got.node.file.contents).toBe("app");
    expect(await firstError(onDir(id, 'file(path: "sub") { contents }'))).toBe("path sub is a directory, not a file");
    expect(await firstError(onDir(id, 'file(path: "app.txt") { contents(limitLines: 1) }'))).toMatch(
      /engine double: argument File\.contents\(limitLines:\) is not modelled/,
    );
  });

  it("lists entries sorted by name, then marks folders with a slash (R18)", async () => {
    const listed = double.hostDirectory(folder("entries", { "a.txt": "1", "a/x": "2", b: "3" }));
    const got = await data<{ node: { entries: string[] } }>(onDir(listed, "entries"));
    expect(got.node.entries).toEqual(["a/", "a.txt", "b"]);
  });
});

describe("R8 GitRepository.commit, GitRef.tree and commonAncestor (core/schema/git.go, core/git.go, core/git_local.go)", () => {
  let repo: { dir: string; first: string; second: string };
  let id: string;
  beforeAll(() => {
    repo = makeRepo("tree");
    id = double.hostDirectory(repo.dir);
  });
  const onRepo = (sel: string) => onDir(id, `asGit { ${sel} }`);

  it.each([
    { sha: "abc1234", ok: false },
    { sha: "A".repeat(40), ok: false },
    { sha: "a".repeat(64), ok: false },
    { sha: "a".repeat(40), ok: true },
  ])("commit($sha) accepts exactly 40 lowercase hex digits: $ok", async ({ sha, ok }) => {
    const { body } = await double.query(onRepo(`commit(id: "${sha}") { commit ref }`));
    if (ok) expect(body.data).toEqual({ node: { asGit: { commit: { commit: sha, ref: sha } } } });
    else expect(body.errors?.[0]?.message).toBe(`invalid commit SHA: ${JSON.stringify(sha)}`);
  });

  it("checks a commit out with .git discarded and every timestamp at 1 s, as a folder a build can use", async () => {
    const got = await data<{
      node: { asGit: { commit: { tree: { entries: string[]; dockerBuild: { sync: string } } } } };
    }>(onRepo(`commit(id: "${repo.first}") { tree(discardGitDir: true) { entries dockerBuild { sync } } }`));
    expect(got.node.asGit.commit.tree.entries).toEqual([".gitignore", "Dockerfile"]);
    const ctx = backend.builtRequests.at(-1)?.contextDir ?? "";
    const times = [ctx, ...readdirSync(ctx, { recursive: true, encoding: "utf8" }).map((f) => join(ctx, f))].map(
      (f) => lstatSync(f).mtimeMs,
    );
    expect(new Set(times)).toEqual(new Set([1000]));
  });

  it("keeps a .git when asked, on the commit's ref", async () => {
    const got = await data<{
      node: { asGit: { head: { tree: { entries: string[]; asGit: { head: { commit: string; ref: string } } } } } };
    }>(onRepo("head { tree { entries asGit { head { commit ref } } } }"));
    expect(got.node.asGit.head.tree.entries).toEqual([".git/", ".gitignore", "Dockerfile", "app.txt"]);
    expect(got.node.asGit.head.tree.asGit.head).toEqual({ commit: repo.second, ref: "refs/heads/main" });
  });

  it("fails to check out a commit the repository does not hold", async () => {
    expect(await firstError(onRepo(`commit(id: "${"1".repeat(40)}") { tree { id } }`))).toBe(
      "failed to checkout : git error: sha fetch unsupported by remote",
    );
  });

  it("finds the common ancestor with git merge-base, and fails for unrelated histories", async () => {
    const got = await data<{ node: { asGit: { head: { commonAncestor: { commit: string; ref: string } } } } }>(
      onRepo(`head { commonAncestor(other: "${await commitId(repo.first)}") { commit ref } }`),
    );
    expect(got.node.asGit.head.commonAncestor).toEqual({ commit: repo.first, ref: repo.first });
    git(repo.dir, "checkout", "-q", "--orphan", "island");
    git(repo.dir, "commit", "-q", "-m", "island");
    const island = git(repo.dir, "rev-parse", "HEAD");
    git(repo.dir, "checkout", "-q", "main");
    expect(await firstError(onRepo(`head { commonAncestor(other: "${await commitId(island)}") { commit } }`))).toBe(
      "git merge-base failed: git error: exit status 1",
    );
  });

  async function commitId(sha: string): Promise<string> {
    const got = await data<{ node: { asGit: { commit: { id: string } } } }>(onRepo(`commit(id: "${sha}") { id }`));
    return got.node.asGit.commit.id;
  }
});

describe("R9 Directory.filter matches as patternmatcher v0.6.1 and layercopy do (core/schema/directory.go:640-666)", () => {
  let id: string;
  beforeAll(() => {
    id = double.hostDirectory(
      folder("filter", {
        ".git/HEAD": "ref",
        "a.log": "a",
        "src/b.log": "b",
        "src/keep/c.txt": "c",
        "src/drop/d.txt": "d",
        "node_modules/x/index.js": "x",
        "README.md": "r",
      }),
    );
  });
  /** Every path under a Directory, folders with a trailing slash, read through entries(path:). */
  async function listTree(dirId: string, path = ""): Promise<string[]> {
    const got = await data<{ node: { entries: string[] } }>(onDir(dirId, `entries(path: "${path}")`));
    const out: string[] = [];
    for (const e of got.node.entries) {
      out.push(`${path}${e}`);
      if (e.endsWith("/")) out.push(...(await listTree(dirId, `${path}${e}`)));
    }
    return out.sort();
  }
  const filtered = async (args: string) => {
    const got = await data<{ node: { filter: { id: string } } }>(onDir(id, `filter(${args}) { id }`));
    return listTree(got.node.filter.id);
  };

  it.each([
    { args: 'exclude: [".git"]', gone: [".git/", ".git/HEAD"] },
    { args: 'exclude: ["*.log"]', gone: ["a.log"] },
    { args: 'exclude: ["**/*.log"]', gone: ["a.log", "src/b.log"] },
    { args: 'exclude: ["node_modules/"]', gone: ["node_modules/", "node_modules/x/", "node_modules/x/index.js"] },
    { args: 'exclude: ["/README.md"]', gone: [] },
    { args: 'exclude: ["src", "!src/keep"]', gone: ["src/b.log", "src/drop/", "src/drop/d.txt"] },
    {
      args: 'include: ["src/keep"]',
      gone: [
        ".git/",
        ".git/HEAD",
        "README.md",
        "a.log",
        "node_modules/",
        "node_modules/x/",
        "node_modules/x/index.js",
        "src/b.log",
        "src/drop/",
        "src/drop/d.txt",
      ],
    },
  ])("$args", async ({ args, gone }) => {
    const all = await listTree(id);
    const kept = await filtered(args);
    expect(all.filter((p) => !kept.includes(p))).toEqual(gone);
  });

  it("refuses gitignore: true loudly", async () => {
    expect(await firstError(onDir(id, "filter(gitignore: true) { id }"))).toBe(
      "engine double: argument Directory.filter(gitignore: true) is not modelled",
    );
  });
});

const docker = await dockerAvailable("rung 3 double tests on the docker backend");

describe.skipIf(!docker)("R6/R7/R8 on the docker backend: what Docker 20.10 would do differently", () => {
  let d: EngineDouble;
  let engine: { stop(): Promise<void> };
  beforeAll(async () => {
    engine = await ensureDockerEngine();
    await ensureBaseImage();
    d = await startEngineDouble({ backend: new DockerBackend() });
  });
  afterAll(async () => {
    await d?.close();
    await engine?.stop();
  });
  const sync = (dir: string, sel = "dockerBuild { sync }") => d.query(onDir(d.hostDirectory(dir), sel));

  it("builds with Dagger's built-in frontend whatever known `# syntax=` names (Docker would pull it)", async () => {
    const dir = folder("docker-syntax", {
      Dockerfile: `# syntax=docker/dockerfile:1.7\nFROM ${BASE_IMAGE}\nRUN echo ok > /ok\n`,
    });
    const { body } = await sync(dir);
    expect(body.errors).toBeUndefined();
  });

  it("never copies a host file into an image through a context symlink", async () => {
    const outside = folder("docker-outside", { "secret.txt": "HOST-ONLY-CONTENT" });
    const dir = folder("docker-leak", {
      Dockerfile: `FROM ${BASE_IMAGE}\nCOPY leak /leak\n`,
      leak: { link: join(outside, "secret.txt") },
    });
    const { body } = await sync(dir);
    expect(JSON.stringify(body)).not.toContain("HOST-ONLY-CONTENT");
    expect(body.errors?.[0]?.message).toMatch(/not found|no such file/);
  });

  it("builds from a git tree: a real folder Docker can use", async () => {
    const repo = makeRepo("docker-tree");
    writeFileSync(
      join(repo.dir, "Dockerfile"),
      `FROM ${BASE_IMAGE}\nCOPY app.txt /app.txt\nRUN ls -l --full-time /app.txt > /stamp\n`,
    );
    git(repo.dir, "commit", "-q", "-am", "docker");
    const { body } = await sync(repo.dir, "asGit { head { tree(discardGitDir: true) { dockerBuild { sync } } } }");
    expect(body.errors).toBeUndefined();
  });
});

describe.skipIf(!docker)(
  "R29 from, asTarball, withMountedFile, withExec, exitCode/stdout/stderr on the docker backend",
  () => {
    let d: EngineDouble;
    let engine: { stop(): Promise<void> };
    beforeAll(async () => {
      engine = await ensureDockerEngine();
      await ensureBaseImages();
      await ensureScannerImage(join(REPO_ROOT_DIR, "test/fixtures/sbom-scanner"));
      d = await startEngineDouble({ backend: new DockerBackend() });
    });
    afterAll(async () => {
      await d?.close();
      await engine?.stop();
    });
    beforeEach(() => d.reset());

    async function tarballOf(platform: string, label?: string): Promise<string> {
      const dir = folder(`r29-${platform.replace("/", "-")}`, {
        Dockerfile: `ARG TARGETARCH\nFROM ${BASE_IMAGE}-\${TARGETARCH}\nRUN echo ok > /ok\n`,
      });
      const labelled = label ? `withLabel(name: "k", value: "${label}") { asTarball { id } }` : "asTarball { id }";
      const { body } = await d.query(
        onDir(d.hostDirectory(dir), `dockerBuild(platform: "${platform}") { ${labelled} }`),
      );
      expect(body.errors).toBeUndefined();
      const node = (body.data as { node: { dockerBuild: Record<string, unknown> } }).node.dockerBuild;
      const file = (label ? (node.withLabel as Record<string, unknown>).asTarball : node.asTarball) as { id: string };
      return file.id;
    }

    const scan = (file: string, mode: string, fields: string, exec = `expect: ANY, useEntrypoint: true`) =>
      d.query(
        `{ container { from(address: "${SCANNER_IMAGE}") { withMountedFile(path: "/dockyard/image.tar", source: "${file}") { withExec(args: ["${mode}", "/dockyard/image.tar"], ${exec}) { ${fields} } } } } }`,
      );

    it("the tarball reaches the process: its index.json manifest, config and architecture, per platform; one run for three reads", async () => {
      for (const [platform, arch] of [
        ["linux/amd64", "amd64"],
        ["linux/arm64", "arm64"],
      ] as const) {
        const file = await tarballOf(platform);
        const { body } = await scan(file, "spdx", "exitCode stdout stderr");
        expect(body.errors).toBeUndefined();
        const ran = (body.data as { container: { from: { withMountedFile: { withExec: Record<string, unknown> } } } })
          .container.from.withMountedFile.withExec;
        expect(ran.exitCode).toBe(0);
        expect(ran.stderr).toBe("");
        const doc = JSON.parse(ran.stdout as string) as { packages: { versionInfo: string; description: string }[] };
        expect(doc.packages[0]!.versionInfo).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(doc.packages[0]!.description).toMatch(
          new RegExp(`^architecture ${arch}, config blobs/sha256/[0-9a-f]{64}$`),
        );
      }
      expect(d.execs).toBe(2);
    });

    it("withLabel's labels are in the tarball's config, so the manifest differs", async () => {
      const plain = await tarballOf("linux/amd64");
      const labelled = await tarballOf("linux/amd64", "v");
      const digest = async (file: string) => {
        const { body } = await scan(file, "spdx", "stdout");
        const out = (body.data as { container: { from: { withMountedFile: { withExec: { stdout: string } } } } })
          .container.from.withMountedFile.withExec.stdout;
        return (JSON.parse(out) as { packages: { versionInfo: string }[] }).packages[0]!.versionInfo;
      };
      expect(await digest(plain)).not.toBe(await digest(labelled));
    });

    it("a failing process answers its exit code and stderr with expect: ANY", async () => {
      const { body } = await scan(await tarballOf("linux/amd64"), "fail", "exitCode stdout stderr");
      expect(body.errors).toBeUndefined();
      const ran = (body.data as { container: { from: { withMountedFile: { withExec: Record<string, unknown> } } } })
        .container.from.withMountedFile.withExec;
      expect(ran).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: "scan: reading /dockyard/image.tar\nscan: /dockyard/image.tar: unsupported image layout\n",
      });
    });

    it.each([
      { exec: "useEntrypoint: true", want: "engine double: Container.withExec(expect: SUCCESS) is not modelled" },
      { exec: "expect: FAILURE", want: "engine double: Container.withExec(expect: FAILURE) is not modelled" },
      { exec: 'expect: ANY, stdin: "x"', want: "engine double: argument Container.withExec(stdin:) is not modelled" },
    ])("refuses $exec loudly", async ({ exec, want }) => {
      const { body } = await scan(await tarballOf("linux/amd64"), "spdx", "exitCode", exec);
      expect(body.errors?.[0]?.message).toBe(want);
    });

    it("refuses an image it would have to pull, and stdout with no exec, as the engine names it", async () => {
      const { body } = await d.query(`{ container { from(address: "dockyard-test/absent:1") { id } } }`);
      expect(body.errors?.[0]?.message).toMatch(
        /^engine double: Container\.from\("dockyard-test\/absent:1"\): no such local image/,
      );
      const none = await d.query(`{ container { from(address: "${SCANNER_IMAGE}") { stdout } } }`);
      expect(none.body.errors?.[0]?.message).toBe("no command has been set");
    });
  },
);

describe("R10 Container.platform (core/schema/container.go:3745-3754, core/schema/directory.go:1692-1695)", () => {
  it.each([
    { args: "", want: "linux/amd64" },
    { args: '(platform: "linux/arm64")', want: "linux/arm64" },
  ])("dockerBuild$args has platform $want, and asking for it builds", async ({ args, want }) => {
    const id = double.hostDirectory(makeRepo(`platform-${want.replace("/", "-")}`).dir);
    const got = await data<{ node: { dockerBuild: { platform: string } } }>(
      onDir(id, `dockerBuild${args} { platform }`),
    );
    expect(got.node.dockerBuild.platform).toBe(want);
    expect(double.builds).toBe(1);
  });

  it("gives an empty container the engine's platform", async () => {
    expect(await data<{ container: { platform: string } }>("{ container { platform } }")).toEqual({
      container: { platform: "linux/amd64" },
    });
  });
});

describe.skipIf(!docker)(
  "R30 a Bearer-token registry: containerd's token fetch, one token per push (containerd: core/remotes/docker/authorizer.go:153-349)",
  () => {
    const HELLO = join(REPO_ROOT_DIR, "examples/hello");
    const TOKEN_PW = "token-pw-5c1e";
    let d: EngineDouble;
    let engine: { stop(): Promise<void> };
    let registry: Registry;
    let proxy: FaultProxy;
    beforeAll(async () => {
      engine = await ensureDockerEngine();
      await ensureBaseImage("busybox:1.36"); // examples/hello's base, made locally, never pulled
      registry = await startRegistry({ users: { ci: TOKEN_PW }, tokenAuth: {} });
      proxy = await startFaultProxy(registry.port);
      d = await startEngineDouble({ backend: new DockerBackend() });
    });
    afterAll(async () => {
      await d?.close();
      await proxy?.stop();
      await registry?.stop();
      await engine?.stop();
    });
    beforeEach(() => {
      d.reset();
      proxy.clear();
    });

    const tokens = () => registry.tokenServer!;
    /** `examples/hello` built and published to `<registry>/acme/<repo>:<tag>`, with `withRegistryAuth` when a password is given. */
    const publish = (repo: string, tag: string, password?: string, host = registry.host) => {
      const target = `publish(address: "${host}/acme/${repo}:${tag}")`;
      const sel =
        password === undefined
          ? target
          : `withRegistryAuth(address: "${host}", username: "ci", secret: "${d.secret("pw", password)}") { ${target} }`;
      return d.query(onDir(d.hostDirectory(HELLO), `dockerBuild { ${sel} }`));
    };
    const answer = (body: { data?: unknown }): string => {
      const got = (body.data as { node: { dockerBuild: Record<string, unknown> } }).node.dockerBuild;
      return (got.publish ?? (got.withRegistryAuth as { publish: string }).publish) as string;
    };
    /** Scope lists compared as sets of actions: distribution 2.8.2 lists a challenge's actions in Go map order. */
    const sameScopes = (scopes: string[]) =>
      [
        ...new Set(
          scopes.map((s) => {
            const [type, name, actions] = s.split(":");
            return `${type}:${name}:${(actions ?? "").split(",").sort().join(",")}`;
          }),
        ),
      ].sort();
    const stored = (repo: string) => existsSync(join(registry.dir, "data/docker/registry/v2/repositories/acme", repo));

    it("publishes with the secret: one POST to the realm per push (the OAuth2 form), skopeo reads the image back", async () => {
      const before = tokens().requests.length;
      const first = await publish("hello", "1", TOKEN_PW);
      expect(first.body.errors).toBeUndefined();
      const second = await publish("hello", "2", TOKEN_PW);
      expect(second.body.errors).toBeUndefined();
      const seen = tokens().requests.slice(before);
      const oauth = {
        method: "POST",
        user: "ci",
        // the first 401 (the first blob's HEAD) asks pull; the pusher's context asks pull,push (scope.go:75-101)
        scopes: ["repository:acme/hello:pull", "repository:acme/hello:pull,push"],
        service: tokens().service,
        clientId: "containerd-client",
        grantType: "password",
        outcome: "granted",
      };
      // Dagger's PushImage makes one authorizer per push (resolver.go:603-605, 1078-1092): a second push asks again.
      expect(seen).toEqual([oauth, oauth]);
      for (const [tag, body] of [
        ["1", first.body],
        ["2", second.body],
      ] as const) {
        const ref = answer(body);
        expect(ref).toMatch(new RegExp(`^${registry.host}/acme/hello:${tag}@sha256:[0-9a-f]{64}$`));
        expect(await digestRead(`${registry.host}/acme/hello:${tag}`, `ci:${TOKEN_PW}`)).toBe(ref.split("@")[1]);
      }
    });

    it.each([
      { refusal: 404, field: "token" as const },
      { refusal: 401, field: "access_token" as const },
      { refusal: 400, field: "token" as const },
      { refusal: 405, field: "access_token" as const },
    ])(
      "a POST answered $refusal (no OAuth2 endpoint): the GET with Basic gets the token ($field), the push goes on",
      async ({ refusal, field }) => {
        const before = tokens().requests.length;
        tokens().oauthRefusal = refusal;
        tokens().field = field;
        try {
          const repo = `fallback-${refusal}`;
          const { body } = await publish(repo, "1", TOKEN_PW);
          expect(body.errors).toBeUndefined();
          const scopes = [`repository:acme/${repo}:pull`, `repository:acme/${repo}:pull,push`];
          expect(tokens().requests.slice(before)).toEqual([
            {
              method: "POST",
              user: "ci",
              scopes,
              service: tokens().service,
              clientId: "containerd-client",
              grantType: "password",
              outcome: refusal,
            },
            { method: "GET", user: "ci", scopes, service: tokens().service, outcome: "granted" },
          ]);
          const ref = answer(body);
          expect(await digestRead(`${registry.host}/acme/${repo}:1`, `ci:${TOKEN_PW}`)).toBe(ref.split("@")[1]);
        } finally {
          tokens().oauthRefusal = undefined;
          tokens().field = "token";
        }
      },
    );

    it("a POST answered 403: no GET, the push fails with the POST's status; nothing stored", async () => {
      const before = tokens().requests.length;
      tokens().oauthRefusal = 403;
      try {
        const { body } = await publish("refused", "1", TOKEN_PW);
        expect(body.errors?.[0]?.message).toBe(
          `failed to authorize: failed to fetch oauth token: unexpected status from POST request to ${tokens().realm}: 403 Forbidden`,
        );
        expect(
          tokens()
            .requests.slice(before)
            .map((r) => [r.method, r.outcome]),
        ).toEqual([["POST", 403]]);
        expect(stored("refused")).toBe(false);
      } finally {
        tokens().oauthRefusal = undefined;
      }
    });

    it.each([
      { times: 1, want: undefined },
      {
        times: 2,
        want: /^failed commit on ref "manifest-sha256:[0-9a-f]{64}": server message: invalid_token: authorization failed$/,
      },
    ])(
      "a manifest PUT answered $times × 401 invalid_token: the handler is dropped and a new token fetched; twice in a row fails",
      async ({ times, want }) => {
        const repo = `invalid-${times}`;
        const challenge = `Bearer realm="${tokens().realm}",service="${tokens().service}",scope="repository:acme/${repo}:pull,push",error="invalid_token"`;
        const fault = proxy.failNext(times, { status: 401, challenge }, match.manifestPut);
        const before = tokens().requests.length;
        const sent = proxy.requests.length;
        const { body } = await publish(repo, "1", TOKEN_PW, proxy.host);
        expect(fault.hits).toBe(times);
        if (want) expect(body.errors?.[0]?.message).toMatch(want);
        else expect(body.errors).toBeUndefined();
        const oauth = (scopes: string[]) => ({
          method: "POST",
          user: "ci",
          scopes,
          service: tokens().service,
          clientId: "containerd-client",
          grantType: "password",
          outcome: "granted",
        });
        // The new handler is made from the refusing challenge: its scope joins the pusher's (authorizer.go:159-193).
        expect(tokens().requests.slice(before)).toEqual([
          oauth([`repository:acme/${repo}:pull`, `repository:acme/${repo}:pull,push`]),
          oauth([`repository:acme/${repo}:pull,push`]),
        ]);
        // once: the re-sent PUT reaches the registry; twice: the manifest PUT never does
        expect(proxy.requests.slice(sent).filter((r) => match.manifestPut(r) && !r.faulted)).toHaveLength(
          times === 1 ? 1 : 0,
        );
      },
    );

    it("a wrong password: the POST is refused, the GET with Basic too, and the push fails with containerd's text; nothing stored", async () => {
      const before = tokens().requests.length;
      const { body } = await publish("wrong", "1", "not-the-password");
      const query = "scope=repository%3Aacme%2Fwrong%3Apull&scope=repository%3Aacme%2Fwrong%3Apull%2Cpush";
      expect(body.errors?.[0]?.message).toBe(
        `failed to authorize: failed to fetch oauth token: unexpected status from GET request to ${tokens().realm}?${query}&service=${tokens().service}: 401 Unauthorized`,
      );
      const scopes = ["repository:acme/wrong:pull", "repository:acme/wrong:pull,push"];
      expect(tokens().requests.slice(before)).toEqual([
        {
          method: "POST",
          user: "ci",
          scopes,
          service: tokens().service,
          clientId: "containerd-client",
          grantType: "password",
          outcome: 401,
        },
        { method: "GET", user: "ci", scopes, service: tokens().service, outcome: 401 },
      ]);
      expect(stored("wrong")).toBe(false);
    });

    it("no credentials: anonymous tokens, the HEAD goes on, the POST is denied as containerd says; nothing stored", async () => {
      const before = tokens().requests.length;
      const { body } = await publish("anon", "1");
      expect(body.errors?.[0]?.message).toBe(
        "push access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
      );
      const seen = tokens().requests.slice(before);
      // One anonymous GET per handler: the HEAD's insufficient_scope drops it (authorizer.go:159-166), the POST's
      // 401 makes a new one from its own challenge.
      expect(seen.map((r) => ({ ...r, scopes: sameScopes(r.scopes) }))).toEqual([
        {
          method: "GET",
          user: undefined,
          scopes: ["repository:acme/anon:pull", "repository:acme/anon:pull,push"],
          service: tokens().service,
          outcome: "granted",
        },
        {
          method: "GET",
          user: undefined,
          scopes: ["repository:acme/anon:pull,push"],
          service: tokens().service,
          outcome: "granted",
        },
      ]);
      expect(stored("anon")).toBe(false);
    });
  },
);
