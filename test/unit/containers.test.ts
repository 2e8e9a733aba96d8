// Unit: publish-containers' request (src/request.ts, src/input/containers.ts): the list must not be empty, one
// container per platform, and every other argument read as publish reads it.
import { describe, expect, it } from "vitest";

import { requireContainers, requireOnePerPlatform } from "../../src/input/containers.js";
import { publishContainersRequest, publishRequest } from "../../src/request.js";
import { COMMIT } from "../fixtures/commits.js";
import { expectRefusal, listParse, refusalOf } from "./refusal.js";

const BASE = { containers: ["ctr-1"], images: ["ghcr.io/acme/app"], commit: COMMIT, ref: "main" };

describe("requireContainers", () => {
  it("refuses an empty list, saying to give one container per platform", () => {
    const err = refusalOf(() => requireContainers([]));
    expectRefusal(err, "--containers", { input: "", why: /give at least one container/ }, () => undefined);
    expect(err.hint).toMatch(/one container per platform/);
  });

  it.each([[["a"]], [["a", "b", "c"]]])("keeps %j as given", (containers) => {
    expect(requireContainers(containers)).toEqual(containers);
  });
});

describe("requireOnePerPlatform", () => {
  it.each([
    [["linux/amd64"]],
    [["linux/amd64", "linux/arm64"]],
    [["linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/arm64/v9"]],
  ])("accepts %j", (platforms) => {
    expect(requireOnePerPlatform(platforms)).toEqual(platforms);
  });

  it.each([
    { platforms: ["linux/amd64", "linux/amd64"], why: /containers 1 and 2 are both linux\/amd64/ },
    {
      platforms: ["linux/amd64", "linux/arm64", "linux/amd64"],
      why: /containers 1 and 3 are both linux\/amd64/,
    },
    // The engine's own spelling may differ from containerd's normalised one: compared normalised.
    { platforms: ["linux/arm64", "linux/arm64/v8"], why: /containers 1 and 2 are both linux\/arm64\/v8/ },
    { platforms: ["linux/arm", "linux/arm/v7"], why: /containers 1 and 2 are both linux\/arm\/v7/ },
  ])("refuses $platforms, naming positions and platform", ({ platforms, why }) => {
    const err = refusalOf(() => requireOnePerPlatform(platforms));
    expectRefusal(
      err,
      "--containers",
      { input: platforms.join(","), why },
      listParse(() => undefined),
    );
    expect(err.hint).toMatch(/one container per platform/);
  });
});

describe("publishContainersRequest", () => {
  it("reads tags, labels and push arguments as publishRequest does", () => {
    const shared = {
      images: ["ghcr.io/acme/app", "docker.io/acme/app"],
      username: "ci",
      password: "S",
      tags: ["edge"],
      labels: ["team=core"],
      commit: COMMIT.toUpperCase(),
      ref: "refs/heads/main",
      shaLength: 9,
      latest: "always",
      dryRun: true,
      push: false,
      sourceUrl: "https://github.com/acme/app",
      created: "2026-01-02T03:04:05Z",
      retries: 5,
      pushTimeout: 60,
    };
    const req = publishContainersRequest<string, string>({ ...shared, containers: ["a", "b"] });
    // Build-only arguments; --staging both take (publish-containers names the one container's platform).
    const { dockerfile, context, buildArgs, platforms, allowDirty, ...pub } = publishRequest<string>(shared);
    expect({ dockerfile, context, buildArgs, platforms, allowDirty }).toEqual({
      dockerfile: "Dockerfile",
      context: ".",
      buildArgs: [],
      platforms: [],
      allowDirty: false,
    });
    expect(req).toEqual({ ...pub, containers: ["a", "b"] });
  });

  it.each([
    { rule: "no containers", args: { ...BASE, containers: [] }, match: /^--containers "": give at least one/ },
    // The containers come first: an empty list is named even when the images are wrong too.
    {
      rule: "no containers and a bad image",
      args: { ...BASE, containers: [], images: ["Acme"] },
      match: /^--containers ""/,
    },
    {
      rule: "bad image",
      args: { ...BASE, images: ["ghcr.io/Acme/App"] },
      match: /^--images ".*": repository must be lowercase/,
    },
    { rule: "no images", args: { ...BASE, images: [] }, match: /^--images "": give at least one image name/ },
    { rule: "bad tag", args: { ...BASE, tags: ["a/b"] }, match: /^--tags "a\/b"/ },
    { rule: "reserved label", args: { ...BASE, labels: ["dockyard.dirty=false"] }, match: /set by dockyard/ },
    { rule: "username alone", args: { ...BASE, username: "ci" }, match: /also pass --password/ },
    { rule: "password alone", args: { ...BASE, password: "S" }, match: /also pass --username/ },
    { rule: "retries 11", args: { ...BASE, retries: 11 }, match: /^--retries "11"/ },
    { rule: "push timeout 0", args: { ...BASE, pushTimeout: 0 }, match: /^--push-timeout "0"/ },
    { rule: "commit not hex", args: { ...BASE, commit: "xyz" }, match: /^--commit "xyz"/ },
  ])("refused: $rule", ({ args, match }) => {
    expect(() => publishContainersRequest<string, string>(args)).toThrow(match);
  });
});
