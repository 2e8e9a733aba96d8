// Unit: promote's pure plan — the pinned --from grammar, each target's method (tag, mount, copy), the credential
// every target host needs, the plain-http rule for loopback hosts, and promote's request, all before any request.
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import { parseImageName } from "../../src/input/image.js";
import { methodFor, parsePinnedImage, requireTargetCredentials } from "../../src/promote/plan.js";
import { isLoopbackHost } from "../../src/registry/index.js";
import { promoteRequest } from "../../src/request.js";
import { expectRefusal, refusalOf, type Refusal } from "./refusal.js";

const D = `sha256:${"ab".repeat(32)}`;
const D512 = `sha512:${"cd".repeat(64)}`;

describe("parsePinnedImage: --from is an image pinned by digest", () => {
  it.each([
    { rule: "host, repository, digest", input: `ghcr.io/acme/app@${D}`, name: "ghcr.io/acme/app", digest: D },
    {
      rule: "a tag before the digest is taken, the digest wins",
      input: `ghcr.io/acme/app:abc1234@${D}`,
      name: "ghcr.io/acme/app",
      digest: D,
    },
    {
      rule: "a port in the host is no tag",
      input: `127.0.0.1:5000/acme/app@${D}`,
      name: "127.0.0.1:5000/acme/app",
      digest: D,
    },
    { rule: "a port and a tag", input: `localhost:5000/app:v1@${D}`, name: "localhost:5000/app", digest: D },
    { rule: "Docker Hub's short name", input: `app@${D}`, name: "docker.io/library/app", digest: D },
    { rule: "sha512", input: `ghcr.io/acme/app@${D512}`, name: "ghcr.io/acme/app", digest: D512 },
  ])("$rule", ({ input, name, digest }) => {
    expect(parsePinnedImage(input)).toMatchObject({ name, digest });
  });

  const refusals: (Refusal & { rule: string })[] = [
    { rule: "a bare tag: not pinned", input: "ghcr.io/acme/app:1.2.3", why: /is not pinned by digest: a tag can move/ },
    { rule: "no tag, no digest", input: "ghcr.io/acme/app", why: /is not pinned by digest/ },
    { rule: "a short digest", input: "ghcr.io/acme/app@sha256:abc", why: /"sha256:abc" is not a digest/ },
    { rule: "an uppercase digest", input: `ghcr.io/acme/app@${D.toUpperCase()}`, why: /is not a digest/ },
    { rule: "empty", input: "", why: /must not be empty/ },
    {
      rule: "whitespace around",
      input: ` ghcr.io/acme/app@${D}`,
      why: /leading or trailing whitespace/,
      fix: `ghcr.io/acme/app@${D}`,
    },
    {
      rule: "uppercase repository: fixed, digest kept",
      input: `ghcr.io/Acme/App@${D}`,
      why: /must be lowercase/,
      fix: `ghcr.io/acme/app@${D}`,
    },
    {
      rule: "uppercase with a tag: tag kept",
      input: `ghcr.io/Acme/app:v1@${D}`,
      why: /must be lowercase/,
      fix: `ghcr.io/acme/app:v1@${D}`,
    },
    {
      rule: "a bad tag: dropped",
      input: `ghcr.io/acme/app:-v1@${D}`,
      why: /tag "-v1" is not a valid image tag/,
      fix: `ghcr.io/acme/app@${D}`,
    },
    { rule: "a host alone", input: `ghcr.io@${D}`, why: /names a registry host but no repository/ },
    {
      rule: "credentials in the name: masked",
      input: `bot:s3cret-tok@ghcr.io/acme/app@${D}`,
      shown: `bot:***@ghcr.io/acme/app@${D}`,
      why: /credentials do not go in the image name/,
      fix: `ghcr.io/acme/app@${D}`,
      secret: "s3cret-tok",
    },
  ];
  it.each(refusals)("refuses $rule", (row) => {
    expectRefusal(
      refusalOf(() => parsePinnedImage(row.input)),
      "--from",
      row,
      (fix) => parsePinnedImage(fix),
    );
  });
});

describe("methodFor: how a target's content arrives from --from", () => {
  const from = parsePinnedImage(`ghcr.io/acme/app@${D}`);
  it.each([
    { rule: "the source's own repository: a manifest PUT per tag", image: "ghcr.io/acme/app", method: "tag" },
    { rule: "another repository on the same registry: blob mounts", image: "ghcr.io/acme/release", method: "mount" },
    { rule: "another registry: a streamed copy", image: "docker.io/acme/app", method: "copy" },
    { rule: "the same path on another port is another registry", image: "ghcr.io:443/acme/app", method: "copy" },
  ])("$rule", ({ image, method }) => {
    expect(methodFor(from, parseImageName(image))).toBe(method);
  });
});

describe("requireTargetCredentials: promote logs in itself, so every target host needs a credential", () => {
  const images = ["ghcr.io/acme/app", "docker.io/acme/app"].map((i) => parseImageName(i));
  it.each([
    { rule: "every host has one", hosts: ["ghcr.io", "docker.io"], error: undefined },
    {
      rule: "one host lacks one: named, with the fix",
      hosts: ["ghcr.io"],
      error:
        /^--images "docker\.io\/acme\/app": no credentials for docker\.io, where promote must push \(pass --username and --password, or with-registry-auth --address docker\.io\)$/,
    },
  ])("$rule", ({ hosts, error }) => {
    const run = () => requireTargetCredentials(images, (h) => hosts.includes(h));
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });
});

describe("isLoopbackHost: plain http where Dagger's engine (containerd's MatchLocalhost) uses it", () => {
  it.each([
    ["localhost", true],
    ["localhost:5000", true],
    ["127.0.0.1:5000", true],
    ["127.1.2.3", true],
    ["[::1]:5000", true],
    ["ghcr.io", false],
    ["localhost.example.com", false],
    ["10.0.0.1:5000", false],
    ["128.0.0.1", false],
  ])("%s → %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe("promoteRequest: every argument checked, --from first", () => {
  const ok = { from: `ghcr.io/acme/app@${D}`, images: ["ghcr.io/acme/app"], commit: "a".repeat(40) };
  it.each([
    {
      rule: "an unpinned --from",
      args: { ...ok, from: "ghcr.io/acme/app:sha-1" },
      error: /^--from "ghcr\.io\/acme\/app:sha-1": is not pinned by digest/,
    },
    {
      rule: "a target with a tag",
      args: { ...ok, images: ["ghcr.io/acme/app:1.2.3"] },
      error: /^--images "ghcr\.io\/acme\/app:1\.2\.3": must not carry a tag/,
    },
    { rule: "no target", args: { ...ok, images: [] }, error: /^--images "": give at least one image name/ },
    { rule: "a bad tag", args: { ...ok, tags: ["v 1"] }, error: /^--tags "v 1": holds whitespace/ },
    {
      rule: "a username without a password",
      args: { ...ok, username: "ci" },
      error: /^--username "ci": also pass --password/,
    },
    { rule: "retries out of range", args: { ...ok, retries: -1 }, error: /^--retries "-1"/ },
  ])("refuses $rule", ({ args, error }) => {
    const run = () => promoteRequest<string>(args);
    expect(run).toThrow(InvalidInputError);
    expect(run).toThrow(error);
  });

  it("keeps the pinned source, the images and the tag arguments", () => {
    const req = promoteRequest<string>({ ...ok, username: "ci", password: "pw", tags: ["stable"] });
    expect(req).toMatchObject({
      from: { name: "ghcr.io/acme/app", digest: D },
      images: [{ name: "ghcr.io/acme/app" }],
      userTags: ["stable"],
      credentials: { username: "ci", password: "pw" },
    });
  });
});
