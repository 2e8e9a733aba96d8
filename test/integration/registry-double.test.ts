// Rung 3 (engine double): src/registry against an HTTP double of what docker-registry 2.8.2 lacks (tags/list
// pagination, the OCI 1.1 referrers API; test/infra/oci-double.ts cites the spec's rules), anonymously by Bearer token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  attachReferrer,
  getBlob,
  getManifest,
  listReferrers,
  listTags,
  referrersTag,
  RegistrySession,
} from "../../src/registry/index.js";
import { startOciDouble, type DoubleDescriptor, type OciDouble } from "../infra/oci-double.js";

const SUBJECT = `sha256:${"a".repeat(64)}`;
const descriptor = (n: number, artifactType: string): DoubleDescriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 100 + n,
  artifactType,
});
const SBOMS = [1, 2, 3].map((n) => descriptor(n, "application/spdx+json"));
const SIGS = [4, 5].map((n) => descriptor(n, "application/vnd.dev.sigstore.bundle.v0.3+json"));
const TAGS = ["v1.0.0", "latest", "edge", "v1.2.0", "sha-1a2b3c4", "main", "v0.9.1"];

let double: OciDouble;
const session = () => new RegistrySession({ host: double.host, plainHttp: true, sleep: () => Promise.resolve() });

beforeAll(async () => {
  double = await startOciDouble({ tags: TAGS, referrers: { [SUBJECT]: [...SBOMS, ...SIGS] }, referrersPage: 2 });
});
afterAll(async () => {
  await double.stop();
});

describe("tags/list pagination by Link", () => {
  it.each([
    { pageSize: 1, pages: 7 },
    { pageSize: 3, pages: 3 },
    { pageSize: 100, pages: 1 },
    { pageSize: undefined, pages: 1 },
  ])("pages of $pageSize: every tag once, in $pages requests", async ({ pageSize, pages }) => {
    const before = double.requests.filter((r) => r.includes("/tags/list")).length;
    expect(await listTags(session(), "acme/app", pageSize)).toEqual([...TAGS].sort());
    // The first page is asked twice: once anonymously (the 401 challenge), once with the token.
    expect(double.requests.filter((r) => r.includes("/tags/list")).length - before).toBe(pages + 1);
  });
});

describe("the referrers API", () => {
  it.each([
    { rule: "all referrers, across pages", artifactType: undefined, want: [...SBOMS, ...SIGS] },
    { rule: "filtered by artifactType", artifactType: "application/spdx+json", want: SBOMS },
    { rule: "a type nobody has: an empty index, not a 404", artifactType: "application/x-none", want: [] },
  ])("$rule", async ({ artifactType, want }) => {
    expect(await listReferrers(session(), "acme/app", SUBJECT, artifactType)).toEqual({
      descriptors: want,
      source: "api",
    });
  });

  it("a subject with no referrers: an empty list from the API, no fallback tag read", async () => {
    const before = double.requests.length;
    const other = `sha256:${"b".repeat(64)}`;
    expect(await listReferrers(session(), "acme/app", other)).toEqual({ descriptors: [], source: "api" });
    expect(double.requests.slice(before).some((r) => r.includes("/manifests/"))).toBe(false);
  });
});

describe("attaching a referrer where the registry has the referrers API", () => {
  const IMAGE = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${"c".repeat(64)}`,
    size: 321,
  };
  const artifact = (n: number) => ({
    artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    blob: { mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", bytes: Buffer.from(`{"bundle":${n}}`) },
    annotations: { "dev.sigstore.bundle.content": "dsse-envelope" },
  });
  it.each([
    { rule: "one artifact: listed by the API", attach: [1], listed: [1] },
    { rule: "a second artifact: both listed", attach: [2], listed: [1, 2] },
    { rule: "the same artifact again: listed once", attach: [1], listed: [1, 2] },
  ])("$rule; OCI-Subject answered, so no fallback tag is written", async ({ attach, listed }) => {
    const s = session();
    const before = double.writes.length;
    const attached = [];
    for (const n of attach) attached.push(await attachReferrer(s, "acme/app", IMAGE, artifact(n)));
    for (const a of attached) {
      expect(a.fallbackTag).toBeUndefined();
      const stored = await getManifest(s, "acme/app", a.digest);
      expect(JSON.parse(Buffer.from(stored.bytes).toString("utf8"))).toMatchObject({ subject: IMAGE });
    }
    const found = await listReferrers(s, "acme/app", IMAGE.digest);
    expect(found.source).toBe("api");
    const bodies = await Promise.all(
      found.descriptors.map(async (d) => {
        const m = JSON.parse(Buffer.from((await getManifest(s, "acme/app", d.digest)).bytes).toString("utf8")) as {
          layers: { digest: string }[];
        };
        return Buffer.from(await getBlob(s, "acme/app", m.layers[0]!.digest)).toString("utf8");
      }),
    );
    expect(bodies).toEqual(listed.map((n) => `{"bundle":${n}}`));
    expect(found.descriptors.every((d) => d.annotations?.["dev.sigstore.bundle.content"] === "dsse-envelope")).toBe(
      true,
    );
    const writes = double.writes.slice(before);
    expect(writes.some((w) => w.endsWith(`/manifests/${referrersTag(IMAGE.digest)}`))).toBe(false);
    expect(double.manifests.has(referrersTag(IMAGE.digest))).toBe(false);
  });
});
