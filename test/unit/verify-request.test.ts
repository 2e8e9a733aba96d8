// Rung 1 (types) plus direct calls: verify refuses a bad --image, --commit, credentials, --signature without its
// policy (or the policy without --signature) and a --trusted-root that is no trusted_root.json, before any registry
// request (the password's plaintext, which logging in reads first, is never reached); accepted input reaches it.
import { describe, expect, it } from "vitest";

import type { Directory, File, Secret } from "@dagger.io/dagger";
import { Dockyard } from "../../src/index.js";
import { InvalidInputError } from "../../src/errors/index.js";
import { trustedRootJson, verifyImageRequest } from "../../src/request.js";
import { COMMIT } from "../fixtures/commits.js";

const IMAGE = "registry.test/acme/app";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const ROOT = JSON.stringify({
  mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  tlogs: [{ baseUrl: "https://rekor.test" }],
  certificateAuthorities: [{ uri: "https://fulcio.test" }],
});

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

/** A File whose contents are `text` (the one read verify makes before any registry request) and nothing else. */
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

interface Args {
  image?: string;
  username?: string;
  password?: Secret;
  commit?: string;
  signature?: boolean;
  identity?: string;
  issuer?: string;
  root?: File;
  retries?: number;
}

/** verify as the SDK calls it (positional); the rest at their defaults. */
const verify = (a: Args) =>
  new Dockyard(untouchable<Directory>("source")).verify(
    a.image ?? `${IMAGE}@${DIGEST}`,
    a.username,
    a.password,
    a.commit,
    a.signature,
    a.identity,
    a.issuer,
    a.root,
    a.retries,
  );

const signed: Args = { signature: true, identity: SUB, issuer: ISS, root: file(ROOT) };
const failureOf = (a: Args) =>
  verify(a).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

const REFUSALS: { name: string; args: Args; why: RegExp }[] = [
  {
    name: "a bare name",
    args: { image: IMAGE },
    why: /--image "registry.test\/acme\/app": name the image by its digest/,
  },
  { name: "a bad digest", args: { image: `${IMAGE}@sha256:abc` }, why: /--image.*is not a digest/ },
  { name: "a bad tag", args: { image: `${IMAGE}:-bad` }, why: /--image.*not a valid image tag/ },
  { name: "a short commit", args: { commit: "abc123" }, why: /--commit/ },
  {
    name: "--username without --password",
    args: { username: "ci", password: undefined },
    why: /--username "ci": also pass --password/,
  },
  { name: "--retries below 0", args: { retries: -1 }, why: /--retries/ },
  {
    name: "--signature without --certificate-identity",
    args: { ...signed, identity: undefined },
    why: /--signature: also pass --certificate-identity.*signer-identity/,
  },
  {
    name: "--signature with a blank --certificate-identity",
    args: { ...signed, identity: "  " },
    why: /--signature: also pass --certificate-identity/,
  },
  {
    name: "--signature without --certificate-oidc-issuer",
    args: { ...signed, issuer: undefined },
    why: /--signature: also pass --certificate-oidc-issuer.*token\.actions\.githubusercontent\.com/,
  },
  {
    name: "--signature without --trusted-root",
    args: { ...signed, root: undefined },
    why: /--signature: also pass --trusted-root, Sigstore's trusted_root\.json.*README/,
  },
  {
    name: "--certificate-identity without --signature",
    args: { identity: SUB },
    why: /^--certificate-identity without --signature: .*add --signature/,
  },
  {
    name: "the whole policy without --signature",
    args: { ...signed, signature: false },
    why: /^--certificate-identity, --certificate-oidc-issuer, --trusted-root without --signature/,
  },
  {
    name: "--trusted-root without --signature",
    args: { root: file(ROOT) },
    why: /^--trusted-root without --signature/,
  },
  {
    name: "a trusted root that is not JSON",
    args: { ...signed, root: file("-----BEGIN CERTIFICATE-----") },
    why: /--trusted-root: the file is not JSON; pass Sigstore's trusted_root\.json.*root-signing/,
  },
  {
    name: "a trusted root that is a list",
    args: { ...signed, root: file("[]") },
    why: /--trusted-root: not a JSON object/,
  },
  {
    name: "a trusted root of another media type",
    args: { ...signed, root: file(JSON.stringify({ ...JSON.parse(ROOT), mediaType: "application/json" })) },
    why: /--trusted-root: its mediaType is application\/json, not a trusted root's/,
  },
  {
    name: "a trusted root with no CA",
    args: { ...signed, root: file(JSON.stringify({ ...JSON.parse(ROOT), certificateAuthorities: [] })) },
    why: /--trusted-root: it names no certificateAuthorities \(Fulcio\)/,
  },
  {
    name: "a trusted root with no log",
    args: { ...signed, root: file(JSON.stringify({ ...JSON.parse(ROOT), tlogs: undefined })) },
    why: /--trusted-root: it names no tlogs \(Rekor\)/,
  },
];

describe("verify refuses bad input before any registry request", () => {
  it.each(REFUSALS)("$name", async ({ args, why }) => {
    // The password is untouchable: logging in reads it first, so a refusal proves no request was made.
    const err = await failureOf({ username: "ci", password: untouchable<Secret>("password"), ...args });
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.message).toMatch(why);
  });
});

describe("accepted verify input reaches the registry login", () => {
  const ACCEPTED: { name: string; args: Args }[] = [
    { name: "by digest, read-back only", args: {} },
    { name: "by tag", args: { image: `${IMAGE}:1.2.3` } },
    { name: "a tag before the digest", args: { image: `${IMAGE}:1.2.3@${DIGEST}` } },
    { name: "with --commit", args: { commit: COMMIT } },
    { name: "with --signature and its policy", args: signed },
    { name: "with --signature and --commit", args: { ...signed, commit: COMMIT } },
  ];
  it.each(ACCEPTED)("$name", async ({ args }) => {
    const err = await failureOf({ username: "ci", password: untouchable<Secret>("password"), ...args });
    expect(err?.message).toBe("engine call: password.plaintext");
  });
});

describe("verifyImageRequest", () => {
  it("keeps the policy with --signature and none without", () => {
    const req = verifyImageRequest({
      image: `${IMAGE}@${DIGEST}`,
      signature: true,
      certificateIdentity: SUB,
      certificateOidcIssuer: ISS,
      trustedRoot: "root",
    });
    expect(req.signature).toEqual({ certificateIdentity: SUB, certificateOidcIssuer: ISS, trustedRoot: "root" });
    expect(req.image).toMatchObject({ host: "registry.test", repository: "acme/app", digest: DIGEST });
    expect(verifyImageRequest({ image: `${IMAGE}:v1` }).signature).toBeUndefined();
    expect(verifyImageRequest({ image: `${IMAGE}:v1` }).image.tag).toBe("v1");
  });

  it("trustedRootJson answers the parsed root", () => {
    expect(trustedRootJson(ROOT)).toEqual(JSON.parse(ROOT));
  });
});
