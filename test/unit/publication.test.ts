// Unit: the publish result's renderings for the next CI step (src/push/publication.ts), read back as each CI reads them.
import { describe, expect, it } from "vitest";

import {
  renderDotenv,
  renderGithubOutput,
  renderJson,
  renderMarkdown,
  type PublicationData,
} from "../../src/push/publication.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const PLATFORM_DIGESTS = [`linux/amd64=sha256:${"a1".repeat(32)}`, `linux/arm64=sha256:${"a2".repeat(32)}`];

const PUSHED: PublicationData = {
  refs: [
    `ghcr.io/acme/app:1a2b3c4@${DIGEST}`,
    `ghcr.io/acme/app:main@${DIGEST}`,
    `docker.io/acme/app:1a2b3c4@${DIGEST}`,
  ],
  digest: DIGEST,
  tags: ["1a2b3c4", "main"],
  images: ["ghcr.io/acme/app", "docker.io/acme/app"],
  platforms: ["linux/amd64", "linux/arm64"],
  platformDigests: PLATFORM_DIGESTS,
  built: true,
  pushed: true,
  verified: true,
  commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
  dirty: false,
};

const BUILT: PublicationData = {
  ...PUSHED,
  refs: ["ghcr.io/acme/app:pr-7"],
  digest: "",
  tags: ["pr-7"],
  images: ["ghcr.io/acme/app"],
  platformDigests: [],
  pushed: false,
  verified: false,
};

const PLANNED: PublicationData = { ...BUILT, platforms: [], built: false };

/**
 * `$GITHUB_OUTPUT` as the runner reads it: `name=value`, or `name<<DELIMITER` … `DELIMITER` for multi-line
 * values (docs.github.com, "Multiline strings"; actions/runner SetOutputFileCommand).
 */
function readGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`unterminated ${key}`);
      out[key!] = value.join("\n");
    } else {
      const at = line.indexOf("=");
      if (at <= 0) throw new Error(`not name=value: ${line}`);
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

/** GitLab's dotenv report rules: one KEY=VALUE a line, keys of letters, digits and _, no multi-line values. */
function readDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not a dotenv line: ${line}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

describe("renderGithubOutput", () => {
  it.each([
    {
      what: "a pushed multi-platform image",
      p: PUSHED,
      want: {
        digest: DIGEST,
        built: "true",
        pushed: "true",
        verified: "true",
        ref: PUSHED.refs[0],
        image: "ghcr.io/acme/app",
        commit: PUSHED.commit,
        dirty: "false",
        platforms: "linux/amd64,linux/arm64",
        refs: PUSHED.refs.join("\n"),
        tags: "1a2b3c4\nmain",
        images: "ghcr.io/acme/app\ndocker.io/acme/app",
        "platform-digests": PLATFORM_DIGESTS.join("\n"),
      },
    },
    {
      what: "a pull request build (--push=false)",
      p: BUILT,
      want: {
        digest: "",
        pushed: "false",
        verified: "false",
        ref: "ghcr.io/acme/app:pr-7",
        refs: "ghcr.io/acme/app:pr-7",
        tags: "pr-7",
        "platform-digests": "",
      },
    },
    {
      what: "pushed with --verify=false",
      p: { ...PUSHED, verified: false, platformDigests: [] },
      want: { verified: "false" },
    },
    { what: "a dry run", p: PLANNED, want: { built: "false", pushed: "false", platforms: "" } },
    { what: "a dirty build", p: { ...PUSHED, dirty: true }, want: { dirty: "true" } },
  ])("$what reads back as GitHub reads it", ({ p, want }) => {
    const text = renderGithubOutput(p);
    expect(text.endsWith("\n")).toBe(true);
    expect(readGithubOutput(text)).toMatchObject(want);
  });

  it("the delimiter never occurs in a value, and is the same for the same publication", () => {
    const text = renderGithubOutput(PUSHED);
    const delimiter = /^refs<<(.+)$/m.exec(text)?.[1] ?? "";
    expect(delimiter).toMatch(/^DOCKYARD_EOF_[0-9a-f]{16}$/);
    expect(PUSHED.refs.concat(PUSHED.tags, PUSHED.images).some((v) => v.includes(delimiter))).toBe(false);
    expect(renderGithubOutput(PUSHED)).toBe(text);
    expect(renderGithubOutput(BUILT)).not.toContain(delimiter);
  });
});

describe("renderDotenv", () => {
  it.each([
    {
      what: "pushed",
      p: PUSHED,
      want: {
        IMAGE_DIGEST: DIGEST,
        IMAGE_REF: PUSHED.refs[0],
        IMAGE_REFS: PUSHED.refs.join(","),
        IMAGE_TAGS: "1a2b3c4,main",
        IMAGE_NAMES: "ghcr.io/acme/app,docker.io/acme/app",
        IMAGE_PLATFORMS: "linux/amd64,linux/arm64",
        IMAGE_PLATFORM_DIGESTS: PLATFORM_DIGESTS.join(","),
        IMAGE_COMMIT: PUSHED.commit,
        IMAGE_DIRTY: "false",
        IMAGE_BUILT: "true",
        IMAGE_PUSHED: "true",
        IMAGE_VERIFIED: "true",
      },
    },
    {
      what: "not pushed",
      p: BUILT,
      want: {
        IMAGE_DIGEST: "",
        IMAGE_PUSHED: "false",
        IMAGE_VERIFIED: "false",
        IMAGE_PLATFORM_DIGESTS: "",
        IMAGE_REFS: "ghcr.io/acme/app:pr-7",
      },
    },
    { what: "a dry run", p: PLANNED, want: { IMAGE_BUILT: "false", IMAGE_PUSHED: "false" } },
    { what: "a dirty build", p: { ...PUSHED, dirty: true }, want: { IMAGE_DIRTY: "true" } },
  ])("$what reads back as GitLab reads it", ({ p, want }) => {
    expect(readDotenv(renderDotenv(p))).toMatchObject(want);
  });
});

describe("renderJson and renderMarkdown", () => {
  it("JSON holds every field", () => {
    expect(JSON.parse(renderJson(PUSHED))).toEqual(PUSHED);
  });

  it.each([
    {
      what: "pushed",
      p: PUSHED,
      has: ["published", DIGEST, "Refs:", "`linux/arm64`", "| verified | yes", `\`${PLATFORM_DIGESTS[1]}\``],
    },
    {
      what: "pushed, not read back",
      p: { ...PUSHED, verified: false, platformDigests: [] },
      has: ["| verified | no: not read back"],
    },
    { what: "not pushed", p: BUILT, has: ["built, not pushed", "none (nothing pushed)", "Refs it would push:"] },
    { what: "a dry run", p: PLANNED, has: ["planned (dry run): nothing built or pushed", "the engine's"] },
    { what: "dirty", p: { ...PUSHED, dirty: true }, has: ["working folder with uncommitted changes"] },
  ])("Markdown: $what", ({ p, has }) => {
    const md = renderMarkdown(p);
    for (const s of has) expect(md).toContain(s);
    for (const ref of p.refs) expect(md).toContain(`- \`${ref}\``);
  });
});

describe("a signed publication's renderings", () => {
  const SIGNED: PublicationData = {
    ...PUSHED,
    signatures: [
      `ghcr.io/acme/app@${DIGEST}=sha256:${"c1".repeat(32)}`,
      `ghcr.io/acme/app@sha256:${"a1".repeat(32)}=sha256:${"c2".repeat(32)};tag=sha256-${"a1".repeat(32)}`,
    ],
    signerIdentity: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
    signerIssuer: "https://token.actions.githubusercontent.com",
  };
  const unsigned = [PUSHED, { ...PUSHED, signatures: [], signerIdentity: "", signerIssuer: "" }];

  it.each([
    { what: "JSON", render: renderJson, has: [`"signerIdentity": "${SIGNED.signerIdentity}"`, "sha256-a1a1"] },
    {
      what: "GitHub output",
      render: renderGithubOutput,
      has: [`signer-identity=${SIGNED.signerIdentity}`, `signer-issuer=${SIGNED.signerIssuer}`, "signatures<<"],
    },
    {
      what: "dotenv",
      render: renderDotenv,
      has: [`IMAGE_SIGNATURES=${SIGNED.signatures!.join(",")}`, `IMAGE_SIGNER_ISSUER=${SIGNED.signerIssuer}`],
    },
    { what: "Markdown", render: renderMarkdown, has: ["| signed | 2 signature(s) by", SIGNED.signerIssuer] },
  ])("$what names every signature and the signer; unsigned, it renders as before", ({ render, has }) => {
    const text = render(SIGNED);
    for (const s of has) expect(text).toContain(s);
    for (const p of unsigned) expect(render(p)).not.toMatch(/signer|signature/i);
  });

  it("JSON holds the signing fields", () => {
    expect(JSON.parse(renderJson(SIGNED))).toEqual(SIGNED);
  });
});

describe("a key-signed publication's renderings", () => {
  const FINGERPRINT = "q1Zf0sWkzJ3G9o1o2bQk4x9ZbCq0yF7nHnq8sX0d3lE=";
  const KEYED: PublicationData = {
    ...PUSHED,
    signatures: [`ghcr.io/acme/app@${DIGEST}=sha256:${"c1".repeat(32)}`],
    signerIdentity: "",
    signerIssuer: "",
    signerKeyFingerprint: FINGERPRINT,
  };
  const keyless: PublicationData = { ...KEYED, signerKeyFingerprint: "" };

  it.each([
    { what: "JSON", render: renderJson, has: `"signerKeyFingerprint": "${FINGERPRINT}"` },
    { what: "GitHub output", render: renderGithubOutput, has: `signer-key-fingerprint=${FINGERPRINT}\n` },
    { what: "dotenv", render: renderDotenv, has: `IMAGE_SIGNER_KEY_FINGERPRINT=${FINGERPRINT}\n` },
    { what: "Markdown", render: renderMarkdown, has: `| signed | 1 signature(s) by the key \`${FINGERPRINT}\`` },
  ])("$what names the key's fingerprint; without a key, no rendering names one", ({ render, has }) => {
    expect(render(KEYED)).toContain(has);
    expect(render(keyless)).not.toMatch(/key/i);
  });

  it("JSON holds the key's fingerprint", () => {
    expect(JSON.parse(renderJson(KEYED))).toEqual(KEYED);
  });
});

describe("an attested publication's renderings", () => {
  const line = (n: string) => `ghcr.io/acme/app@${DIGEST}=sha256:${n.repeat(32)}`;
  const ATTESTED: PublicationData = {
    ...PUSHED,
    signatures: [line("c1")],
    signerIdentity: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
    signerIssuer: "https://token.actions.githubusercontent.com",
    provenanceAttestations: [line("d1")],
    sbomAttestations: [line("e1")],
  };
  const without = [
    { ...ATTESTED, provenanceAttestations: undefined, sbomAttestations: undefined },
    { ...ATTESTED, provenanceAttestations: [], sbomAttestations: [] },
    { ...PUSHED, provenanceAttestations: [], sbomAttestations: [] },
  ];

  it.each([
    { what: "JSON", render: renderJson, has: ['"provenanceAttestations": [', '"sbomAttestations": ['] },
    {
      what: "GitHub output",
      render: renderGithubOutput,
      has: [`provenance-attestations<<`, `sbom-attestations<<`, line("d1"), line("e1")],
    },
    {
      what: "dotenv",
      render: renderDotenv,
      has: [`IMAGE_PROVENANCE_ATTESTATIONS=${line("d1")}\n`, `IMAGE_SBOM_ATTESTATIONS=${line("e1")}\n`],
    },
    {
      what: "Markdown",
      render: renderMarkdown,
      has: ["| provenance | 1 SLSA provenance attestation(s): `", "| sbom | 1 SBOM attestation(s): `"],
    },
  ])("$what names every attestation; without them, it renders exactly as before", ({ render, has }) => {
    const text = render(ATTESTED);
    for (const s of has) expect(text).toContain(s);
    const { provenanceAttestations: _p, sbomAttestations: _s, ...signedOnly } = ATTESTED;
    for (const p of without) {
      expect(render(p)).not.toMatch(/attestation/i);
      if (p.signatures?.length) expect(render(p)).toBe(render(signedOnly));
      else expect(render(p)).toBe(render(PUSHED));
    }
  });

  it("JSON holds the attestation fields", () => {
    expect(JSON.parse(renderJson(ATTESTED))).toEqual(ATTESTED);
  });
});
