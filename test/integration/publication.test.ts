// Rung 3 (engine double): publish's result object and its renderings for the next CI step, --push=false, and
// --staging on two native runners then merge, on real Docker builds and a real registry whose manifests are read back.
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { dockerAvailable, gitFixture, REPO_ROOT, useDockerWorld } from "./setup.js";

const docker = await dockerAvailable("rung 3 publication suite (docker backend)");
const PASSWORD = "ci-pass-90b1";

describe.skipIf(!docker)("the publish result, end to end on the docker backend", () => {
  const suite = useDockerWorld(PASSWORD);
  const count = (field: string) => suite.count(field);
  const chain = (dir: string, args: Record<string, unknown>) =>
    suite.world.double.module({ args: { source: suite.world.double.hostDirectory(dir) } }).call(
      "publish",
      { username: "ci", password: suite.world.double.cliSecret(PASSWORD), ...args },
      {
        returns: "Publication",
      },
    );

  it("a pushed publication: the registry's digest, digest-pinned refs, and each rendering", async () => {
    const g = gitFixture();
    const sha = g.head().slice(0, 7);
    const args = { images: [`${suite.registry.host}/acme/out`], tags: ["edge"] };
    const pub = await chain(g.dir, args).result<Record<string, unknown>>();
    const manifest = await suite.registry.client("ci").getManifest("acme/out", sha);
    // The renderings are fields publish filled: reading one is a field read, no module run.
    const { githubOutput: output, dotenv: env, json, markdown, ...data } = pub as Record<string, string>;
    expect(data).toEqual({
      refs: [sha, "main", "edge"].map((t) => `${suite.registry.host}/acme/out:${t}@${manifest.digest}`),
      digest: manifest.digest,
      tags: [sha, "main", "edge"],
      images: [`${suite.registry.host}/acme/out`],
      platforms: [expect.stringMatching(/^linux\/(amd64|arm64)$/)],
      // One platform: its image manifest is the pushed manifest itself, read back.
      platformDigests: [`${String((data.platforms as unknown as string[])[0])}=${manifest.digest}`],
      built: true,
      pushed: true,
      verified: true,
      commit: g.head(),
      dirty: false,
      // Not signed (no --sign): the signing fields are empty, and no rendering names them.
      signatures: [],
      signerIdentity: "",
      signerIssuer: "",
      signerKeyFingerprint: "",
      // No --provenance or --sbom: the attestation lists are empty, and no rendering names them either.
      provenanceAttestations: [],
      sbomAttestations: [],
    });
    for (const rendering of [output, env, json, markdown])
      expect(rendering).not.toMatch(/signer|signature|attestation/i);

    expect(output).toContain(`digest=${manifest.digest}\n`);
    expect(output).toContain("built=true\npushed=true\nverified=true\n");
    expect(output).toContain("dirty=false\n");
    expect(output).toMatch(new RegExp(`^refs<<(DOCKYARD_EOF_[0-9a-f]{16})\\n(?:.+\\n){3}\\1$`, "m"));
    expect(env).toContain(`IMAGE_DIGEST=${manifest.digest}\n`);
    expect(env).toContain(`IMAGE_REF=${suite.registry.host}/acme/out:${sha}@${manifest.digest}\n`);
    expect(env).toContain("IMAGE_DIRTY=false\nIMAGE_BUILT=true\nIMAGE_PUSHED=true\nIMAGE_VERIFIED=true\n");
    // Unsigned, the JSON leaves the empty signing fields out (an unsigned publication renders as before).
    const {
      signatures: _s,
      signerIdentity: _i,
      signerIssuer: _j,
      signerKeyFingerprint: _k,
      provenanceAttestations: _p,
      sbomAttestations: _b,
      ...unsigned
    } = data;
    expect(JSON.parse(json ?? "")).toEqual(unsigned);
    expect(markdown).toContain(manifest.digest);
  });

  it("several platforms: the digest is the pushed index's, and every ref is pinned to it", async () => {
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const pub = await chain(g.dir, {
      images: [`${suite.registry.host}/acme/index`],
      platforms: ["linux/amd64", "linux/arm64"],
    }).result<{ refs: string[]; digest: string; platforms: string[] }>();
    const index = await suite.registry.client("ci").getManifest("acme/index", g.head().slice(0, 7));
    expect(index.body.manifests?.map((m) => m.platform?.architecture).sort()).toEqual(["amd64", "arm64"]);
    expect(pub.digest).toBe(index.digest);
    expect(pub.refs.every((r) => r.endsWith(`@${index.digest}`))).toBe(true);
    expect(pub.platforms).toEqual(["linux/amd64", "linux/arm64"]);
  });

  it("--staging on each native runner pushes one platform under its staging tag only; merge assembles them", async () => {
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const sha = g.head().slice(0, 7);
    const host = suite.registry.host;
    const client = suite.registry.client("ci");
    const staged: { digest: string }[] = [];
    for (const platform of ["linux/amd64", "linux/arm64"]) {
      const pub = await chain(g.dir, { images: [`${host}/acme/native`], platforms: [platform], staging: true }).result<
        Record<string, unknown>
      >();
      const tag = `${sha}-${platform.replace("/", "-")}`;
      const manifest = await client.getManifest("acme/native", tag);
      // One platform: the pushed manifest is that platform's image manifest, not an index.
      expect(manifest.body.config).toBeDefined();
      expect(manifest.body.manifests).toBeUndefined();
      expect((await client.imageConfig("acme/native", tag)).architecture).toBe(platform.split("/")[1]);
      expect(pub).toMatchObject({
        refs: [`${host}/acme/native:${tag}@${manifest.digest}`],
        digest: manifest.digest,
        tags: [tag],
        platforms: [platform],
        built: true,
        pushed: true,
      });
      staged.push({ digest: manifest.digest });
    }
    // No runner touched a final tag.
    expect((await client.listTags("acme/native")).sort()).toEqual([`${sha}-linux-amd64`, `${sha}-linux-arm64`]);
    const merged = await suite.world.double
      .module()
      .call(
        "merge",
        {
          from: staged.map((s) => `${host}/acme/native@${s.digest}`),
          images: [`${host}/acme/native`],
          commit: g.head(),
          ref: "refs/heads/main",
          username: "ci",
          password: suite.world.double.cliSecret(PASSWORD),
        },
        { returns: "Publication" },
      )
      .result<{ digest: string; refs: string[]; platforms: string[] }>();
    const index = await client.getManifest("acme/native", "main");
    expect(index.digest).toBe(merged.digest);
    expect(index.body.manifests?.map((m) => [m.digest, m.platform?.architecture])).toEqual([
      [staged[0]!.digest, "amd64"],
      [staged[1]!.digest, "arm64"],
    ]);
    expect(merged.refs).toEqual([sha, "main"].map((t) => `${host}/acme/native:${t}@${merged.digest}`));
    expect(merged.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    // Both runners' builds carry the commit as their revision (merge's commit check); the index carries the OCI
    // labels they share.
    expect(index.body.annotations?.["org.opencontainers.image.revision"]).toBe(g.head());
    expect(Object.keys(index.body.annotations ?? {}).every((k) => k.startsWith("org.opencontainers.image."))).toBe(
      true,
    );
  });

  it("--push=false builds every platform and pushes nothing", async () => {
    const g = gitFixture(join(REPO_ROOT, "test/fixtures/multiarch"));
    const pub = await chain(g.dir, {
      images: [`${suite.registry.host}/acme/pr`],
      platforms: ["linux/amd64", "linux/arm64"],
      ref: "refs/pull/7/merge",
      push: false,
    }).result<Record<string, unknown>>();
    const sha = g.head().slice(0, 7);
    expect(pub).toMatchObject({
      refs: [`${suite.registry.host}/acme/pr:${sha}`, `${suite.registry.host}/acme/pr:pr-7`],
      digest: "",
      built: true,
      pushed: false,
      platforms: ["linux/amd64", "linux/arm64"],
    });
    expect(suite.world.double.builds).toBe(2);
    expect(count("Container.publish")).toBe(0);
    expect(await suite.registry.client("ci").listTags("acme/pr")).toEqual([]);
  });

  it("--dry-run builds nothing and pushes nothing, and says what it would push", async () => {
    const g = gitFixture();
    const pub = await chain(g.dir, { images: [`${suite.registry.host}/acme/plan`], dryRun: true }).result<
      Record<string, unknown>
    >();
    expect(pub).toMatchObject({
      built: false,
      pushed: false,
      digest: "",
      refs: [`${suite.registry.host}/acme/plan:${g.head().slice(0, 7)}`, `${suite.registry.host}/acme/plan:main`],
    });
    expect(suite.world.double.builds).toBe(0);
    expect(count("Directory.dockerBuild")).toBe(0);
  });
});
