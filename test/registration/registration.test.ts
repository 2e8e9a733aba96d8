// Rung 2 (registration): the SDK's own introspector turns src/ into the typedefs `dagger functions` shows.
import { existsSync, readFileSync } from "node:fs";

import { beforeAll, describe, expect, it } from "vitest";

import { introspectModule, type ArgDef, type ModuleDef, type ObjectDef } from "./introspect.js";

type Expected = Record<string, { type: string; optional: boolean; default?: unknown }>;

const STR = "STRING_KIND";
const INT = "INTEGER_KIND";
const BOOL = "BOOLEAN_KIND";
const LIST_STR = "LIST_KIND<STRING_KIND>";

const ENUM_LATEST = "ENUM_KIND:Latest";
const SECRET = "OBJECT_KIND:Secret";

// One name and one text per concept across every function: each argument is declared once here.
const commitRef: Expected = {
  commit: { type: STR, optional: true },
  ref: { type: STR, optional: true },
};

const tagArgs: Expected = {
  ...commitRef,
  shaLength: { type: INT, optional: false, default: 7 },
  latest: { type: ENUM_LATEST, optional: false, default: "AUTO" },
  tags: { type: LIST_STR, optional: false, default: [] },
};

const labelArgs: Expected = {
  labels: { type: LIST_STR, optional: false, default: [] },
  sourceUrl: { type: STR, optional: true },
  created: { type: STR, optional: true },
};

const buildArgs: Expected = {
  dockerfile: { type: STR, optional: false, default: "Dockerfile" },
  context: { type: STR, optional: false, default: "." },
  target: { type: STR, optional: true },
  buildArgs: { type: LIST_STR, optional: false, default: [] },
};

// promote's and merge's arguments after --from: they copy what is already pushed under dockyard's tags.
const copyArgs: Expected = {
  images: { type: LIST_STR, optional: false },
  username: { type: STR, optional: true },
  password: { type: SECRET, optional: true },
  tags: tagArgs.tags!,
  ...commitRef,
  shaLength: tagArgs.shaLength!,
  latest: tagArgs.latest!,
  retries: { type: INT, optional: false, default: 3 },
  pushTimeout: { type: INT, optional: false, default: 300 },
};

// Signing's arguments, one name each on every pushing function and sign (the public-good instance by default;
// keyless with --oidc-token or with --signing-key, logged in Rekor unless --tlog=false).
const signingArgs: Expected = {
  sign: { type: BOOL, optional: false, default: false },
  oidcToken: { type: SECRET, optional: true },
  fulcioUrl: { type: STR, optional: false, default: "https://fulcio.sigstore.dev" },
  rekorUrl: { type: STR, optional: false, default: "https://rekor.sigstore.dev" },
  signingKey: { type: SECRET, optional: true },
  signingKeyPassword: { type: SECRET, optional: true },
  tlog: { type: BOOL, optional: false, default: true },
};

// The attestations, each signed with --sign's identity; promote, merge and sign take them too (--provenance refused).
const attestArgs: Expected = {
  provenance: { type: BOOL, optional: false, default: false },
  sbom: { type: "OBJECT_KIND:File", optional: true },
};

// The scanner that makes an SBOM per platform: only where the image is built or given (publish, publish-containers).
const scannerArgs: Expected = {
  sbomScanner: { type: "OBJECT_KIND:Container", optional: true },
  sbomScannerArgs: { type: LIST_STR, optional: false, default: [] },
};

const FUNCTIONS: Record<string, { returns: string; cache?: string; args: Expected }> = {
  withRegistryAuth: {
    returns: "OBJECT_KIND:Dockyard",
    args: {
      address: { type: STR, optional: false },
      username: { type: STR, optional: false },
      password: { type: SECRET, optional: false },
    },
  },
  withBuildSecret: {
    returns: "OBJECT_KIND:Dockyard",
    args: { id: { type: STR, optional: false }, secret: { type: SECRET, optional: false } },
  },
  tags: { returns: LIST_STR, args: tagArgs },
  metadata: { returns: "OBJECT_KIND:Metadata", args: { ...tagArgs, ...labelArgs } },
  build: {
    returns: "OBJECT_KIND:Container",
    args: {
      ...buildArgs,
      platform: { type: "SCALAR_KIND:Platform", optional: true },
      labels: labelArgs.labels!,
      ...commitRef,
      sourceUrl: labelArgs.sourceUrl!,
      created: labelArgs.created!,
      allowDirty: { type: BOOL, optional: false, default: false },
    },
  },
  publish: {
    returns: "OBJECT_KIND:Publication",
    cache: "session",
    args: {
      images: { type: LIST_STR, optional: false },
      username: { type: STR, optional: true },
      password: { type: SECRET, optional: true },
      tags: tagArgs.tags!,
      platforms: { type: "LIST_KIND<SCALAR_KIND:Platform>", optional: false, default: [] },
      ...buildArgs,
      labels: labelArgs.labels!,
      annotations: { type: LIST_STR, optional: false, default: [] },
      ...commitRef,
      shaLength: tagArgs.shaLength!,
      latest: tagArgs.latest!,
      dryRun: { type: BOOL, optional: false, default: false },
      push: { type: BOOL, optional: false, default: true },
      verify: { type: BOOL, optional: false, default: true },
      allowDirty: { type: BOOL, optional: false, default: false },
      sourceUrl: labelArgs.sourceUrl!,
      created: labelArgs.created!,
      retries: { type: INT, optional: false, default: 3 },
      pushTimeout: { type: INT, optional: false, default: 300 },
      staging: { type: BOOL, optional: false, default: false },
      ...signingArgs,
      ...attestArgs,
      ...scannerArgs,
    },
  },
  publishContainers: {
    returns: "OBJECT_KIND:Publication",
    // Pushes like publish; session-cached, so one session's repeat of an identical call pushes once.
    cache: "session",
    args: {
      containers: { type: "LIST_KIND<OBJECT_KIND:Container>", optional: false },
      images: { type: LIST_STR, optional: false },
      username: { type: STR, optional: true },
      password: { type: SECRET, optional: true },
      tags: tagArgs.tags!,
      labels: labelArgs.labels!,
      annotations: { type: LIST_STR, optional: false, default: [] },
      ...commitRef,
      shaLength: tagArgs.shaLength!,
      latest: tagArgs.latest!,
      dryRun: { type: BOOL, optional: false, default: false },
      push: { type: BOOL, optional: false, default: true },
      verify: { type: BOOL, optional: false, default: true },
      sourceUrl: labelArgs.sourceUrl!,
      created: labelArgs.created!,
      retries: { type: INT, optional: false, default: 3 },
      pushTimeout: { type: INT, optional: false, default: 300 },
      staging: { type: BOOL, optional: false, default: false },
      ...signingArgs,
      ...attestArgs,
      ...scannerArgs,
    },
  },
  promote: {
    returns: "OBJECT_KIND:Publication",
    // Pushes like publish; session-cached, so one session's repeat of an identical call pushes once.
    cache: "session",
    args: { from: { type: STR, optional: false }, ...copyArgs, ...signingArgs, ...attestArgs },
  },
  merge: {
    returns: "OBJECT_KIND:Publication",
    cache: "session",
    args: {
      from: { type: LIST_STR, optional: false },
      images: copyArgs.images!,
      username: copyArgs.username!,
      password: copyArgs.password!,
      tags: copyArgs.tags!,
      // Index level only: merge keeps its children's manifests, and so their digests, as pushed.
      annotations: { type: LIST_STR, optional: false, default: [] },
      ...commitRef,
      shaLength: copyArgs.shaLength!,
      latest: copyArgs.latest!,
      retries: copyArgs.retries!,
      pushTimeout: copyArgs.pushTimeout!,
      ...signingArgs,
      ...attestArgs,
    },
  },
  sign: {
    returns: "OBJECT_KIND:Signatures",
    // Writes referrers and Rekor entries like a push: session-cached, so reading its fields signs once per call.
    cache: "session",
    args: {
      image: { type: STR, optional: false },
      oidcToken: signingArgs.oidcToken!,
      username: copyArgs.username!,
      password: copyArgs.password!,
      fulcioUrl: signingArgs.fulcioUrl!,
      rekorUrl: signingArgs.rekorUrl!,
      signingKey: signingArgs.signingKey!,
      signingKeyPassword: signingArgs.signingKeyPassword!,
      tlog: signingArgs.tlog!,
      retries: copyArgs.retries!,
      pushTimeout: copyArgs.pushTimeout!,
      ...attestArgs,
    },
  },
  verify: {
    returns: "OBJECT_KIND:Verification",
    // Reads the registry as it is now: session-cached, so reading its fields checks once per call, never a stale answer.
    cache: "session",
    args: {
      image: { type: STR, optional: false },
      username: copyArgs.username!,
      password: copyArgs.password!,
      commit: commitRef.commit!,
      signature: { type: BOOL, optional: false, default: false },
      certificateIdentity: { type: STR, optional: true },
      certificateOidcIssuer: { type: STR, optional: true },
      trustedRoot: { type: "OBJECT_KIND:File", optional: true },
      retries: copyArgs.retries!,
      pushTimeout: copyArgs.pushTimeout!,
    },
  },
};

/** Arguments publish and publish-containers share must be declared alike (type, default and help text). */
const SHARED_WITH_PUBLISH = Object.keys(FUNCTIONS.publishContainers!.args).filter((a) => a !== "containers");

const PUBLICATION_FIELDS: Record<string, string> = {
  refs: LIST_STR,
  digest: STR,
  tags: LIST_STR,
  images: LIST_STR,
  platforms: LIST_STR,
  platformDigests: LIST_STR,
  built: BOOL,
  pushed: BOOL,
  verified: BOOL,
  commit: STR,
  dirty: BOOL,
  signatures: LIST_STR,
  signerIdentity: STR,
  signerIssuer: STR,
  signerKeyFingerprint: STR,
  provenanceAttestations: LIST_STR,
  sbomAttestations: LIST_STR,
  // The renderings are fields filled by publish: reading one runs no function.
  json: STR,
  githubOutput: STR,
  markdown: STR,
  dotenv: STR,
};

const METADATA_FIELDS: Record<string, string> = {
  commit: STR,
  shortSha: STR,
  ref: STR,
  branch: STR,
  gitTag: STR,
  pullRequest: INT,
  version: STR,
  dirty: BOOL,
  tags: LIST_STR,
  labels: LIST_STR,
};

function typeName(t: { kind: string; name?: string; typeDef?: unknown }): string {
  if (t.kind === "LIST_KIND") return `LIST_KIND<${typeName(t.typeDef as typeof t)}>`;
  return t.name ? `${t.kind}:${t.name}` : t.kind;
}

/** An enum default as Register sends it: the member's name, not its value (entrypoint/register.ts). */
function registeredDefault(a: ArgDef): unknown {
  if (a.type.kind !== "ENUM_KIND" || a.defaultValue === undefined) return a.defaultValue;
  const values = Object.values(mod.enums?.[a.type.name ?? ""]?.values ?? {});
  return values.find((v) => v.value === a.defaultValue)?.name ?? `no member for ${String(a.defaultValue)}`;
}

function argShape(a: ArgDef) {
  // The SDK reports a literal default as given in source; a missing default means none.
  const dflt = registeredDefault(a);
  return {
    type: typeName(a.type),
    optional: a.isOptional,
    ...(dflt !== undefined ? { default: dflt } : {}),
  };
}

let mod: ModuleDef;
let dockyard: ObjectDef;

beforeAll(async () => {
  mod = await introspectModule("src", "dockyard");
  dockyard = mod.objects.Dockyard!;
});

describe("module registration", () => {
  it("has a module description", () => {
    expect(mod.description).toMatch(/Dockerfile/);
  });

  it("exposes exactly the Dockyard, Metadata, Publication, Signatures and Verification objects", () => {
    expect(Object.keys(mod.objects).sort()).toEqual([
      "Dockyard",
      "Metadata",
      "Publication",
      "Signatures",
      "Verification",
    ]);
  });

  it("verify takes sign's --image, credentials and retry arguments with sign's help text; its result's fields are described", () => {
    const sign = dockyard.methods.sign!.arguments;
    const verify = dockyard.methods.verify!.arguments;
    for (const name of ["image", "username", "password", "retries", "pushTimeout"])
      expect({ arg: name, description: verify[name]?.description }).toEqual({
        arg: name,
        description: sign[name]?.description?.replace("to sign", "to verify"),
      });
    for (const name of ["certificateIdentity", "certificateOidcIssuer", "trustedRoot"])
      expect(verify[name]!.description).toMatch(/^With --signature: /);
    expect(verify.signature!.description).toMatch(
      /--certificate-identity, --certificate-oidc-issuer and --trusted-root/,
    );
    expect(verify.trustedRoot!.description).toMatch(/trusted_root\.json/);
    expect(dockyard.methods.verify!.description).toMatch(/names the manifest, the check and the fix/);
    const verification = mod.objects.Verification!;
    expect(Object.fromEntries(Object.values(verification.properties).map((p) => [p.name, typeName(p.type)]))).toEqual({
      image: STR,
      digest: STR,
      platformDigests: LIST_STR,
      commit: STR,
      signatures: LIST_STR,
      signerIdentity: STR,
      signerIssuer: STR,
      attestations: LIST_STR,
      json: STR,
    });
    expect(Object.keys(verification.methods)).toEqual([]);
    for (const p of Object.values(verification.properties)) expect(p.description.trim()).not.toBe("");
  });

  it("sign shares publish's signing arguments (type, default and help text); its result's fields are described", () => {
    const publish = dockyard.methods.publish!.arguments;
    const sign = dockyard.methods.sign!.arguments;
    for (const name of ["fulcioUrl", "rekorUrl", "signingKey", "signingKeyPassword", "tlog"])
      expect({ arg: name, description: sign[name]?.description }).toEqual({
        arg: name,
        description: publish[name]?.description?.replace(" for --sign", ""),
      });
    expect(publish.sign!.description).toMatch(/Needs --oidc-token \(keyless\) or --signing-key/);
    expect(publish.signingKey!.description).toMatch(
      /EC P-256.*PKCS#8, SEC1.*--signing-key-password.*cosign verify --key/,
    );
    expect(publish.tlog!.description).toMatch(/--insecure-ignore-tlog=true.*needs --signing-key/);
    expect(sign.oidcToken!.description).toMatch(/this or --signing-key/);
    expect(publish.oidcToken!.description).toMatch(/id-token: write/);
    expect(publish.oidcToken!.description).toMatch(/SIGSTORE_ID_TOKEN/);
    expect(sign.image!.description).toMatch(/sha256/);
    expect(dockyard.methods.sign!.description).toMatch(/index, every platform manifest it names/);
    const signatures = mod.objects.Signatures!;
    expect(Object.fromEntries(Object.values(signatures.properties).map((p) => [p.name, typeName(p.type)]))).toEqual({
      image: STR,
      digest: STR,
      signatures: LIST_STR,
      signerIdentity: STR,
      signerIssuer: STR,
      signerKeyFingerprint: STR,
      sbomAttestations: LIST_STR,
      json: STR,
    });
    for (const p of Object.values(signatures.properties)) expect(p.description.trim()).not.toBe("");
  });

  it("--provenance and --sbom say they need --sign and what they attest", () => {
    const publish = dockyard.methods.publish!.arguments;
    expect(publish.provenance!.description).toMatch(/^With --sign: .*SLSA v1 provenance.*build secrets by id only/);
    expect(publish.sbom!.description).toMatch(
      /^With --sign: .*SPDX 2\.x JSON or CycloneDX JSON.*Not with --sbom-scanner\.$/,
    );
    expect(publish.sbomScanner!.description).toMatch(
      /^With --sign: a scanner image the engine can pull, .*\/dockyard\/image\.tar.*that platform's manifest, none about the index\. Not with --sbom\.$/,
    );
    expect(publish.sbomScannerArgs!.description).toMatch(
      /scan,oci-archive:\/dockyard\/image\.tar,-o,spdx-json \(syft\).*image,--input,\/dockyard\/image\.tar,--format,spdx-json \(trivy\)/,
    );
    const publication = mod.objects.Publication!.properties;
    for (const name of ["provenanceAttestations", "sbomAttestations"])
      expect(Object.values(publication).find((p) => p.name === name)?.description).toMatch(/written as signatures are/);
    const signatures = mod.objects.Signatures!.properties;
    expect(Object.values(signatures).find((p) => p.name === "sbomAttestations")?.description).toBe(
      Object.values(publication).find((p) => p.name === "sbomAttestations")?.description,
    );
  });

  it("promote, merge and sign take publish's --sbom (sign without the --sign it always does) and refuse --provenance", () => {
    const publish = dockyard.methods.publish!.arguments;
    expect(publish.sbom!.description).toMatch(/before anything is built or sent to a registry/);
    // publish's own help also says the file excludes --sbom-scanner, which only publish and publish-containers take.
    const shared = publish.sbom!.description!.replace(/ Not with --sbom-scanner\.$/, "");
    for (const fn of ["promote", "merge"])
      expect({ fn, sbom: dockyard.methods[fn]!.arguments.sbom?.description }).toEqual({ fn, sbom: shared });
    expect(dockyard.methods.sign!.arguments.sbom!.description).toBe(shared.replace(/^With --sign: an/, "An"));
    for (const fn of ["promote", "merge", "sign"])
      expect(dockyard.methods[fn]!.arguments.provenance!.description).toMatch(
        /^Refused: provenance records a build.*publish or publish-containers --sign --provenance/,
      );
  });

  it("takes source as an explicit, optional Directory with no defaultPath", () => {
    // A defaultPath on a remote module points into dockyard's own repository, not the caller's checkout.
    const source = dockyard.constructor?.arguments.source;
    expect(source).toMatchObject({ isOptional: true });
    expect(source?.defaultPath ?? "").toBe("");
    expect(typeName(source!.type)).toBe("OBJECT_KIND:Directory");
    expect(source!.description).toMatch(/--source=\./);
    expect(Object.keys(dockyard.constructor!.arguments)).toEqual(["source"]);
  });

  it.each(Object.entries(FUNCTIONS))("%s: cache policy", (name, want) => {
    // Without a policy the engine caches a call for 7 days: a second identical publish would push nothing.
    expect({ fn: name, cache: dockyard.methods[name]?.cache }).toEqual({ fn: name, cache: want.cache });
  });

  it("Latest is an enum of auto, always and never", () => {
    const latest = mod.enums?.Latest;
    expect(Object.values(latest?.values ?? {}).map((v) => [v.name, v.value])).toEqual([
      ["AUTO", "auto"],
      ["ALWAYS", "always"],
      ["NEVER", "never"],
    ]);
    for (const v of Object.values(latest?.values ?? {})) expect(v.description.trim()).not.toBe("");
  });

  it("Publication exposes its fields and its renderings as fields (no function runs to read one), each described", () => {
    const pub = mod.objects.Publication!;
    const props = Object.values(pub.properties);
    expect(Object.fromEntries(props.map((p) => [p.name, typeName(p.type)]))).toEqual(PUBLICATION_FIELDS);
    expect(Object.keys(pub.methods)).toEqual([]);
    for (const p of props)
      expect({ field: p.name, exposed: p.isExposed, described: p.description.trim() !== "" }).toEqual({
        field: p.name,
        exposed: true,
        described: true,
      });
  });

  it("exposes exactly the documented functions", () => {
    expect(Object.keys(dockyard.methods).sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  it.each(Object.entries(FUNCTIONS))("%s: arguments, defaults and return type", (name, want) => {
    const fn = dockyard.methods[name]!;
    expect(typeName(fn.returnType)).toBe(want.returns);
    expect(Object.keys(fn.arguments)).toEqual(Object.keys(want.args));
    for (const [argName, arg] of Object.entries(fn.arguments)) {
      expect({ arg: argName, ...argShape(arg) }).toEqual({ arg: argName, ...want.args[argName] });
    }
  });

  it.each(Object.keys(FUNCTIONS))("%s: the function and every argument have a description", (name) => {
    const fn = dockyard.methods[name]!;
    expect(fn.description.trim()).not.toBe("");
    for (const arg of Object.values(fn.arguments)) {
      expect({ arg: arg.name, description: arg.description.trim() !== "" }).toEqual({
        arg: arg.name,
        description: true,
      });
    }
  });

  it("publish-containers takes publish's arguments, with publish's help text, but no build arguments", () => {
    const publish = dockyard.methods.publish!.arguments;
    const containers = dockyard.methods.publishContainers!.arguments;
    for (const name of SHARED_WITH_PUBLISH) {
      expect({ arg: name, description: containers[name]?.description }).toEqual({
        arg: name,
        description: name === "dryRun" || name === "push" ? expect.any(String) : publish[name]?.description,
      });
    }
    for (const name of ["dockerfile", "context", "target", "buildArgs", "platforms", "allowDirty"])
      expect(Object.keys(containers)).not.toContain(name);
    expect(containers.containers!.description).toMatch(/one per platform/);
    expect(dockyard.methods.publishContainers!.description).toMatch(/dirty is\s+false/);
  });

  it("promote takes publish's tag, image and retry arguments with publish's help text; credentials also read --from", () => {
    const publish = dockyard.methods.publish!.arguments;
    const promote = dockyard.methods.promote!.arguments;
    // --sbom's help differs only by publish's "Not with --sbom-scanner." (checked with the attestations above).
    for (const name of Object.keys(FUNCTIONS.promote!.args).filter(
      (a) => !["from", "username", "password", "provenance", "sbom"].includes(a),
    ))
      expect({ arg: name, description: promote[name]?.description }).toEqual({
        arg: name,
        description: publish[name]?.description,
      });
    for (const name of ["username", "password"]) expect(promote[name]!.description).toMatch(/--from's host/);
    expect(promote.from!.description).toMatch(/pinned by digest/);
    expect(dockyard.methods.promote!.description).toMatch(/--sign signs the digest in every image/);
  });

  it("merge takes promote's arguments with promote's help text, --from a list of images pinned by digest", () => {
    const promote = dockyard.methods.promote!.arguments;
    const merge = dockyard.methods.merge!.arguments;
    const own = ["from", "username", "password", "annotations"];
    for (const name of Object.keys(FUNCTIONS.merge!.args).filter((a) => !own.includes(a)))
      expect({ arg: name, description: merge[name]?.description }).toEqual({
        arg: name,
        description: promote[name]?.description,
      });
    for (const name of ["username", "password"]) expect(merge[name]!.description).toMatch(/--from's hosts/);
    expect(merge.from!.description).toMatch(/one per platform, each pinned by digest/);
    expect(merge.from!.description).toMatch(/publish --staging/);
    expect(dockyard.methods.merge!.description).toMatch(/digests preserved/);
    expect(dockyard.methods.merge!.description).toMatch(/org\.opencontainers\.image\.revision is not the commit/);
  });

  it("merge's --annotations: publish's grammar at index level only, the children's shared labels by default", () => {
    const annotations = dockyard.methods.merge!.arguments.annotations!.description;
    expect(annotations).toMatch(/index:key=value, e\.g\. index:org\.opencontainers\.image\.description=/);
    expect(annotations).toMatch(/every child carries with the same value/);
    expect(annotations).toMatch(/Manifest level is refused: it would change the children's digests/);
  });

  it("--staging names the staging tag, its one platform (publish's --platforms, publish-containers' container) and merge", () => {
    const staging = dockyard.methods.publish!.arguments.staging!;
    expect(staging.description).toMatch(/<sha tag>-<os>-<arch>\[-<variant>\]/);
    expect(staging.description).toMatch(/the one --platforms/);
    expect(staging.description).toMatch(/publish-containers: the one container/);
    expect(staging.description).toMatch(/merge assembles/);
  });

  it("Metadata.apply takes a container and returns it labelled, described", () => {
    const metadata = mod.objects.Metadata!;
    expect(Object.keys(metadata.methods)).toEqual(["apply"]);
    const apply = metadata.methods.apply!;
    expect(typeName(apply.returnType)).toBe("OBJECT_KIND:Container");
    expect(Object.fromEntries(Object.entries(apply.arguments).map(([n, a]) => [n, argShape(a)]))).toEqual({
      container: { type: "OBJECT_KIND:Container", optional: false },
    });
    expect(apply.description).toMatch(/label/);
    expect(apply.arguments.container!.description.trim()).not.toBe("");
    expect(apply.cache).toBeUndefined();
  });

  it("Metadata exposes its fields, each described", () => {
    const props = mod.objects.Metadata!.properties;
    expect(Object.fromEntries(Object.values(props).map((p) => [p.name, typeName(p.type)]))).toEqual(METADATA_FIELDS);
    for (const p of Object.values(props)) {
      expect({ field: p.name, exposed: p.isExposed, described: p.description.trim() !== "" }).toEqual({
        field: p.name,
        exposed: true,
        described: true,
      });
    }
  });

  it("keeps state fields (credentials, build secrets) off the API", () => {
    const exposed = Object.values(dockyard.properties).filter((p) => p.isExposed);
    expect(exposed).toEqual([]);
  });
});

describe("the rung-4 test module (test/dagger)", () => {
  // Functions that push or read the clock must run every time: a cached `all` would prove nothing.
  const NEVER_CACHED = ["all", "buildOnly", "dryRun", "publish", "publishOnce"];

  it("caches only the functions that neither push nor read the clock", async () => {
    const tests = (await introspectModule("test/dagger/src", "tests")).objects.Tests!;
    const never = Object.values(tests.methods)
      .filter((f) => f.cache === "never")
      .map((f) => f.name)
      .sort();
    expect(never).toEqual(NEVER_CACHED);
  });
});

describe("how the TypeScript runtime will install the module", () => {
  // The runtime skips its install only when dependencies is exactly this (runtime_node.go:311-331 at v0.21.8);
  // any devDependency named typescript would replace that edge in npm's tree and install nothing.
  it.each(["package.json", "test/dagger/package.json"])("%s takes the fast path", (file) => {
    const pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string> | undefined>;
    expect(pkg.dependencies).toEqual({ typescript: "5.9.3" });
    expect(pkg.devDependencies?.typescript).toBeUndefined();
    expect(pkg.devDependencies?.["@dagger.io/dagger"] ?? "0.21.9").toBe("0.21.9");
  });

  it("test/dagger carries a lockfile, so the runtime uses npm, not yarn", () => {
    expect(existsSync("test/dagger/package-lock.json")).toBe(true);
  });
});
