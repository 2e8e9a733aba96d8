// Rung 3 (engine double): real Docker engine and real registry — the infra under the engine double, checked end to end.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
import { match, startFaultProxy } from "./fault-proxy.js";
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

  it("fails with a BuildKit-like 401 on a wrong password and pushes no tag", async () => {
    const err = await backend
      .push({
        address: `${registry.host}/acme/denied:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "ci", password: "wrong-password" },
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(
      new RegExp(
        `^failed to export: failed to push ${registry.host}/acme/denied:1: unexpected status from HEAD request to http://${registry.host}/v2/acme/denied/blobs/sha256:[0-9a-f]{64}: 401 Unauthorized$`,
      ),
    );
    expect(err?.message).not.toContain("wrong-password");
    expect(await registry.client().listTags("acme/denied")).toEqual([]);
  });

  it("fails like containerd when the registry asks for credentials and none are given", async () => {
    const err = await backend
      .push({
        address: `${registry.host}/acme/anon:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toContain(
      "push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
    );
  });

  it("survives two injected 503s on the manifest PUT when the caller retries (third attempt wins)", async () => {
    const proxy = await startFaultProxy(registry.port);
    try {
      proxy.failNext(2, { status: 503 }, match.manifestPut);
      const req = {
        address: `${proxy.host}/acme/flaky:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "ci", password: USERS.ci },
      };
      const errors: string[] = [];
      let digest: string | undefined;
      for (let attempt = 1; attempt <= 3 && digest === undefined; attempt++) {
        digest = await backend.push(req).catch((e: Error) => (errors.push(e.message), undefined));
      }
      expect(errors).toHaveLength(2);
      for (const e of errors)
        expect(e).toMatch(
          new RegExp(
            `unexpected status from PUT request to http://${proxy.host}/v2/acme/flaky/manifests/1: 503 Service Unavailable$`,
          ),
        );
      expect(digest).toMatch(/^sha256:/);
      expect(proxy.faulted).toBe(2);
      expect(await registry.client().listTags("acme/flaky")).toEqual(["1"]);
    } finally {
      await proxy.stop();
    }
  });

  it("turns 429 with Retry-After and a dropped connection into BuildKit-like errors", async () => {
    const proxy = await startFaultProxy(registry.port);
    try {
      const req = {
        address: `${proxy.host}/acme/limited:1`,
        variants: [{ image: appImage, platform: `linux/${hostArch()}`, labels: {} }],
        auth: { username: "ci", password: USERS.ci },
      };
      proxy.failNext(1, { status: 429, retryAfter: 7 }, match.manifestPut);
      await expect(backend.push(req)).rejects.toThrow(
        /manifests\/1: 429 Too Many Requests \(Retry-After: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/,
      );
      proxy.failNext(1, "drop", match.manifestPut);
      await expect(backend.push(req)).rejects.toThrow(
        /failed to do request: Put "http:\/\/127\.0\.0\.1:\d+\/v2\/acme\/limited\/manifests\/1": (EOF|read tcp .* connection reset by peer)$/,
      );
      expect(proxy.faulted).toBe(2);
    } finally {
      await proxy.stop();
    }
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
    const again = await backend.push({
      address: `${registry.host}/acme/multi:2.0.0`,
      variants,
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
