// Rung 3 (engine double): publish-containers and Metadata.apply through the real SDK, on containers a test mints in
// the double with dockerBuild (as another module would build them), built by real Docker and pushed to a real
// registry whose indexes, manifests and image configs are read back.
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { publicationData, type PublicationResult } from "../infra/publication.js";
import { dockerAvailable, gitFixture, REPO_ROOT, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 publish-containers suite (docker backend)");
const PASSWORD = "ci-pass-5e2b";
// One image per architecture: dockyard-test/busybox:1-${TARGETARCH}.
const MULTIARCH = join(REPO_ROOT, "test/fixtures/multiarch");
const OCI = "org.opencontainers.image";

describe.skipIf(!docker)("publish-containers and Metadata.apply, end to end on the docker backend", () => {
  const suite = useDockerWorld(PASSWORD);
  const double = () => suite.world.double;
  const client = () => suite.registry.client("ci");
  const since = (mark: number) =>
    double()
      .journal.slice(mark)
      .map((e) => e.field);

  /** A Container ID, as another module's `dag.directory(...).dockerBuild({ platform })` would hand it over. */
  async function containerOf(dir: string, platform: string): Promise<string> {
    const id = double().hostDirectory(dir);
    const { body } = await double().query(
      `{ node(id: "${id}") { ... on Directory { dockerBuild(platform: "${platform}") { id } } } }`,
    );
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return (body.data as { node: { dockerBuild: { id: string } } }).node.dockerBuild.id;
  }

  /** `dagger call [--source=<dir>] publish-containers --containers=… --username ci --password env:…`. */
  async function publishContainers(source: string | undefined, args: Record<string, unknown>) {
    const chain = source ? double().module({ args: { source: double().hostDirectory(source) } }) : double().module();
    const result = await chain
      .call(
        "publishContainers",
        { username: "ci", password: double().cliSecret(PASSWORD), ...args },
        { returns: "Publication" },
      )
      .result<PublicationResult>();
    return publicationData(result);
  }

  describe("published under dockyard's tags, every variant labelled, read back from the registry", () => {
    it.each([
      {
        name: "two platforms; commit and ref from --source's .git",
        platforms: ["linux/amd64", "linux/arm64"],
        withSource: true,
        given: (_commit: string) => ({}),
        tags: (sha: string) => [sha, "main"],
        version: "main",
      },
      {
        name: "the arm64 variant first: the order given is the result's",
        platforms: ["linux/arm64", "linux/amd64"],
        withSource: true,
        given: (_commit: string) => ({}),
        tags: (sha: string) => [sha, "main"],
        version: "main",
      },
      {
        name: "one container; --commit and --ref without --source",
        platforms: ["linux/amd64"],
        withSource: false,
        given: (commit: string) => ({ commit, ref: "refs/tags/v1.2.3" }),
        tags: (sha: string) => [sha, "1.2.3", "1.2", "1", "latest"],
        version: "1.2.3",
      },
    ])("$name", async ({ platforms, withSource, given, tags, version }) => {
      const g = gitFixture(MULTIARCH);
      const sha = g.head().slice(0, 7);
      const repo = `acme/variants-${platforms.length}-${platforms[0]!.split("/")[1]}-${withSource ? "src" : "args"}`;
      const containers = await Promise.all(platforms.map((p) => containerOf(g.dir, p)));
      const pub = await publishContainers(withSource ? g.dir : undefined, {
        containers,
        images: [`${suite.registry.host}/${repo}`],
        labels: ["com.example.scan=approved"],
        ...given(g.head()),
      });

      const top = await client().getManifest(repo, sha);
      expect(pub).toEqual({
        refs: tags(sha).map((t) => `${suite.registry.host}/${repo}:${t}@${top.digest}`),
        digest: top.digest,
        tags: tags(sha),
        images: [`${suite.registry.host}/${repo}`],
        platforms,
        // Each platform's image manifest: the index's children, or the one image manifest.
        platformDigests: top.body.manifests
          ? top.body.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}=${m.digest}`)
          : [`${platforms[0]}=${top.digest}`],
        built: true,
        pushed: true,
        verified: true,
        commit: g.head(),
        dirty: false,
      });
      expect((await client().listTags(repo)).sort()).toEqual([...tags(sha)].sort());
      for (const tag of tags(sha)) expect((await client().getManifest(repo, tag)).digest).toBe(top.digest);
      // Several containers make one index; one makes a plain image manifest.
      expect(top.body.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort()).toEqual(
        platforms.length > 1 ? [...platforms].sort() : undefined,
      );
      for (const platform of platforms) {
        const config = await client().imageConfig(repo, sha, platform);
        expect(`${config.os}/${config.architecture}`).toBe(platform);
        expect(config.config?.Labels).toEqual({
          [`${OCI}.revision`]: g.head(),
          [`${OCI}.version`]: version,
          [`${OCI}.title`]: repo.split("/").pop(),
          "com.example.scan": "approved",
        });
      }
      expect(double().publishes.every((p) => p.variants === platforms.length)).toBe(true);
    });
  });

  it.each([
    { name: "--dry-run", args: { dryRun: true }, built: false },
    { name: "--push=false", args: { push: false }, built: true },
  ])("$name: every platform is read and the refs planned; nothing is pushed", async ({ args, built }) => {
    const g = gitFixture(MULTIARCH);
    const sha = g.head().slice(0, 7);
    const containers = [await containerOf(g.dir, "linux/amd64"), await containerOf(g.dir, "linux/arm64")];
    const pub = await publishContainers(g.dir, {
      containers,
      images: [`${suite.registry.host}/acme/plan`],
      ...args,
    });
    expect(pub).toMatchObject({
      refs: [`${suite.registry.host}/acme/plan:${sha}`, `${suite.registry.host}/acme/plan:main`],
      digest: "",
      platforms: ["linux/amd64", "linux/arm64"],
      built,
      pushed: false,
    });
    expect(suite.count("Container.platform")).toBe(2);
    expect(suite.count("Container.publish")).toBe(0);
    expect(await client().listTags("acme/plan")).toEqual([]);
  });

  it("--staging: each runner's one container goes under its staging tag only, on a release too; merge assembles them", async () => {
    const g = gitFixture(MULTIARCH);
    const sha = g.head().slice(0, 7);
    const host = suite.registry.host;
    const release = { commit: g.head(), ref: "refs/tags/v1.2.3" };
    const staged: string[] = [];
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      const mark = double().journal.length;
      const pub = await publishContainers(undefined, {
        containers: [await containerOf(g.dir, platform)],
        images: [`${host}/acme/native-containers`],
        staging: true,
        ...release,
      });
      const tag = `${sha}-${platform.replace("/", "-")}`;
      const manifest = await client().getManifest("acme/native-containers", tag);
      // One platform's image manifest, not an index; labelled with the commit like every publish-containers variant.
      expect(manifest.body.manifests).toBeUndefined();
      expect((await client().imageConfig("acme/native-containers", tag)).config?.Labels?.[`${OCI}.revision`]).toBe(
        g.head(),
      );
      expect(pub).toMatchObject({
        refs: [`${host}/acme/native-containers:${tag}@${manifest.digest}`],
        digest: manifest.digest,
        tags: [tag],
        platforms: [platform],
        pushed: true,
        verified: true,
      });
      // A staging push moves no latest, so --latest=auto lists no tags for it: one Dagger push and nothing more.
      expect(since(mark).filter((f) => f === "Container.publish")).toHaveLength(1);
      staged.push(manifest.digest);
    }
    // No runner touched a final tag (1.2.3, 1.2, 1, latest).
    expect((await client().listTags("acme/native-containers")).sort()).toEqual([
      `${sha}-linux-amd64`,
      `${sha}-linux-arm64`,
    ]);
    const merged = await double()
      .module()
      .call(
        "merge",
        {
          from: staged.map((d) => `${host}/acme/native-containers@${d}`),
          images: [`${host}/acme/native-containers`],
          username: "ci",
          password: double().cliSecret(PASSWORD),
          ...release,
        },
        { returns: "Publication" },
      )
      .result<{ digest: string }>();
    const index = await client().getManifest("acme/native-containers", "1.2.3");
    expect(index.digest).toBe(merged.digest);
    expect(index.body.manifests?.map((m) => m.digest)).toEqual(staged);
  });

  describe("bad input pushes nothing", () => {
    it.each([
      {
        name: "--staging with two containers: refused before any engine call (the tag names one platform)",
        platforms: ["linux/amd64", "linux/arm64"],
        images: (host: string) => [`${host}/acme/bad-staging`],
        staging: true,
        match: /^--staging: needs exactly one container, the runner's own platform \(given: 2\)/,
        platformsAsked: 0,
      },
      {
        name: "no containers: refused before any engine call",
        platforms: [],
        images: (host: string) => [`${host}/acme/bad-empty`],
        match: /^--containers "": give at least one container \(one container per platform/,
        platformsAsked: 0,
      },
      {
        name: "a bad image name: refused before any engine call",
        platforms: ["linux/amd64"],
        images: (host: string) => [`${host}/Acme/Bad-Name`],
        match: /^--images ".*\/Acme\/Bad-Name": repository must be lowercase/,
        platformsAsked: 0,
      },
      {
        name: "two containers of one platform: our check, before any push (Dagger would refuse only at export)",
        platforms: ["linux/amd64", "linux/arm64", "linux/amd64"],
        images: (host: string) => [`${host}/acme/bad-dup`],
        match:
          /^--containers "linux\/amd64,linux\/arm64,linux\/amd64": containers 1 and 3 are both linux\/amd64 \(Container\.platform\)/,
        platformsAsked: 3,
      },
    ])("$name", async ({ platforms, images, match, platformsAsked, ...rest }) => {
      const g = gitFixture(MULTIARCH);
      const containers = await Promise.all(platforms.map((p) => containerOf(g.dir, p)));
      const mark = double().journal.length;
      const staging = "staging" in rest ? { staging: rest.staging } : {};
      const err = await publishContainers(g.dir, { containers, images: images(suite.registry.host), ...staging }).catch(
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(match);
      expect(since(mark).filter((f) => f === "Container.platform")).toHaveLength(platformsAsked);
      expect(since(mark)).not.toContain("Container.withLabel");
      expect(since(mark)).not.toContain("Container.publish");
      expect(double().publishes).toEqual([]);
      const repo = images(suite.registry.host)[0]!.split("/").slice(1).join("/").toLowerCase();
      expect(await client().listTags(repo)).toEqual([]);
    });
  });

  it("Metadata.apply labels a container with exactly metadata's labels (a value holding = kept whole)", async () => {
    const g = gitFixture(MULTIARCH);
    const container = await containerOf(g.dir, "linux/amd64");
    const metadataArgs = {
      commit: g.head(),
      ref: "refs/heads/release/2",
      labels: ["com.example.note=a=b=c"],
      sourceUrl: "https://git.example/acme/app",
    };
    const metadata = () => double().module().call("metadata", metadataArgs, { returns: "Metadata" });
    const { labels } = await metadata().result<{ labels: string[] }>();
    const labelled = await metadata().call("apply", { container }).result<string>();
    expect(labelled).not.toBe(container);

    // Push the returned container as its caller would, and read its image config back.
    const secret = double().secret("registry-password", PASSWORD);
    const { body } = await double().query(
      `{ node(id: "${labelled}") { ... on Container { withRegistryAuth(address: "${suite.registry.host}", username: "ci", secret: "${secret}") { publish(address: "${suite.registry.host}/acme/applied:1") } } } }`,
    );
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    const config = await client().imageConfig("acme/applied", "1");
    expect(config.config?.Labels).toEqual({
      [`${OCI}.revision`]: g.head(),
      [`${OCI}.version`]: "release-2",
      [`${OCI}.source`]: "https://git.example/acme/app",
      "com.example.note": "a=b=c",
    });
    expect([...labels].sort()).toEqual(
      Object.entries(config.config?.Labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
    );
  });
});
