// Unit: image names (--images) and registry addresses (--address), one table row per grammar rule.
import { describe, expect, it } from "vitest";

import { credentialHostProblem, daggerAuthHost } from "../../src/input/address.js";
import {
  imageTitle,
  parseImageList,
  parseImageName,
  parseRegistryAddress,
  registryHost,
} from "../../src/input/image.js";
import { expectRefusal, listParse, refusalOf, type Refusal } from "./refusal.js";

describe("parseImageName accepts Docker's grammar, normalised as Docker does", () => {
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
    { input: "[::1]:5000/app", host: "[::1]:5000", repository: "app" },
    { input: "[fe80::1]/app", host: "[fe80::1]", repository: "app" },
    { input: "registry.example.com:65535/a", host: "registry.example.com:65535", repository: "a" },
    { input: "my-registry:5000/app", host: "my-registry:5000", repository: "app" },
    { input: "registry.gitlab.com/g/p/a__b.c-d", host: "registry.gitlab.com", repository: "g/p/a__b.c-d" },
    { input: "ghcr.io/acme/a--b", host: "ghcr.io", repository: "acme/a--b" },
    { input: `ghcr.io/${"a".repeat(255)}`, host: "ghcr.io", repository: "a".repeat(255) },
  ])("$input", ({ input, host, repository }) => {
    expect(parseImageName(input)).toEqual({ host, repository, name: `${host}/${repository}` });
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: " ghcr.io/acme/app", why: /leading or trailing whitespace/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/app\n", why: /leading or trailing whitespace/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/my app", why: /holds whitespace/, fix: "ghcr.io/acme/my-app" },
    { input: "ghcr.io/acme/app\u200b", why: /control character U\+200B/, fix: "ghcr.io/acme/app" },
    { input: "https://ghcr.io/acme/app", why: /no scheme/, fix: "ghcr.io/acme/app" },
    { input: "docker://acme/app", why: /no scheme/, fix: "acme/app" },
    {
      input: "https://bot:s3cret@ghcr.io/acme/app",
      shown: "https://bot:***@ghcr.io/acme/app",
      secret: "s3cret",
      why: /no scheme/,
      fix: "ghcr.io/acme/app",
    },
    {
      input: "bot:s3cret@ghcr.io/acme/app",
      shown: "bot:***@ghcr.io/acme/app",
      secret: "s3cret",
      why: /credentials do not go in the image name/,
      fix: "ghcr.io/acme/app",
    },
    { input: "ghcr.io/acme/app@sha256:" + "a".repeat(64), why: /digest/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/app:1.0", why: /must not carry a tag/, fix: "ghcr.io/acme/app" },
    { input: "localhost:5000/app:v1", why: /must not carry a tag/, fix: "localhost:5000/app" },
    { input: "app:latest", why: /must not carry a tag/, fix: "app" },
    { input: "ghcr.io/acme/app:1.0@sha256:" + "b".repeat(64), why: /digest/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io", why: /registry host but no repository/ },
    { input: "localhost:5000", why: /registry host but no repository/ },
    { input: "ghcr.io/", why: /registry host but no repository/ },
    { input: "GHCR.io/Acme/App", why: /^registry host must be lowercase/, fix: "ghcr.io/acme/app" },
    { input: "GHCR.IO/acme/app", why: /^registry host must be lowercase/, fix: "ghcr.io/acme/app" },
    { input: "acme/App", why: /^repository must be lowercase/, fix: "acme/app" },
    // Docker reads an uppercase first component as a host: the lowercase fix is the Docker Hub name meant.
    { input: "Acme/app", why: /^registry host must be lowercase/, fix: "acme/app" },
    { input: "localhost:0/app", why: /port 0 is not from 1 to 65535/ },
    { input: "localhost:65536/app", why: /port 65536 is not from 1 to 65535/ },
    { input: "localhost:05000/app", why: /leading zeros/, fix: "localhost:5000/app" },
    { input: "localhost:/app", why: /not followed by a port/, fix: "localhost/app" },
    { input: "bad_host.io/app", why: /"bad_host" is not a host name label/ },
    { input: "-x.io/app", why: /"-x" is not a host name label/ },
    { input: "ghcr..io/acme/app", why: /empty label/, fix: "ghcr.io/acme/app" },
    { input: `${"a".repeat(64)}.io/app`, why: /longer than 63/ },
    { input: "256.1.1.1:5000/app", why: /not an IPv4 address/ },
    { input: "127.0.0.01:5000/app", why: /not an IPv4 address/, fix: "127.0.0.1:5000/app" },
    { input: "1.2.3/app", why: /not an IPv4 address/ },
    { input: "[::g]:5000/app", why: /not an IPv6 address/ },
    { input: "[FE80::1]/app", why: /registry host must be lowercase/, fix: "[fe80::1]/app" },
    { input: "ghcr.io/acme/-app", why: /path component "-app" is invalid/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme//app", why: /empty path component/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/app/", why: /empty path component/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/app_", why: /path component "app_" is invalid/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/a___b", why: /path component "a___b"/, fix: "ghcr.io/acme/a__b" },
    { input: "ghcr.io/acme/a.-b", why: /path component "a.-b"/, fix: "ghcr.io/acme/a-b" },
    { input: "ghcr.io/acme/a+b", why: /path component "a\+b"/, fix: "ghcr.io/acme/a-b" },
    { input: "docker.io/acme/team/app", why: /Docker Hub repositories are <namespace>\/<name>/ },
    { input: "acme/team/app", why: /Docker Hub repositories are <namespace>\/<name>/ },
    { input: "f".repeat(64), why: /image ID, not a name/ },
    { input: `ghcr.io/${"a".repeat(256)}`, why: /longer than 255/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseImageName(row.input)),
      "--images",
      row,
      (fix) => parseImageName(fix),
    );
  });

  it("names the flag it is given", () => {
    expect(refusalOf(() => parseImageName("App", "--image")).message).toMatch(/^--image "App"/);
  });
});

describe("parseImageList", () => {
  it("keeps the order and normalises each", () => {
    expect(parseImageList(["ghcr.io/acme/app", "app"]).map((i) => i.name)).toEqual([
      "ghcr.io/acme/app",
      "docker.io/library/app",
    ]);
  });

  const refusals: Refusal[] = [
    { input: "", why: /at least one image/ },
    {
      input: "acme/app,docker.io/acme/app",
      why: /"acme\/app" and "docker.io\/acme\/app" are the same image \(docker.io\/acme\/app\)/,
      fix: "acme/app",
    },
    {
      input: "ghcr.io/a/b,index.docker.io/x/y,docker.io/x/y",
      why: /same image \(docker.io\/x\/y\)/,
      fix: "ghcr.io/a/b,index.docker.io/x/y",
    },
    { input: "ghcr.io/a/b,ghcr.io/a/b", why: /same image/, fix: "ghcr.io/a/b" },
  ];
  it.each(refusals)("refuses $input", (row) => {
    const values = row.input === "" ? [] : row.input.split(",");
    const parse = listParse((v) => parseImageList(v));
    expectRefusal(
      refusalOf(() => parseImageList(values)),
      "--images",
      row,
      parse,
    );
  });

  it("an item's error names the item", () => {
    const err = refusalOf(() => parseImageList(["ghcr.io/acme/app", "ghcr.io/acme/App"]));
    expectRefusal(err, "--images", { input: "ghcr.io/acme/App", why: /lowercase/, fix: "ghcr.io/acme/app" }, (f) =>
      parseImageList([f]),
    );
  });
});

describe("parseRegistryAddress", () => {
  it.each([
    ["ghcr.io", "ghcr.io"],
    ["ghcr.io/acme/app", "ghcr.io"],
    ["https://ghcr.io", "ghcr.io"],
    ["https://ghcr.io/", "ghcr.io"],
    ["ghcr.io/", "ghcr.io"],
    // The key `docker login` writes for Docker Hub in ~/.docker/config.json.
    ["https://index.docker.io/v1/", "docker.io"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["acme/app", "docker.io"],
    ["localhost", "localhost"],
    ["localhost:5000", "localhost:5000"],
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["registry.example.com:8443/team/app", "registry.example.com:8443"],
  ])("%s is %s", (address, host) => {
    expect(parseRegistryAddress(address)).toBe(host);
    expect(registryHost(address)).toBe(host);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: "ghcr.io ", why: /whitespace/, fix: "ghcr.io" },
    { input: "ghcr.io/acme/my app", why: /holds whitespace/, fix: "ghcr.io/acme/myapp" },
    { input: "http://ghcr.io", why: /scheme "http:\/\/" is not https/, fix: "ghcr.io" },
    { input: "oci://ghcr.io", why: /scheme "oci:\/\/"/, fix: "ghcr.io" },
    {
      input: "https://bot:ghp_token@ghcr.io",
      shown: "https://bot:***@ghcr.io",
      secret: "ghp_token",
      why: /credentials do not go in the address/,
      fix: "ghcr.io",
    },
    { input: "bot@ghcr.io", shown: "***@ghcr.io", why: /credentials/, fix: "ghcr.io" },
    { input: "myregistry", why: /not a registry host/, fix: "docker.io" },
    { input: "ghcr.io:1.0", why: /must not carry a tag/, fix: "ghcr.io" },
    { input: "ghcr.io/acme/app:1.0", why: /must not carry a tag/, fix: "ghcr.io/acme/app" },
    { input: "ghcr.io/acme/app@sha256:" + "c".repeat(64), why: /digest/, fix: "ghcr.io/acme/app" },
    { input: "GHCR.io", why: /must be lowercase/, fix: "ghcr.io" },
    { input: "https://GHCR.io/", why: /must be lowercase/, fix: "ghcr.io" },
    { input: "localhost:99999", why: /port 99999/ },
    { input: "bad_host.io", why: /not a host name label/ },
    // Dagger's parseAuthAddress cannot file these under the host a push asks for.
    { input: "[::1]:5000", why: /IPv6/, fix: "localhost:5000" },
    { input: "[fe80::1]:5000/app", why: /IPv6/ },
    { input: "mirror.docker.io.example", why: /containing "docker.io"/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseRegistryAddress(row.input)),
      "--address",
      row,
      (fix) => parseRegistryAddress(fix),
    );
  });
});

describe("daggerAuthHost: Dagger's own reading of an auth address (auth/registry.go, v0.21.8)", () => {
  it.each([
    ["ghcr.io", "ghcr.io"],
    ["https://ghcr.io/", "ghcr.io"],
    ["localhost:5000/image:1.0", "localhost:5000"],
    ["registry.com:5000:1.4", "registry.com:5000"],
    ["ubuntu", "docker.io"],
    ["bitnami/redis", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["mirror.docker.io.example", "docker.io"],
    ["[::1]:5000", undefined],
  ])("%s is %s", (address, host) => {
    expect(daggerAuthHost(address)).toBe(host);
  });

  it.each(["ghcr.io", "localhost", "localhost:5000", "127.0.0.1:5000", "docker.io", "index.docker.io"])(
    "%s can hold credentials",
    (host) => expect(credentialHostProblem(host)).toBeUndefined(),
  );
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
