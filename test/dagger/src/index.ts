/**
 * Rung 4 (real engine): dockyard's functions run by a real Dagger engine.
 *
 * Run with `dagger call -m test/dagger all` wherever a Dagger CLI exists (the project's GitHub workflow).
 */
import { argument, dag, Directory, func, object } from "@dagger.io/dagger";

const COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
const DIGEST_PINNED = /@sha256:[0-9a-f]{64}$/;

function expectEqual(what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

@object()
export class Tests {
  hello: Directory;

  constructor(
    /** The example app the checks build (a folder of this repository, without .git). */
    @argument({ defaultPath: "/examples/hello" })
    hello: Directory,
  ) {
    this.hello = hello;
  }

  /** Tag rules through the engine, with no source at all: a semver tag gives version, X.Y, X and latest. */
  @func()
  async tags(): Promise<string> {
    const tags = await dag.dockyard().tags({ commit: COMMIT, ref: "refs/tags/v1.2.3" });
    expectEqual("tags", tags, ["1a2b3c4", "1.2.3", "1.2", "1", "latest"]);
    return "tags: ok";
  }

  /** A dry run returns the refs it would push and pushes nothing. */
  @func({ cache: "never" })
  async dryRun(): Promise<string> {
    const publication = dag
      .dockyard({ source: this.hello })
      .publish(["localhost:5000/hello"], { commit: COMMIT, ref: "refs/heads/main", dryRun: true });
    expectEqual("dry run refs", await publication.refs(), [
      "localhost:5000/hello:1a2b3c4",
      "localhost:5000/hello:main",
    ]);
    expectEqual("dry run built", await publication.built(), false);
    expectEqual("dry run pushed", await publication.pushed(), false);
    return "dry-run: ok";
  }

  /** A real build of examples/hello (a folder without .git: the arguments are trusted) carries the OCI labels. */
  @func()
  async build(): Promise<string> {
    const ctr = dag.dockyard({ source: this.hello }).build({ commit: COMMIT, ref: "refs/tags/v2.0.0" });
    expectEqual("revision", await ctr.label("org.opencontainers.image.revision"), COMMIT);
    expectEqual("version", await ctr.label("org.opencontainers.image.version"), "2.0.0");
    return "build: ok";
  }

  /** --push=false builds and pushes nothing, for pull requests from forks. */
  @func({ cache: "never" })
  async buildOnly(): Promise<string> {
    const publication = dag
      .dockyard({ source: this.hello })
      .publish(["ttl.sh/dockyard-never-pushed"], { commit: COMMIT, ref: "refs/pull/7/merge", push: false });
    expectEqual("built", await publication.built(), true);
    expectEqual("pushed", await publication.pushed(), false);
    expectEqual("digest", await publication.digest(), "");
    return "build-only: ok";
  }

  /**
   * A real publish to an anonymous, short-lived public registry; every ref comes back digest-pinned. Each read below
   * sends the whole chain again; publish is cached for the session, so all four come from one push.
   */
  @func({ cache: "never" })
  async publish(): Promise<string> {
    const image = `ttl.sh/dockyard-ci-${Date.now().toString(36)}`;
    const publication = dag
      .dockyard({ source: this.hello })
      .publish([image], { commit: COMMIT, ref: "refs/pull/7/merge", tags: ["1h"] });
    const refs = await publication.refs();
    expectEqual(
      "tags",
      refs.map((r) => r.split("@")[0]),
      [`${image}:1a2b3c4`, `${image}:pr-7`, `${image}:1h`],
    );
    for (const ref of refs) {
      if (!DIGEST_PINNED.test(ref)) throw new Error(`not digest-pinned: ${ref}`);
    }
    const digest = await publication.digest();
    if (!refs.every((r) => r.endsWith(`@${digest}`))) throw new Error(`refs do not carry the digest ${digest}`);
    if (!(await publication.githubOutput()).includes(`digest=${digest}\n`))
      throw new Error("github-output lacks the digest");
    const json = JSON.parse(await publication.json()) as { refs: string[]; digest: string };
    expectEqual("json", [json.refs, json.digest], [refs, digest]);
    return "publish: ok";
  }

  /**
   * Publishes to `registry` (one the workflow runs in the engine's own network namespace, so the engine reaches it
   * as localhost) and reads four fields of the result, each sending the whole chain again; returns how many refs
   * there are. The workflow counts the registry's manifest HEADs (containerd checks each tag once per push before
   * its PUT): as many as refs means one push.
   */
  @func({ cache: "never" })
  async publishOnce(registry: string): Promise<number> {
    const image = `${registry}/dockyard/once`;
    const publication = dag
      .dockyard({ source: this.hello })
      // The module's container cannot reach the engine's localhost: main goes by a second Dagger push (the fan-out's
      // fallback), and nothing can be read back from there.
      .publish([image], { commit: COMMIT, ref: "refs/heads/main", verify: false });
    const digest = await publication.digest();
    const refs = await publication.refs();
    const json = JSON.parse(await publication.json()) as { refs: string[]; digest: string };
    const output = await publication.githubOutput();
    expectEqual("refs", refs, [`${image}:1a2b3c4@${digest}`, `${image}:main@${digest}`]);
    expectEqual("json", [json.refs, json.digest], [refs, digest]);
    if (!output.includes(`digest=${digest}\n`)) throw new Error("github-output lacks the digest");
    return refs.length;
  }

  /** Every check, in order. */
  @func({ cache: "never" })
  async all(): Promise<string> {
    return [
      await this.tags(),
      await this.dryRun(),
      await this.build(),
      await this.buildOnly(),
      await this.publish(),
    ].join("\n");
  }
}
