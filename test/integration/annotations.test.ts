// Rung 3 (engine double): publish --annotations on the docker backend: real Docker builds pushed to Debian's
// docker-registry 2.8.2 on loopback; skopeo reads the index and each platform manifest back, independently of
// dockyard's client, which rewrote the index after the push.
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { FunctionCallError } from "../engine/server.js";
import { publicationData, type PublicationResult } from "../infra/publication.js";
import { digestRead, rawRead } from "../infra/skopeo.js";
import { dockerAvailable, gitFixture, REPO_ROOT, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 annotations suite (docker backend)");
const PASSWORD = "ci-pass-a77e";
const CREDS = `ci:${PASSWORD}`;
const MULTIARCH = join(REPO_ROOT, "test/fixtures/multiarch");
const PLATFORMS = ["linux/amd64", "linux/arm64"];
const OCI = "org.opencontainers.image";
const DESCRIPTION = "Acme web app, annotated";

interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
  platform: { os: string; architecture: string };
}
interface Manifest {
  mediaType: string;
  annotations?: Record<string, string>;
  manifests?: Descriptor[];
  config?: { digest: string };
}

const read = async (ref: string) => JSON.parse((await rawRead(ref, CREDS)).toString("utf8")) as Manifest;

describe.skipIf(!docker)("publish --annotations, end to end on the docker backend", () => {
  const suite = useDockerWorld(PASSWORD);

  /** `dagger call --source=<dir> publish --username ci --password env:… …` through the double. */
  async function publish(dir: string, args: Record<string, unknown>) {
    const d = suite.world.double;
    const result = await d
      .module({ args: { source: d.hostDirectory(dir) } })
      .call("publish", { username: "ci", password: d.cliSecret(PASSWORD), ...args }, { returns: "Publication" })
      .result<PublicationResult>();
    return publicationData(result);
  }

  it("two platforms: the index carries the defaults and the index-level ones under every tag, at the reported and verified digest; each manifest and its descriptor the manifest-level ones", async () => {
    const g = gitFixture(MULTIARCH);
    const commit = g.head();
    const sha = commit.slice(0, 7);
    const image = `${suite.registry.host}/acme/annotated`;
    const pub = await publish(g.dir, {
      images: [image],
      platforms: PLATFORMS,
      annotations: [`index:${OCI}.description=${DESCRIPTION}`, "com.example.team=core"],
    });

    // Every tag names the rewritten index, and that is the digest reported and verified.
    for (const tag of [sha, "main"]) expect(await digestRead(`${image}:${tag}`, CREDS)).toBe(pub.digest);
    expect(pub).toMatchObject({
      pushed: true,
      verified: true,
      refs: [`${image}:${sha}@${pub.digest}`, `${image}:main@${pub.digest}`],
    });

    const index = await read(`${image}:main`);
    expect(index.annotations).toEqual({
      [`${OCI}.revision`]: commit,
      [`${OCI}.version`]: "main",
      [`${OCI}.title`]: "annotated",
      [`${OCI}.description`]: DESCRIPTION,
    });
    // The children are the ones pushed, each platform's digest as verify read it.
    const children = index.manifests ?? [];
    expect(pub.platformDigests).toEqual(children.map((c) => `${c.platform.os}/${c.platform.architecture}=${c.digest}`));
    const manifestLevel = {
      [`${OCI}.revision`]: commit,
      [`${OCI}.version`]: "main",
      [`${OCI}.title`]: "annotated",
      "com.example.team": "core",
    };
    for (const child of children) {
      expect(child.annotations).toEqual(manifestLevel);
      const manifest = await read(`${image}@${child.digest}`);
      expect(manifest.annotations).toEqual(manifestLevel);
      expect(await digestRead(`${image}@${child.digest}`, CREDS)).toBe(child.digest);
    }
  });

  it("one platform: no index, so the index-level annotations go on the manifest the tags name", async () => {
    const g = gitFixture();
    const commit = g.head();
    const image = `${suite.registry.host}/acme/single`;
    const pub = await publish(g.dir, {
      images: [image],
      annotations: [`index:${OCI}.description=${DESCRIPTION}`, `${OCI}.description=manifest level loses`],
    });
    expect(await digestRead(`${image}:main`, CREDS)).toBe(pub.digest);
    const manifest = await read(`${image}:main`);
    expect(manifest.manifests).toBeUndefined();
    expect(manifest.annotations).toMatchObject({ [`${OCI}.revision`]: commit, [`${OCI}.description`]: DESCRIPTION });
    expect(pub.verified).toBe(true);
  });

  it("--verify=false still rewrites the index, every tag at its digest", async () => {
    const g = gitFixture(MULTIARCH);
    const image = `${suite.registry.host}/acme/unverified-annotated`;
    const pub = await publish(g.dir, {
      images: [image],
      platforms: PLATFORMS,
      verify: false,
    });
    const index = await read(`${image}:main`);
    for (const tag of [g.head().slice(0, 7), "main"])
      expect(await digestRead(`${image}:${tag}`, CREDS)).toBe(pub.digest);
    expect(index.annotations?.[`${OCI}.revision`]).toBe(g.head());
    expect(pub.verified).toBe(false);
  });

  it("publish-containers: a container's own annotations are kept, dockyard's added, and the index annotated", async () => {
    const g = gitFixture(MULTIARCH);
    const d = suite.world.double;
    const dir = d.hostDirectory(g.dir);
    // As another module hands them over: the amd64 variant already annotated by it.
    const { body } = await d.query(
      `{ a: node(id: "${dir}") { ... on Directory { dockerBuild(platform: "linux/amd64") { withAnnotation(name: "com.example.scan", value: "approved") { id } } } }
         b: node(id: "${dir}") { ... on Directory { dockerBuild(platform: "linux/arm64") { id } } } }`,
    );
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    const ids = body.data as {
      a: { dockerBuild: { withAnnotation: { id: string } } };
      b: { dockerBuild: { id: string } };
    };
    const image = `${suite.registry.host}/acme/containers-annotated`;
    const result = await d
      .module({ args: { source: dir } })
      .call(
        "publishContainers",
        {
          containers: [ids.a.dockerBuild.withAnnotation.id, ids.b.dockerBuild.id],
          images: [image],
          username: "ci",
          password: d.cliSecret(PASSWORD),
          annotations: [`index:${OCI}.description=${DESCRIPTION}`],
        },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    const pub = publicationData(result);
    expect(await digestRead(`${image}:main`, CREDS)).toBe(pub.digest);
    expect(pub.verified).toBe(true);
    const index = await read(`${image}:main`);
    expect(index.annotations).toMatchObject({ [`${OCI}.revision`]: g.head(), [`${OCI}.description`]: DESCRIPTION });
    const byArch = Object.fromEntries(
      await Promise.all(
        (index.manifests ?? []).map(async (c) => [
          c.platform.architecture,
          (await read(`${image}@${c.digest}`)).annotations,
        ]),
      ),
    ) as Record<string, Record<string, string> | undefined>;
    expect(byArch.amd64).toMatchObject({ "com.example.scan": "approved", [`${OCI}.revision`]: g.head() });
    expect(byArch.arm64?.["com.example.scan"]).toBeUndefined();
    expect(byArch.arm64?.[`${OCI}.revision`]).toBe(g.head());
    expect(byArch.arm64?.[`${OCI}.description`]).toBeUndefined();
  });

  it.each([
    { input: "manifest-descriptor:a=b", match: /--annotations "manifest-descriptor:a=b": .*\(try "manifest:a=b"\)/ },
    { input: "index:Team=core", match: /--annotations "index:Team=core": .*\(try "index:team=core"\)/ },
  ])("refuses $input before any build or push", async ({ input, match }) => {
    const g = gitFixture();
    const image = `${suite.registry.host}/acme/refused`;
    const err = await publish(g.dir, { images: [image], annotations: [input] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FunctionCallError);
    expect((err as FunctionCallError).message).toMatch(match);
    expect(suite.count("Directory.dockerBuild")).toBe(0);
    expect(suite.count("Container.publish")).toBe(0);
  });
});
