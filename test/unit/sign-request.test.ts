// Rung 1 (types) plus direct calls: publish, publish-containers, promote, merge and sign refuse bad signing and
// attestation input (no token, a token that is no usable JWT, bad addresses, --push=false, --provenance where nothing
// is built, a bad SBOM) before any engine or registry call; neither the token nor the SBOM is in a refusal.
import { describe, expect, it } from "vitest";

import type { Container, Directory, File, Secret } from "@dagger.io/dagger";
import { Dockyard } from "../../src/index.js";
import { InvalidInputError } from "../../src/errors/index.js";
import { attestationRequest, pushedAttestationRequest, signingRequest } from "../../src/request.js";
import { COMMIT } from "../fixtures/commits.js";
import { cosignShapedKey, KEY_PASSWORD, otherKeys, p256Key, pemBody } from "../fixtures/signing-keys.js";
import { testJwt } from "../fixtures/sigstore.js";

const NOW_S = Math.floor(Date.now() / 1000);
const CANARY = "canary-5d1c-never-echoed";
const GOOD = testJwt({ iss: "https://token.actions.githubusercontent.com", sub: "repo:acme/app", exp: NOW_S + 600 });
const EXPIRED = testJwt({ iss: "https://issuer.test", sub: CANARY, exp: NOW_S - 60 });
const NO_SUB = testJwt({ iss: "https://issuer.test", jti: CANARY, exp: NOW_S + 600 });
const NOT_JWT = `${CANARY}-opaque`;

/** Anything the engine would answer: every use throws, so reaching one proves validation passed. */
function untouchable<T>(what: string): T {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        if (prop === "then") return undefined;
        throw new Error(`engine call: ${what}.${String(prop)}`);
      },
    },
  ) as T;
}

/** A Secret whose plaintext is `value` (the one read signing makes) and nothing else. */
function secret(value: string): Secret {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        if (prop === "plaintext") return () => Promise.resolve(value);
        if (prop === "then") return undefined;
        throw new Error(`engine call: secret.${String(prop)}`);
      },
    },
  ) as Secret;
}

const module = () => new Dockyard(untouchable<Directory>("source"));
const IMAGE = "registry.test/acme/app";
const DIGEST = `sha256:${"ab".repeat(32)}`;

type Call = (d: Dockyard) => Promise<unknown>;
/** publish with the signing arguments (positional, as the SDK calls it); the rest at their defaults. */
const publish =
  (
    sign: boolean,
    token?: Secret,
    fulcio = "https://fulcio.sigstore.dev",
    rekor = "https://rekor.sigstore.dev",
    push = true,
    verify = true,
  ): Call =>
  (d) =>
    d.publish(
      [IMAGE],
      undefined,
      undefined,
      [],
      [],
      "Dockerfile",
      ".",
      undefined,
      [],
      [],
      [],
      COMMIT,
      "refs/heads/main",
      7,
      undefined,
      false,
      push,
      verify,
      false,
      undefined,
      undefined,
      3,
      300,
      false,
      sign,
      token,
      fulcio,
      rekor,
    );
const publishContainers =
  (sign: boolean, token?: Secret): Call =>
  (d) =>
    d.publishContainers(
      [untouchable<Container>("container")],
      [IMAGE],
      undefined,
      undefined,
      [],
      [],
      [],
      COMMIT,
      "refs/heads/main",
      7,
      undefined,
      false,
      true,
      true,
      undefined,
      undefined,
      3,
      300,
      false,
      sign,
      token,
    );
/** promote and merge with a registry login (their targets need one), then the signing and attestation arguments. */
const LOGIN = ["ci", untouchable<Secret>("password")] as const;
const FROM = `${IMAGE}@${DIGEST}`;
interface SigningOptions {
  sign?: boolean;
  token?: Secret;
  fulcio?: string;
  rekor?: string;
  provenance?: boolean;
  sbom?: File;
}
const promote =
  (o: SigningOptions): Call =>
  (d) =>
    d.promote(
      FROM,
      [`${IMAGE}-prod`],
      ...LOGIN,
      [],
      COMMIT,
      "refs/heads/main",
      7,
      undefined,
      3,
      300,
      o.sign,
      o.token,
      o.fulcio,
      o.rekor,
      undefined,
      undefined,
      true,
      o.provenance,
      o.sbom,
    );
const merge =
  (o: SigningOptions): Call =>
  (d) =>
    d.merge(
      [FROM],
      [IMAGE],
      ...LOGIN,
      [],
      [],
      COMMIT,
      "refs/heads/main",
      7,
      undefined,
      3,
      300,
      o.sign,
      o.token,
      o.fulcio,
      o.rekor,
      undefined,
      undefined,
      true,
      o.provenance,
      o.sbom,
    );
const sign =
  (image: string, token: Secret, fulcio?: string, provenance?: boolean, sbom?: File): Call =>
  (d) =>
    d.sign(image, token, undefined, undefined, fulcio, undefined, undefined, undefined, true, 3, 300, provenance, sbom);

/** A File whose text is `text` (the one read --sbom makes) and nothing else. */
function file(text: string): File {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        if (prop === "contents") return () => Promise.resolve(text);
        if (prop === "then") return undefined;
        throw new Error(`engine call: file.${String(prop)}`);
      },
    },
  ) as File;
}
const SPDX = JSON.stringify({ spdxVersion: "SPDX-2.3", name: "app", packages: [] });
// The parser's message would quote the text: the canary proves no piece of a refused SBOM is echoed.
const NOT_JSON_SBOM = `{"spdxVersion": ${CANARY}`;

/** promote and merge take the same signing and attestation arguments and refuse them alike: one table over both. */
const COPY_REFUSALS: { name: string; options: SigningOptions; why: (fn: string) => RegExp }[] = [
  { name: "--sign without --oidc-token", options: { sign: true }, why: () => /--sign: also pass --oidc-token/ },
  {
    name: "an expired token",
    options: { sign: true, token: secret(EXPIRED) },
    why: () => /--oidc-token: the OIDC token expired/,
  },
  { name: "a token that is not a JWT", options: { sign: true, token: secret(NOT_JWT) }, why: () => /not a JWT/ },
  { name: "a token without sub", options: { sign: true, token: secret(NO_SUB) }, why: () => /no `sub` claim/ },
  {
    name: "--fulcio-url not a URL",
    options: { sign: true, token: secret(GOOD), fulcio: "fulcio" },
    why: () => /--fulcio-url "fulcio": not a URL/,
  },
  {
    name: "--rekor-url with credentials",
    options: { sign: true, token: secret(GOOD), rekor: "https://u:p@rekor.test" },
    why: () => /--rekor-url: give the bare address/,
  },
  {
    name: "--rekor-url ftp",
    options: { sign: true, token: secret(GOOD), rekor: "ftp://rekor.test" },
    why: () => /--rekor-url.*not an http\(s\) URL/,
  },
  {
    name: "--sign --provenance",
    options: { sign: true, token: secret(GOOD), provenance: true },
    why: (fn) =>
      new RegExp(
        `^--provenance on ${fn}: provenance records a build and ${fn} builds nothing; .*publish or publish-containers --sign --provenance`,
      ),
  },
  {
    name: "--provenance without --sign",
    options: { provenance: true },
    why: (fn) => new RegExp(`^--provenance on ${fn}: `),
  },
  {
    name: "--sbom without --sign",
    options: { sbom: file(SPDX) },
    why: () => /^--sbom without --sign: .*, or drop --sbom$/,
  },
  {
    name: "--sign --sbom, an SBOM that is not JSON",
    options: { sign: true, token: secret(GOOD), sbom: file(NOT_JSON_SBOM) },
    why: () => /^SBOM "--sbom": is not JSON; export it as JSON/,
  },
  {
    name: "--sign --sbom, an SBOM in no known format",
    options: { sign: true, token: secret(GOOD), sbom: file('{"name": "app"}') },
    why: () => /neither spdxVersion \(SPDX 2\.x\) nor bomFormat \(CycloneDX\)/,
  },
];
const COPY_FUNCTIONS = [
  ["promote", promote],
  ["merge", merge],
] as const;

const REFUSALS: { name: string; call: Call; why: RegExp }[] = [
  { name: "publish --sign without --oidc-token", call: publish(true), why: /--sign: also pass --oidc-token/ },
  {
    name: "publish --sign --push=false",
    call: publish(true, secret(GOOD), undefined, undefined, false),
    why: /--sign with --push=false: nothing is pushed/,
  },
  {
    name: "publish --fulcio-url not a URL",
    call: publish(true, secret(GOOD), "fulcio"),
    why: /--fulcio-url "fulcio": not a URL/,
  },
  {
    name: "publish --rekor-url with credentials",
    call: publish(true, secret(GOOD), undefined, "https://u:p@rekor.test"),
    why: /--rekor-url: give the bare address/,
  },
  {
    name: "publish --rekor-url ftp",
    call: publish(true, secret(GOOD), undefined, "ftp://rekor.test"),
    why: /--rekor-url.*not an http\(s\) URL/,
  },
  {
    name: "publish, a token that is not a JWT",
    call: publish(true, secret(NOT_JWT)),
    why: /--oidc-token: the OIDC token is not a JWT/,
  },
  {
    name: "publish, an expired token",
    call: publish(true, secret(EXPIRED)),
    why: /--oidc-token: the OIDC token expired/,
  },
  { name: "publish, a token without sub", call: publish(true, secret(NO_SUB)), why: /no `sub` claim/ },
  {
    name: "publish-containers --sign without --oidc-token",
    call: publishContainers(true),
    why: /--sign: also pass --oidc-token/,
  },
  { name: "publish-containers, an expired token", call: publishContainers(true, secret(EXPIRED)), why: /expired/ },
  ...COPY_FUNCTIONS.flatMap(([fn, call]) =>
    COPY_REFUSALS.map((r) => ({ name: `${fn} ${r.name}`, call: call(r.options), why: r.why(fn) })),
  ),
  {
    name: "sign, a bare name",
    call: sign(IMAGE, secret(GOOD)),
    why: /--image "registry.test\/acme\/app": name the image by its digest/,
  },
  { name: "sign, a bad digest", call: sign(`${IMAGE}@sha256:abc`, secret(GOOD)), why: /--image.*is not a digest/ },
  { name: "sign, a bad tag", call: sign(`${IMAGE}:-bad`, secret(GOOD)), why: /--image.*not a valid image tag/ },
  { name: "sign, an expired token", call: sign(`${IMAGE}@${DIGEST}`, secret(EXPIRED)), why: /expired/ },
  { name: "sign, a token that is not a JWT", call: sign(`${IMAGE}@${DIGEST}`, secret(NOT_JWT)), why: /not a JWT/ },
  {
    name: "sign, --fulcio-url not a URL",
    call: sign(`${IMAGE}@${DIGEST}`, secret(GOOD), "x"),
    why: /--fulcio-url "x"/,
  },
  {
    name: "sign --provenance",
    call: sign(`${IMAGE}@${DIGEST}`, secret(GOOD), undefined, true),
    why: /^--provenance on sign: provenance records a build and sign builds nothing/,
  },
  {
    name: "sign --sbom, an SBOM that is not JSON",
    call: sign(`${IMAGE}@${DIGEST}`, secret(GOOD), undefined, false, file(NOT_JSON_SBOM)),
    why: /^SBOM "--sbom": is not JSON/,
  },
];

describe("signing input is refused before any engine call", () => {
  it.each(REFUSALS)("$name", async ({ call, why }) => {
    const err = await call(module()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    const message = (err as Error).message;
    expect(message).toMatch(why);
    for (const form of [CANARY, NOT_JWT, EXPIRED, NO_SUB, NOT_JSON_SBOM, Buffer.from(CANARY).toString("base64")])
      expect(message).not.toContain(form);
  });
});

describe("--signing-key input is refused before any engine call, the key and password in no refusal", () => {
  const key = p256Key();
  const rsa = otherKeys().rsa;
  const keyArgs = (pem: string, password?: string, tlog = true) =>
    [secret(pem), password === undefined ? undefined : secret(password), tlog] as const;
  const ROWS: { name: string; call: Call; why: RegExp; pem: string }[] = [
    {
      name: "promote --sign --signing-key, an RSA key",
      call: (d) =>
        d.promote(
          FROM,
          [`${IMAGE}-prod`],
          ...LOGIN,
          [],
          COMMIT,
          "refs/heads/main",
          7,
          undefined,
          3,
          300,
          true,
          undefined,
          undefined,
          undefined,
          ...keyArgs(rsa),
        ),
      why: /^--signing-key: the key is an RSA key: .*EC P-256/,
      pem: rsa,
    },
    {
      name: "merge --sign with --oidc-token and --signing-key",
      call: (d) =>
        d.merge(
          [FROM],
          [IMAGE],
          ...LOGIN,
          [],
          [],
          COMMIT,
          "refs/heads/main",
          7,
          undefined,
          3,
          300,
          true,
          secret(GOOD),
          undefined,
          undefined,
          ...keyArgs(key.pkcs8),
        ),
      why: /^--oidc-token and --signing-key both given: pick one/,
      pem: key.pkcs8,
    },
    {
      name: "sign --signing-key in cosign's own format",
      call: (d) =>
        d.sign(
          `${IMAGE}@${DIGEST}`,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          ...keyArgs(cosignShapedKey()),
        ),
      why: /cosign's own encrypted format.*cosign import-key-pair/,
      pem: cosignShapedKey(),
    },
    {
      name: "sign --signing-key encrypted, a wrong password",
      call: (d) =>
        d.sign(
          `${IMAGE}@${DIGEST}`,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          ...keyArgs(key.encrypted, `${KEY_PASSWORD}x`),
        ),
      why: /^--signing-key-password does not decrypt --signing-key/,
      pem: key.encrypted,
    },
    {
      name: "sign --tlog=false with a token",
      call: (d) =>
        d.sign(
          `${IMAGE}@${DIGEST}`,
          secret(GOOD),
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          false,
        ),
      why: /^--tlog=false without --signing-key/,
      pem: key.pkcs8,
    },
  ];
  it.each(ROWS)("$name", async ({ call, why, pem }) => {
    const err = await call(module()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    const message = (err as Error).message;
    expect(message).toMatch(why);
    for (const form of [pem, pemBody(pem), pemBody(pem).slice(0, 40), KEY_PASSWORD])
      expect(message).not.toContain(form);
  });
});

describe("accepted signing input reaches the engine", () => {
  const ACCEPTED: { name: string; call: Call; reaches: RegExp }[] = [
    {
      name: "publish --sign --verify=false",
      call: publish(true, secret(GOOD), undefined, undefined, true, false),
      reaches: /engine call: source/,
    },
    // The token is read only with --sign: without it, a token given (a CI's every job) is neither read nor checked.
    {
      name: "publish with a token and no --sign",
      call: publish(false, secret(NOT_JWT)),
      reaches: /engine call: source/,
    },
    {
      name: "publish-containers --sign",
      call: publishContainers(true, secret(GOOD)),
      reaches: /engine call: (source|container)/,
    },
    // Past every check, the first engine call is the registry password's plaintext (or git, were it not given).
    ...COPY_FUNCTIONS.flatMap(([fn, call]) => [
      {
        name: `${fn} --sign`,
        call: call({ sign: true, token: secret(GOOD) }),
        reaches: /engine call: (source|password)/,
      },
      {
        name: `${fn} --sign --sbom`,
        call: call({ sign: true, token: secret(GOOD), sbom: file(SPDX) }),
        reaches: /engine call: (source|password)/,
      },
      {
        name: `${fn} with a token and no --sign`,
        call: call({ token: secret(NOT_JWT) }),
        reaches: /engine call: (source|password)/,
      },
    ]),
    // Past the token and the SBOM, sign's first engine call is the registry password's plaintext.
    {
      name: "sign --sbom",
      call: (d: Dockyard) =>
        d.sign(
          `${IMAGE}@${DIGEST}`,
          secret(GOOD),
          ...LOGIN,
          undefined,
          undefined,
          undefined,
          undefined,
          true,
          3,
          300,
          false,
          file(SPDX),
        ),
      reaches: /engine call: password/,
    },
  ];
  it.each(ACCEPTED)("$name", async ({ call, reaches }) => {
    await expect(call(module())).rejects.toThrow(reaches);
  });
});

describe("signingRequest", () => {
  it("is undefined without --sign, the public-good instance by default", () => {
    expect(signingRequest({})).toBeUndefined();
    expect(signingRequest({ sign: true, oidcToken: "token" })).toEqual({
      oidcToken: "token",
      fulcioUrl: "https://fulcio.sigstore.dev",
      rekorUrl: "https://rekor.sigstore.dev",
    });
  });

  it("keeps a private instance's address, without a trailing slash", () => {
    expect(
      signingRequest({
        sign: true,
        oidcToken: "t",
        fulcioUrl: "https://fulcio.acme.test/",
        rekorUrl: "http://127.0.0.1:3000",
      }),
    ).toMatchObject({ fulcioUrl: "https://fulcio.acme.test", rekorUrl: "http://127.0.0.1:3000" });
  });
});

describe("signingRequest with --signing-key", () => {
  it("signs with the key, logs in Rekor by default, and logs nothing with --tlog=false", () => {
    expect(signingRequest({ sign: true, signingKey: "key" })).toEqual({
      signingKey: "key",
      rekorUrl: "https://rekor.sigstore.dev",
    });
    expect(signingRequest({ sign: true, signingKey: "key", signingKeyPassword: "pw", tlog: false })).toEqual({
      signingKey: "key",
      signingKeyPassword: "pw",
    });
    expect(signingRequest({ signingKey: "key" })).toBeUndefined();
  });

  it.each([
    {
      name: "--oidc-token and --signing-key",
      args: { sign: true, oidcToken: "t", signingKey: "k" },
      why: /^--oidc-token and --signing-key both given: pick one \(--oidc-token signs keyless .*--signing-key signs with your key, no Fulcio\)$/,
    },
    {
      name: "--sign with neither",
      args: { sign: true, oidcToken: null, signingKey: null },
      why: /^--sign: also pass --oidc-token, .*, or --signing-key, a PEM EC P-256 private key as a secret$/,
    },
    {
      name: "--signing-key-password without --signing-key",
      args: { sign: true, oidcToken: "t", signingKeyPassword: "pw" },
      why: /^--signing-key-password without --signing-key: pass the encrypted key as --signing-key, or drop --signing-key-password$/,
    },
    {
      name: "--tlog=false keyless",
      args: { sign: true, oidcToken: "t", tlog: false },
      why: /^--tlog=false without --signing-key: keyless signing needs its Rekor entry .*; drop --tlog=false, or sign with --signing-key$/,
    },
    {
      name: "--tlog=false without --sign or a key",
      args: { tlog: false },
      why: /^--tlog=false without --signing-key/,
    },
    {
      name: "--signing-key with --push=false",
      args: { sign: true, signingKey: "k" },
      push: false,
      why: /^--sign with --push=false: nothing is pushed/,
    },
    {
      name: "a bad --rekor-url with a key",
      args: { sign: true, signingKey: "k", rekorUrl: "ftp://rekor" },
      why: /--rekor-url/,
    },
  ])("refuses $name, with the fix", ({ args, push, why }) => {
    expect(() => signingRequest<string>(args, push)).toThrow(InvalidInputError);
    expect(() => signingRequest<string>(args, push)).toThrow(why);
  });
});

describe("attestationRequest", () => {
  const file = { name: "sbom.spdx.json" };
  it.each([
    {
      args: { provenance: true },
      why: /^--provenance without --sign: .*--sign --oidc-token env:SIGSTORE_ID_TOKEN \(or --sign --signing-key env:SIGNING_KEY\), or drop --provenance$/,
    },
    { args: { sbom: file }, why: /^--sbom without --sign: .*, or drop --sbom$/ },
  ])("refuses $args without --sign, with the fix", ({ args, why }) => {
    expect(() => attestationRequest(args, false)).toThrow(InvalidInputError);
    expect(() => attestationRequest(args, false)).toThrow(why);
  });

  const scanner = { address: "anchore/syft:v1.18.0" };
  const syftArgs = ["scan", "oci-archive:/dockyard/image.tar", "-o", "spdx-json"];
  it.each([
    {
      name: "--sbom and --sbom-scanner together",
      args: { sbom: file, sbomScanner: scanner, sbomScannerArgs: syftArgs },
      signed: true,
      why: /^--sbom and --sbom-scanner together: give the SBOM file, or the scanner .*, not both$/,
    },
    {
      name: "--sbom-scanner without --sign",
      args: { sbomScanner: scanner, sbomScannerArgs: syftArgs },
      signed: false,
      why: /^--sbom-scanner without --sign: .*--sign --oidc-token env:SIGSTORE_ID_TOKEN \(or --sign --signing-key env:SIGNING_KEY\), or drop --sbom-scanner$/,
    },
    {
      name: "--sbom-scanner-args without --sbom-scanner",
      args: { sbomScannerArgs: syftArgs },
      signed: true,
      why: /^--sbom-scanner-args without --sbom-scanner: name the scanner image too, e\.g\. --sbom-scanner=anchore\/syft:v1\.18\.0/,
    },
    {
      name: "--sbom-scanner without --sbom-scanner-args",
      args: { sbomScanner: scanner, sbomScannerArgs: [] },
      signed: true,
      why: /^--sbom-scanner without --sbom-scanner-args: .*\/dockyard\/image\.tar.*--sbom-scanner-args=scan,oci-archive:\/dockyard\/image\.tar,-o,spdx-json$/,
    },
  ])("refuses $name, with the fix", ({ args, signed, why }) => {
    expect(() => attestationRequest(args, signed)).toThrow(InvalidInputError);
    expect(() => attestationRequest(args, signed)).toThrow(why);
  });

  it("keeps the scanner and a copy of its arguments with --sign", () => {
    const given = [...syftArgs];
    const req = attestationRequest({ sbomScanner: scanner, sbomScannerArgs: given, sbom: null }, true);
    expect(req).toEqual({ provenance: false, scanner: { container: scanner, args: syftArgs } });
    given.push("--quiet");
    expect(req.scanner?.args).toEqual(syftArgs);
  });

  it("is nothing to attest by default, and keeps what --sign allows", () => {
    expect(attestationRequest({}, false)).toEqual({ provenance: false });
    expect(attestationRequest({ sbomScanner: null, sbomScannerArgs: [] }, false)).toEqual({ provenance: false });
    expect(attestationRequest({ sbom: null }, false)).toEqual({ provenance: false });
    expect(attestationRequest({ provenance: true, sbom: file }, true)).toEqual({ provenance: true, sbom: file });
  });
});

describe("pushedAttestationRequest", () => {
  const file = { name: "sbom.spdx.json" };
  it.each(["promote", "merge", "sign"] as const)(
    "%s refuses --provenance, signed or not, naming where it is made",
    (fn) => {
      for (const signed of [true, false]) {
        expect(() => pushedAttestationRequest(fn, { provenance: true, sbom: file }, signed)).toThrow(InvalidInputError);
        expect(() => pushedAttestationRequest(fn, { provenance: true }, signed)).toThrow(
          new RegExp(
            `^--provenance on ${fn}: .*where the image is built \\(publish or publish-containers --sign --provenance\\), and drop --provenance here$`,
          ),
        );
      }
    },
  );

  it.each([
    { args: {}, signed: false, want: { provenance: false } },
    { args: { provenance: false, sbom: null }, signed: false, want: { provenance: false } },
    { args: { sbom: file }, signed: true, want: { provenance: false, sbom: file } },
  ])("keeps $args (signed: $signed)", ({ args, signed, want }) => {
    expect(pushedAttestationRequest("merge", args, signed)).toEqual(want);
  });

  it("refuses --sbom without --sign with publish's message", () => {
    expect(() => pushedAttestationRequest("promote", { sbom: file }, false)).toThrow(/^--sbom without --sign: /);
  });
});
