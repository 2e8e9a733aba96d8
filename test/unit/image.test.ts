// Rung 1 (types) covers the signatures; this file is the pure image-name rules, one table row each.
import { describe, expect, it } from "vitest";

import { imageTitle, parseImageName, registryHost } from "../../src/image.js";

describe("parseImageName", () => {
  it.each([
    { input: "ghcr.io/acme/app", host: "ghcr.io", repository: "acme/app" },
    { input: "acme/app", host: "docker.io", repository: "acme/app" },
    { input: "app", host: "docker.io", repository: "library/app" },
    { input: "docker.io/app", host: "docker.io", repository: "library/app" },
    { input: "index.docker.io/acme/app", host: "docker.io", repository: "acme/app" },
    { input: "registry-1.docker.io/acme/app", host: "docker.io", repository: "acme/app" },
    { input: "localhost:5000/app", host: "localhost:5000", repository: "app" },
    { input: "localhost/app", host: "localhost", repository: "app" },
    { input: "127.0.0.1:5055/team/sub/app", host: "127.0.0.1:5055", repository: "team/sub/app" },
    { input: "registry.gitlab.com/g/p/a__b.c-d", host: "registry.gitlab.com", repository: "g/p/a__b.c-d" },
    { input: "GHCR.io/acme/app", host: "ghcr.io", repository: "acme/app" },
  ])("$input", ({ input, host, repository }) => {
    expect(parseImageName(input)).toEqual({ host, repository, name: `${host}/${repository}` });
  });

  it.each([
    {
      input: "GHCR.io/Acme/App",
      match: /^image "GHCR.io\/Acme\/App": repository must be lowercase \(try "ghcr.io\/acme\/app"\)$/,
    },
    { input: "acme/App", match: /image "acme\/App": repository must be lowercase \(try "acme\/app"\)/ },
    {
      input: "ghcr.io/acme/app:1.0",
      match: /image "ghcr.io\/acme\/app:1.0": must not carry a tag \(try "ghcr.io\/acme\/app"/,
    },
    { input: "localhost:5000/app:v1", match: /must not carry a tag \(try "localhost:5000\/app"/ },
    { input: "ghcr.io/acme/app@sha256:abc", match: /must not carry a digest/ },
    { input: "", match: /image "": must not be empty/ },
    { input: "ghcr.io/acme/-app", match: /image "ghcr.io\/acme\/-app": path component "-app" is invalid/ },
    { input: "ghcr.io/acme//app", match: /path component "" is invalid/ },
    { input: "ghcr.io/acme/app_", match: /path component "app_" is invalid/ },
    { input: "ghcr.io/acme/a___b", match: /path component "a___b"/ },
    { input: "bad_host.io:x/app", match: /registry host "bad_host.io:x" is not a valid host name/ },
    { input: `ghcr.io/${"a".repeat(250)}`, match: /name is longer than 255/ },
  ])("rejects $input", ({ input, match }) => {
    expect(() => parseImageName(input)).toThrow(match);
  });
});

describe("registryHost", () => {
  it.each([
    ["ghcr.io", "ghcr.io"],
    ["ghcr.io/acme/app", "ghcr.io"],
    ["https://GHCR.io/", "ghcr.io"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["localhost:5000", "localhost:5000"],
  ])("%s is %s", (address, host) => {
    expect(registryHost(address)).toBe(host);
  });

  it("rejects an empty address", () => {
    expect(() => registryHost("")).toThrow(/registry address "": must name a host/);
  });
});

describe("imageTitle", () => {
  it.each([
    ["ghcr.io/acme/app", "app"],
    ["app", "app"],
    ["localhost:5000/a/b/c", "c"],
  ])("%s is %s", (image, title) => {
    expect(imageTitle(parseImageName(image))).toBe(title);
  });
});
