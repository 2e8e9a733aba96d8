/**
 * Rung 4 (real engine): dockyard's functions run by a real Dagger engine.
 *
 * Run with `dagger call -m test/dagger all` wherever a Dagger CLI exists (the project's GitHub workflow).
 */
import { argument, dag, Directory, func, object } from "@dagger.io/dagger";

const COMMIT = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";

function expectEqual(what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

@object()
export class Tests {
  hello: Directory;

  constructor(
    /** The example app the checks build. */
    @argument({ defaultPath: "/examples/hello" })
    hello: Directory,
  ) {
    this.hello = hello;
  }

  /** Tag rules through the engine: a semver tag gives version, X.Y, X and latest. */
  @func()
  async tags(): Promise<string> {
    const tags = await dag.dockyard({ source: this.hello }).tags({ commit: COMMIT, ref: "refs/tags/v1.2.3" });
    expectEqual("tags", tags, ["1a2b3c4", "1.2.3", "1.2", "1", "latest"]);
    return "tags: ok";
  }

  /** A dry run returns refs and pushes nothing. */
  @func()
  async dryRun(): Promise<string> {
    const refs = await dag
      .dockyard({ source: this.hello })
      .publish(["localhost:5000/hello"], { commit: COMMIT, ref: "refs/heads/main", dryRun: true });
    expectEqual("dry run", refs, ["localhost:5000/hello:1a2b3c4", "localhost:5000/hello:main"]);
    return "dry-run: ok";
  }

  /** A real build of examples/hello carries the OCI labels. */
  @func()
  async build(): Promise<string> {
    const ctr = dag.dockyard({ source: this.hello }).build({ commit: COMMIT, ref: "refs/tags/v2.0.0" });
    expectEqual("revision", await ctr.label("org.opencontainers.image.revision"), COMMIT);
    expectEqual("version", await ctr.label("org.opencontainers.image.version"), "2.0.0");
    return "build: ok";
  }

  /** A real publish to an anonymous, short-lived public registry; every ref comes back digest-pinned. */
  @func()
  async publish(): Promise<string> {
    const image = `ttl.sh/dockyard-ci-${Date.now().toString(36)}`;
    const refs = await dag
      .dockyard({ source: this.hello })
      .publish([image], { commit: COMMIT, ref: "refs/pull/7/merge", tags: ["1h"] });
    expectEqual(
      "tags",
      refs.map((r) => r.split("@")[0]),
      [`${image}:1a2b3c4`, `${image}:pr-7`, `${image}:1h`],
    );
    for (const ref of refs) {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref)) throw new Error(`not digest-pinned: ${ref}`);
    }
    return "publish: ok";
  }

  /** Every check, in order. */
  @func()
  async all(): Promise<string> {
    return [await this.tags(), await this.dryRun(), await this.build(), await this.publish()].join("\n");
  }
}
