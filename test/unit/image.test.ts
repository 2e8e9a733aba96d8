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
import { DISTRIBUTION_REFERENCE_CASES, type DistributionCase } from "../fixtures/distribution-reference/cases.js";
import { TOKEN_CANARY } from "../fixtures/url-credentials.js";
import { ArgumentError } from "../../src/input/argument.js";
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
    // A name without "/" is a Docker Hub repository unless it is plainly a host (normalize_test.go).
    { input: "ubuntu-12.04-base", host: "docker.io", repository: "library/ubuntu-12.04-base" },
    { input: "a.b", host: "docker.io", repository: "library/a.b" },
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
    // A digest with no "/" before it is a digest, not user info: nothing masked, the name without it the fix.
    { input: "redis@sha256:" + "d".repeat(64), why: /must not carry a digest/, fix: "redis" },
    { input: "busybox:1@sha512:" + "e".repeat(128), why: /must not carry a digest/, fix: "busybox" },
    { input: "localhost:8080@sha256:" + "d".repeat(64), why: /must not carry a digest/ },
    {
      input: `https://ci:${TOKEN_CANARY}/x@ghcr.io/acme/app`,
      shown: "https://ci:***@ghcr.io/acme/app",
      secret: TOKEN_CANARY,
      why: /no scheme/,
      fix: "ghcr.io/acme/app",
    },
    {
      input: `ci:${TOKEN_CANARY}/x@ghcr.io/acme/app`,
      shown: "ci:***@ghcr.io/acme/app",
      secret: TOKEN_CANARY,
      why: /credentials do not go in the image name/,
      fix: "ghcr.io/acme/app",
    },
    {
      input: `${TOKEN_CANARY}@ghcr.io/acme/app`,
      shown: "***@ghcr.io/acme/app",
      secret: TOKEN_CANARY,
      why: /credentials do not go in the image name/,
      fix: "ghcr.io/acme/app",
    },
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
    // Docker's `\[[a-fA-F0-9:]+\]`: no embedded IPv4 part, though Node's isIPv6 takes one.
    { input: "[2001:db8:3:4::192.0.2.33]:5000/debian", why: /not an IPv6 address/ },
    { input: "[fe80::1%@zone]:5000/app", why: /not an IPv6 address/ },
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
    {
      input: `https://ci:${TOKEN_CANARY}/x@ghcr.io`,
      shown: "https://ci:***@ghcr.io",
      secret: TOKEN_CANARY,
      why: /credentials do not go in the address/,
      fix: "ghcr.io",
    },
    {
      input: `ci:${TOKEN_CANARY}#x@ghcr.io/acme/app`,
      shown: "ci:***@ghcr.io/acme/app",
      secret: TOKEN_CANARY,
      why: /credentials do not go in the address/,
      fix: "ghcr.io/acme/app",
    },
    { input: "redis@sha256:" + "d".repeat(64), why: /must not carry a digest/, fix: "docker.io" },
    { input: "localhost:5000@sha256:" + "d".repeat(64), why: /must not carry a digest/, fix: "localhost:5000" },
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

/** Where dockyard reads an input otherwise than Docker does, on purpose: the inputs per flag, and what it says. */
interface Difference {
  reason: string;
  /** The reason dockyard's refusal gives. */
  why: RegExp;
  images: string[];
  address: string[];
}

// Every digest form of the suite: refused by --images and by --address alike.
const DIGEST_CASES = [
  "test:5000/repo@sha256:" + "f".repeat(64),
  "test:5000/repo:tag@sha256:" + "f".repeat(64),
  "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + "f".repeat(128),
  "[2001:db8::1]:5000/repo@sha256:" + "f".repeat(64),
  "[2001:db8::1]:5000/repo:tag@sha256:" + "f".repeat(64),
  "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112",
  "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
  "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
  "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
  "dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
  "docker.io/dmcgowan/myapp@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
  "busybox@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
  "gcr.io/library/busybox:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
  "registry.com:8080/myapp@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
  "registry.com:8080/myapp:tag2@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
  "localhost:8080@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
  "localhost:8080/name@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
  "localhost@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
];

// Every case of distribution/reference's own tests that dockyard reads otherwise than Docker, grouped by why.
const DELIBERATE: Difference[] = [
  {
    reason: "A tag: dockyard pushes the tags it computes and `--tags` adds.",
    why: /must not carry a tag/,
    images: [
      "test.com:tag",
      "test.com/repo:tag",
      "test:5000/repo:tag",
      "lowercase:Uppercase",
      "a/".repeat(127) + "a:tag-puts-this-over-max",
      "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
      "b.gcr.io/test.example.com/my-app:test.example.com",
      "xn--n3h.com/myimage:xn--n3h.com",
      "foo_bar.com:8080",
      "foo/foo_bar.com:8080",
      "192.168.1.1:tag",
      "192.168.1.1:5000/repo:5050",
      "[2001:db8:1:2:3:4:5:6]/repo:tag",
      "[2001:db8::1]:5000/repo:tag",
      "example.com/" + "a".repeat(255) + ":tag",
      "example.com/repo:tag",
      "example.com:8000/named:tagged",
      "redis:latest",
      "docker.io/library/redis:latest",
      "dmcgowan/myapp:latest",
      "docker.io/mcgowan/myapp:latest",
      "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
      "busybox:latest",
      "docker.io/busybox:latest",
      "library/busybox:latest",
      "docker.io/library/busybox:latest",
      "test.com:http",
      "192.168.1.1:75050",
      "192.168.1.1:750050",
      "registry.com:8080/myapp:tag",
      "sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
    ],
    address: [
      "test.com:tag",
      "test.com/repo:tag",
      "test:5000/repo:tag",
      "lowercase:Uppercase",
      "a/".repeat(127) + "a:tag-puts-this-over-max",
      "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
      "b.gcr.io/test.example.com/my-app:test.example.com",
      "xn--n3h.com/myimage:xn--n3h.com",
      "foo/foo_bar.com:8080",
      "192.168.1.1:tag",
      "192.168.1.1:5000/repo:5050",
      "[2001:db8:1:2:3:4:5:6]/repo:tag",
      "[2001:db8::1]:5000/repo:tag",
      "example.com/" + "a".repeat(255) + ":tag",
      "example.com/repo:tag",
      "example.com:8000/named:tagged",
      "redis:latest",
      "docker.io/library/redis:latest",
      "dmcgowan/myapp:latest",
      "docker.io/mcgowan/myapp:latest",
      "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
      "busybox:latest",
      "docker.io/busybox:latest",
      "library/busybox:latest",
      "docker.io/library/busybox:latest",
      "registry.com:8080/myapp:tag",
      "sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
    ],
  },
  {
    reason: "A digest: dockyard pushes tags and reports the digest it pushed.",
    why: /must not carry a digest/,
    images: DIGEST_CASES,
    address: DIGEST_CASES,
  },
  {
    reason:
      "Uppercase: Docker reads an uppercase first component as a host (`Foo/bar`, `LOCALDOMAIN/debian`), and credentials are matched by the host as written; the fix is the lowercase name.",
    why: /must be lowercase/,
    images: [
      "LOCALDOMAIN/library/debian",
      "LOCALDOMAIN/debian",
      "Docker/docker",
      "DOCKER/docker",
      "LOCALDOMAIN/fooo",
      "LOCALDOMAIN/fooo/bar",
      "Foo/bar",
      "FOO/bar",
      "Asdf.com/foo/bar",
    ],
    address: [
      "LOCALDOMAIN/library/debian",
      "LOCALDOMAIN/debian",
      "Docker/docker",
      "DOCKER/docker",
      "LOCALDOMAIN/fooo",
      "LOCALDOMAIN/fooo/bar",
      "Foo/bar",
      "FOO/bar",
      "Asdf.com",
      "Asdf.com/foo/bar",
    ],
  },
  {
    reason: "Docker Hub paths deeper than `<namespace>/<name>`: the grammar takes them, Docker Hub refuses the push.",
    why: /Docker Hub repositories are <namespace>\/<name>/,
    images: [
      "library/foo/bar",
      "docker.io/library/foo/bar",
      "store/foo/bar",
      "docker.io/store/foo/bar",
      "docker/stevvooe/app",
      "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
      "aa/aa/bb/bb/bb",
      "a/a/a/a",
      "a/aa/a",
    ],
    address: [
      "library/foo/bar",
      "docker.io/library/foo/bar",
      "store/foo/bar",
      "docker.io/store/foo/bar",
      "docker/stevvooe/app",
      "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
      "aa/aa/bb/bb/bb",
      "a/a/a/a",
      "a/aa/a",
    ],
  },
  {
    reason:
      "A name without `/` that is plainly a registry host (`test.com`, `localhost:8080`, `192.168.1.1`): Docker reads `docker.io/library/test.com`, which no one means to push.",
    why: /names a registry host but no repository/,
    images: [
      "test.com:5000",
      "192.168.1.1",
      "192.168.1.1:5000",
      "test.com",
      "192.168.0.1",
      "192.168.0.1:80",
      "test.com:10304",
      "localhost",
      "localhost:8080",
      "ab.cd.com",
      "a-b.com",
      "0101.com",
      "001a.com",
      "b.gbc.io:443",
      "b.gbc.io",
      "xn--n3h.com",
      "foo.com",
    ],
    address: [],
  },
  {
    reason:
      "A bare word as `--address` (`debian`, `a`): Docker reads a Docker Hub image (DomainRegexp a host); an address names a registry host, so the fix is `docker.io`.",
    why: /is not a registry host/,
    images: [],
    address: [
      "test_com",
      "foo",
      "debian",
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
      "ubuntu",
      "busybox",
      "redis",
      "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
      "dbcc1",
      "a",
      "short",
      "foo_bar",
      "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf",
      "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482",
    ],
  },
  {
    reason:
      "`--address foo_bar.com`: one component is a host, and `_` is no host name character (Docker reads a Docker Hub image).",
    why: /"foo_bar" is not a host name label/,
    images: [],
    address: ["foo_bar.com:8080", "foo_bar.com"],
  },
  {
    reason:
      "An IPv6 registry as `--address`: Dagger's withRegistryAuth files its credential under another name than a push looks up.",
    why: /cannot hold credentials for an IPv6 address/,
    images: [],
    address: [
      "[2001:db8::1]/repo",
      "[2001:db8::1]:5000/repo",
      "[2001:db8::]:5000/repo",
      "[::1]:5000/repo",
      "[fc00::1]:5000/docker",
      "[fc00::1]:5000/docker/docker",
      "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    ],
  },
  {
    reason: "A port above 65535: DomainRegexp takes any digits; no registry listens there.",
    why: /is not from 1 to 65535/,
    images: [],
    address: [
      "192.168.1.1:75050",
      "192.168.1.1:750050",
      "[fd00:1:2::3]:75050",
      "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050",
      "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505",
    ],
  },
  {
    reason: "`[fd00123123123]`: DomainRegexp takes any hex digits and colons in brackets; that is no IPv6 address.",
    why: /is not an IPv6 address in brackets/,
    images: [],
    address: ["[fd00123123123]:75050"],
  },
];

// One component as `--address` is a registry host, as `docker login` reads an address (Docker's image grammar reads
// `docker.io/library/foo.com`); a leading `https://` and one trailing `/` are dropped, as `docker login` drops them.
const ADDRESS_HOSTS: Record<string, string> = {
  "test.com:5000": "test.com:5000",
  "192.168.1.1": "192.168.1.1",
  "192.168.1.1:5000": "192.168.1.1:5000",
  "192.168.0.1": "192.168.0.1",
  "192.168.0.1:80": "192.168.0.1:80",
  "https://github.com/docker/docker": "github.com",
  "ubuntu-12.04-base": "ubuntu-12.04-base",
  "foo.com": "foo.com",
  "foo.com/": "foo.com",
};

type Flag = "--images" | "--address";

/** Docker's reading for the flag: the normalised name for `--images`, the registry host for `--address`. */
function dockerReads(c: DistributionCase, flag: Flag): string | undefined {
  if (flag === "--address" && c.host !== undefined) return c.host ? c.input : undefined;
  if (c.docker === "invalid") return undefined;
  return flag === "--images" ? `${c.docker.domain}/${c.docker.path}` : c.docker.domain;
}

function dockyardReads(input: string, flag: Flag): string | ArgumentError {
  try {
    return flag === "--images" ? (parseImageList([input])[0]?.name ?? "") : parseRegistryAddress(input);
  } catch (e) {
    if (e instanceof ArgumentError) return e;
    throw e;
  }
}

describe("dockyard reads distribution/reference v0.6.0's own test cases as Docker does, but for DELIBERATE", () => {
  const rows = DISTRIBUTION_REFERENCE_CASES.flatMap((c) =>
    (["--images", "--address"] as const).map((flag) => ({ ...c, flag, label: JSON.stringify(c.input).slice(0, 90) })),
  );
  it.each(rows)("$flag $label", (row) => {
    const docker = dockerReads(row, row.flag);
    const dockyard = dockyardReads(row.input, row.flag);
    const difference = DELIBERATE.find((d) => (row.flag === "--images" ? d.images : d.address).includes(row.input));
    const host = row.flag === "--address" ? ADDRESS_HOSTS[row.input] : undefined;
    if (difference) {
      expect(dockyard).toBeInstanceOf(ArgumentError);
      expect(docker).toBeDefined();
      expect((dockyard as ArgumentError).why).toMatch(difference.why);
    } else if (host !== undefined) {
      expect(dockyard).toBe(host);
      expect(docker).not.toBe(host);
    } else if (docker === undefined) {
      expect(dockyard).toBeInstanceOf(ArgumentError);
    } else {
      expect(dockyard).toBe(docker);
    }
    if (dockyard instanceof ArgumentError) {
      // None of Docker's cases holds a credential: nothing may be masked, and a fix must pass the parser.
      expect(dockyard.message).not.toContain("***");
      const parse = row.flag === "--images" ? (f: string) => parseImageList([f]) : parseRegistryAddress;
      if (dockyard.fix !== undefined) expect(() => parse(dockyard.fix ?? "")).not.toThrow();
    }
  });

  it("lists only inputs of the fixture", () => {
    const inputs = new Set(DISTRIBUTION_REFERENCE_CASES.map((c) => c.input));
    const listed = [...DELIBERATE.flatMap((d) => [...d.images, ...d.address]), ...Object.keys(ADDRESS_HOSTS)];
    expect(listed.filter((i) => !inputs.has(i))).toEqual([]);
  });
});
