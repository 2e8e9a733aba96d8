// Rung 3 (engine double): real Docker engine and real registry — the infra under the engine double, checked end to end.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerBackend } from "../engine/docker-backend.js";
import {
  BASE_IMAGE,
  DOCKER,
  ensureBaseImages,
  dockerAvailable,
  ensureDockerEngine,
  hostArch,
  mustRun,
} from "./docker.js";
import { match, startFaultProxy, type FaultProxy, type ProxiedRequest } from "./fault-proxy.js";
import { startRegistry, type Registry } from "./registry.js";

const docker = await dockerAvailable("rung 3 infra tests (docker + registry)");

const SECRET = "s3cr3t-build-token-9f2c";
const USERS = { ci: "ci-password-1", other: "other-password-2" };

async function contextDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "dockyard-ctx-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

describe.skipIf(!docker)("rung 3 infra: docker + registry", () => {
  let engine: { stop(): Promise<void> };
  let registry: Registry;
  const backend = new DockerBackend();
  const dirs: string[] = [];
  let appImage = "";

  beforeAll(async () => {
    engine = await ensureDockerEngine();
    await ensureBaseImages();
    registry = await startRegistry({ users: USERS });
    dirs.push(
      await contextDir({
        Dockerfile: [
          `FROM ${BASE_IMAGE} AS app`,
          "ARG GREETING=hello",
          "RUN --mount=type=secret,id=token test -s /run/secrets/token && wc -c < /run/secrets/token > /token-length",
          'RUN echo "$GREETING" > /greeting',
          "COPY app.txt /app.txt",
          "FROM scratch AS last-stage-not-wanted",
          "",
        ].join("\n"),
        "app.txt": "app\n",
      }),
    );
  });

  afterAll(async () => {
    await registry?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await backend.close();
    await engine?.stop();
  });

  it("has the base image, built from busybox-static without any pull", async () => {
    const out = await mustRun(DOCKER, [
      "run",
      "--rm",
      "--network",
      "none",
      BASE_IMAGE,
      "sh",
      "-c",
      "echo ok; ls /bin | grep -c .",
    ]);
    expect(out.split("\n")[0]).toBe("ok");
  });

  it("builds with BuildKit: build arg, target, secret mounted but in no layer", async () => {
    const dir = dirs[0] ?? "";
    const built = await backend.build({
      contextDir: dir,
      dockerfile: "Dockerfile",
      dockerfileText: await readFile(path.join(dir, "Dockerfile"), "utf8"),
      buildArgs: [{ name: "GREETING", value: "bonjour" }],
      secrets: [{ name: "token", plaintext: SECRET }],
      target: "app",
    });
    expect(built.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.platform).toBe(`linux/${hostArch()}`);
    appImage = built.image;
    const out = await mustRun(DOCKER, [
      "run",
      "--rm",
      "--network",
      "none",
      built.image,
      "cat",
      "/greeting",
      "/token-length",
    ]);
    expect(out.trim().split(/\s+/)).toEqual(["bonjour", String(SECRET.length)]);
    // The tar of every pushed layer must not contain the secret.
    await backend.push({
      address: `${registry.host}/acme/secretcheck:1`,
      variants: [{ image: built.image, platform: built.platform, labels: {} }],
      auth: { username: "ci", password: USERS.ci },
    });
    const layers = await registry.client().layers("acme/secretcheck", "1");
    expect(layers.length).toBeGreaterThan(0);
    for (const layer of layers) expect(layer.includes(Buffer.from(SECRET))).toBe(false);
    // ...while the build really read it.
    expect(layers.some((l) => l.includes(Buffer.from("token-length")))).toBe(true);
  });

  it("pushes with htpasswd credentials and reads back tags, manifest and labels", async () => {
    const digest = await backend.push({
      address: `${registry.host}/acme/app:1a2b3c4`,
      variants: [
        {
          image: appImage,
          platform: `linux/${hostArch()}`,
          labels: { "org.opencontainers.image.revision": "1a2b3c4", team: "infra" },
        },
      ],
      auth: { username: "ci", password: USERS.ci },
    });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const client = registry.client();
    expect(await client.listTags("acme/app")).toEqual(["1a2b3c4"]);
    const m = await client.getManifest("acme/app", "1a2b3c4");
    expect(m.digest).toBe(digest);
    expect(m.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    const cfg = await client.imageConfig("acme/app", "1a2b3c4");
    expect(cfg.config?.Labels).toMatchObject({ "org.opencontainers.image.revision": "1a2b3c4", team: "infra" });
    expect(`${cfg.os}/${cfg.architecture}`).toBe(`linux/${hostArch()}`);
  });

  it("gives the same digest when the same image is pushed twice", async () => {
    const req = {
      address: `${registry.host}/acme/twice:v1`,
      variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: { a: "b" } }],
      auth: { username: "other", password: USERS.other },
    };
    const first = await backend.push(req);
    const second = await backend.push(req);
    expect(second).toBe(first);
  });

  it("fails a wrong password as containerd does: the first blob HEAD, re-sent until 6 responses, no prefix", async () => {
    const proxy = await startFaultProxy(registry.port);
    try {
      const err = await backend
        .push({
          address: `${proxy.host}/acme/denied:1`,
          variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
          auth: { username: "ci", password: "wrong-password" },
        })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err?.message).toMatch(
        new RegExp(
          `^unexpected status from HEAD request to http://${proxy.host}/v2/acme/denied/blobs/sha256:[0-9a-f]{64}: 401 Unauthorized$`,
        ),
      );
      expect(err?.message).not.toContain("wrong-password");
      expect(proxy.requests.map((r) => `${r.method} ${r.outcome}`)).toEqual(Array(6).fill("HEAD 401"));
      expect(await registry.client().listTags("acme/denied")).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it("fails like containerd when the registry asks for credentials and none are given: HEAD goes on, POST is refused", async () => {
    const proxy = await startFaultProxy(registry.port);
    try {
      const err = await backend
        .push({
          address: `${proxy.host}/acme/anon:1`,
          variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err?.message).toBe(
        "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
      );
      expect(proxy.requests.map((r) => `${r.method} ${r.outcome}`)).toEqual(["HEAD 401", "POST 401"]);
    } finally {
      await proxy.stop();
    }
  });

  /** A push of appImage through a fresh proxy, to its own repository; the proxy is stopped afterwards. */
  async function throughProxy(
    repo: string,
    arrange: (proxy: FaultProxy) => void,
  ): Promise<{ error?: string; digest?: string; requests: ProxiedRequest[]; manifestPuts: number; tags: string[] }> {
    const proxy = await startFaultProxy(registry.port);
    try {
      arrange(proxy);
      let error: string | undefined;
      let digest: string | undefined;
      try {
        digest = await backend.push({
          address: `${proxy.host}/${repo}:1`,
          variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
          auth: { username: "ci", password: USERS.ci },
        });
      } catch (e) {
        error = (e as Error).message.split(proxy.host).join("PROXY");
      }
      return {
        ...(error !== undefined ? { error } : {}),
        ...(digest !== undefined ? { digest } : {}),
        requests: proxy.requests,
        manifestPuts: proxy.count(match.manifestPut),
        tags: await registry.client().listTags(repo),
      };
    } finally {
      await proxy.stop();
    }
  }

  const commitErr = (repo: string, tail: string) =>
    new RegExp(
      `^failed commit on ref "manifest-sha256:[0-9a-f]{64}": unexpected status from PUT request to http://PROXY/v2/${repo}/manifests/1: ${tail}$`,
    );

  // containerd v2.2.3 resolver.go:735-773: who is re-sent, how often, and what the push then says.
  it.each([
    { fault: { status: 503 }, times: 1, puts: 2, ok: true },
    {
      fault: { status: 503 },
      times: 2,
      puts: 2,
      ok: false,
      tail: "503 Service Unavailable\nunavailable: injected by fault proxy: Service Unavailable",
    },
    { fault: { status: 500 }, times: 1, puts: 2, ok: true },
    { fault: { status: 504 }, times: 1, puts: 2, ok: true },
    { fault: { status: 429 }, times: 5, puts: 6, ok: true },
    {
      fault: { status: 429 },
      times: 6,
      puts: 6,
      ok: false,
      tail: "429 Too Many Requests\ntoomanyrequests: injected by fault proxy: Too Many Requests",
    },
    { fault: { status: 408 }, times: 2, puts: 3, ok: true },
    { fault: { status: 401 }, times: 5, puts: 6, ok: true },
    {
      fault: { status: 401 },
      times: 6,
      puts: 6,
      ok: false,
      tail: "401 Unauthorized\nunauthorized: injected by fault proxy: Unauthorized",
    },
    {
      fault: { status: 502 },
      times: 1,
      puts: 1,
      ok: false,
      tail: "502 Bad Gateway\nunavailable: injected by fault proxy: Bad Gateway",
    },
    {
      fault: { status: 403, errors: [{ code: "DENIED", message: "no push" }] },
      times: 1,
      puts: 1,
      ok: false,
      tail: "403 Forbidden\ndenied: no push",
    },
    {
      fault: { status: 404, errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] },
      times: 1,
      puts: 1,
      ok: false,
      tail: "404 Not Found\nunknown: repository name not known to registry",
    },
    { fault: { status: 503, reason: "Backend fetch failed", errors: null }, times: 1, puts: 2, ok: true },
    {
      fault: { status: 503, reason: "Backend fetch failed", errors: null },
      times: 2,
      puts: 2,
      ok: false,
      tail: "503 Backend fetch failed",
    },
  ])(
    "manifest PUT answered $fault.status ($fault.reason) $times time(s): $puts PUT(s), pushed: $ok",
    async ({ fault, times, puts, ok, tail }) => {
      const repo = `acme/resend-${fault.status}-${times}-${fault.reason ? "reason" : "plain"}`;
      const got = await throughProxy(repo, (p) => void p.failNext(times, fault, match.manifestPut));
      expect(got.manifestPuts).toBe(puts);
      if (ok) {
        expect(got.error).toBeUndefined();
        expect(got.tags).toEqual(["1"]);
      } else {
        expect(got.error).toMatch(commitErr(repo, tail ?? ""));
        expect(got.tags).toEqual([]);
      }
    },
  );

  it("re-sends a 500 then a different 5xx again: only a repeated status stops containerd", async () => {
    const got = await throughProxy("acme/resend-500-503", (p) => {
      p.failNext(1, { status: 500 }, match.manifestPut);
      p.failNext(1, { status: 503 }, match.manifestPut);
    });
    expect(got.error).toBeUndefined();
    expect(got.manifestPuts).toBe(3);
  });

  it.each([
    {
      what: "manifest PUT",
      m: match.manifestPut,
      re: /^failed commit on ref "manifest-sha256:[0-9a-f]{64}": failed to do request: Put "http:\/\/PROXY\/v2\/acme\/drop-0\/manifests\/1": (EOF|read tcp \S+: read: connection reset by peer|write tcp \S+: write: (broken pipe|connection reset by peer))$/,
    },
    {
      what: "blob HEAD",
      m: match.blobHead,
      re: /^failed to do request: Head "http:\/\/PROXY\/v2\/acme\/drop-1\/blobs\/sha256:[0-9a-f]{64}": (EOF|read tcp \S+: read: connection reset by peer)$/,
    },
  ])("never re-sends a dropped connection ($what) and says so as Go does", async ({ m, re }) => {
    const repo = `acme/drop-${m === match.manifestPut ? 0 : 1}`;
    const got = await throughProxy(repo, (p) => void p.failNext(1, "drop", m));
    expect(got.error).toMatch(re);
    expect(got.requests.filter((r) => m(r))).toHaveLength(1);
  });

  it("says nothing of Retry-After and adds no prefix: a 429 with Retry-After reads as any 429", async () => {
    const got = await throughProxy(
      "acme/rate",
      (p) => void p.failNext(6, { status: 429, retryAfter: 7 }, match.manifestPut),
    );
    expect(got.error).not.toMatch(/retry-after|failed to export|failed to push/i);
    expect(got.error).toMatch(
      commitErr("acme/rate", "429 Too Many Requests\\ntoomanyrequests: injected by fault proxy: Too Many Requests"),
    );
  });

  it("forward-then-fail stores the manifest; a second push finds it by tag and sends no PUT at all", async () => {
    const proxy = await startFaultProxy(registry.port);
    try {
      const handle = proxy.failNext(2, { forwardThenFail: 503 }, match.manifestPut);
      const req = {
        address: `${proxy.host}/acme/stored:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "ci", password: USERS.ci },
      };
      await expect(backend.push(req)).rejects.toThrow(/: 503 Service Unavailable\nunavailable: /);
      expect(handle.hits).toBe(2);
      expect(proxy.requests.filter((r) => match.manifestPut(r)).map((r) => [r.upstream, r.outcome])).toEqual([
        [201, 503],
        [201, 503],
      ]);
      expect(await registry.client().listTags("acme/stored")).toEqual(["1"]);
      const before = proxy.count(match.manifestPut);
      const digest = await backend.push(req);
      expect(proxy.count(match.manifestPut)).toBe(before);
      expect((await registry.client().getManifest("acme/stored", "1")).digest).toBe(digest);
    } finally {
      await proxy.stop();
    }
  });

  it("checks a 2xx's Docker-Content-Digest as containerd's Commit does, and does not re-send", async () => {
    const other = `sha256:${"1".repeat(64)}`;
    const got = await throughProxy("acme/digest", (p) => void p.failNext(1, { wrongDigest: other }, match.manifestPut));
    expect(got.error).toMatch(
      new RegExp(`^failed commit on ref "manifest-sha256:([0-9a-f]{64})": got digest ${other}, expected sha256:\\1$`),
    );
    expect(got.manifestPuts).toBe(1);
    expect(got.tags).toEqual(["1"]);
  });

  it("hangs a matching request until the proxy stops, then fails with EOF", async () => {
    const proxy = await startFaultProxy(registry.port);
    const arrived = proxy.waitFor(match.manifestPut, 1);
    proxy.failNext(1, "hang", match.manifestPut);
    const push = backend
      .push({
        address: `${proxy.host}/acme/hang:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "ci", password: USERS.ci },
      })
      .then(
        () => "pushed",
        (e: unknown) => (e as Error).message,
      );
    await arrived;
    expect(await Promise.race([push, Promise.resolve("pending")])).toBe("pending");
    expect(proxy.requests.at(-1)).toMatchObject({ method: "PUT", outcome: "hang", fault: "hang" });
    await proxy.stop();
    expect(await push).toMatch(
      /^failed commit on ref "manifest-sha256:[0-9a-f]{64}": failed to do request: Put ".*": EOF$/,
    );
  });

  it("writes the image config as Dagger's publish does: no SOURCE_DATE_EPOCH, history rebuilt per layer", async () => {
    const dir = await contextDir({
      Dockerfile: `FROM ${BASE_IMAGE}\nARG SOURCE_DATE_EPOCH\nRUN echo "$SOURCE_DATE_EPOCH" > /epoch\n`,
    });
    dirs.push(dir);
    const built = await backend.build({
      contextDir: dir,
      dockerfile: "Dockerfile",
      dockerfileText: await readFile(path.join(dir, "Dockerfile"), "utf8"),
      buildArgs: [{ name: "SOURCE_DATE_EPOCH", value: "0" }],
      secrets: [],
    });
    await backend.push({
      address: `${registry.host}/acme/epoch:1`,
      variants: [{ image: built.image, platform: built.platform, labels: { a: "b" } }],
      auth: { username: "ci", password: USERS.ci },
    });
    const client = registry.client();
    const cfg = await client.imageConfig("acme/epoch", "1");
    const layers = (await client.imageManifest("acme/epoch", "1")).body.layers ?? [];
    expect(Object.keys(cfg)).toEqual(["architecture", "config", "created", "history", "os", "rootfs"]);
    const history = cfg.history as { created: string; comment: string }[];
    expect(history).toHaveLength(layers.length);
    expect(history.every((h) => h.comment === "buildkit.exporter.image.v0")).toBe(true);
    expect(cfg.created).toBe(history.at(-1)?.created);
    // The build arg reached RUN, but nothing was stamped with it.
    expect(cfg.created).not.toMatch(/^1970-/);
    expect(cfg.config?.Labels).toMatchObject({ a: "b" });
  });

  it("pushes a two-platform OCI index (arm64 variant from a per-arch local base)", async () => {
    const dir = await contextDir({
      Dockerfile: [
        "ARG TARGETARCH",
        "FROM dockyard-test/busybox:1-${TARGETARCH}",
        "ARG TARGETARCH",
        'RUN echo "$TARGETARCH" > /arch',
        "LABEL arch=${TARGETARCH}",
        "",
      ].join("\n"),
    });
    dirs.push(dir);
    const variants = [];
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      const built = await backend.build({
        contextDir: dir,
        dockerfile: "Dockerfile",
        dockerfileText: await readFile(path.join(dir, "Dockerfile"), "utf8"),
        platform,
        buildArgs: [],
        secrets: [],
      });
      expect(built.platform).toBe(platform);
      variants.push({
        image: built.image,
        platform: built.platform,
        labels: { "org.opencontainers.image.version": "2.0.0" },
      });
    }
    const digest = await backend.push({
      address: `${registry.host}/acme/multi:2.0.0`,
      variants,
      auth: { username: "ci", password: USERS.ci },
    });
    const client = registry.client();
    const index = await client.getManifest("acme/multi", "2.0.0");
    expect(index.digest).toBe(digest);
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.body.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual([
      "linux/amd64",
      "linux/arm64",
    ]);
    const arm = await client.imageConfig("acme/multi", "2.0.0", "linux/arm64");
    expect(arm.architecture).toBe("arm64");
    expect(arm.config?.Labels).toMatchObject({ arch: "arm64", "org.opencontainers.image.version": "2.0.0" });
    // Given in the other order, the index is the same: platforms are sorted by key (R2e).
    const again = await backend.push({
      address: `${registry.host}/acme/multi:2.0.0`,
      variants: [...variants].reverse(),
      auth: { username: "ci", password: USERS.ci },
    });
    expect(again).toBe(digest);
  });

  it("runs several registries at once, each with its own users and storage", async () => {
    const second = await startRegistry({ users: { bob: "bob-password" } });
    try {
      expect(second.port).not.toBe(registry.port);
      await backend.push({
        address: `${second.host}/acme/app:x`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "bob", password: "bob-password" },
      });
      expect(await second.client().listTags("acme/app")).toEqual(["x"]);
      expect(await registry.client().listTags("acme/app")).toEqual(["1a2b3c4"]);
    } finally {
      await second.stop();
    }
  });
});
