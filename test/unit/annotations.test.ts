// Rung 1 (pure): --annotations' grammar, which annotations go on which level, and the index rewrite's bytes.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";

import { parseAnnotations } from "../../src/input/annotations.js";
import { annotateIndex } from "../../src/push/annotate.js";
import { planAnnotations } from "../../src/tags/annotations.js";
import { expectRefusal, listParse, refusalOf, type Refusal } from "./refusal.js";

const OCI = "org.opencontainers.image";
const DESCRIPTION = `${OCI}.description`;
const parse = listParse((values) => parseAnnotations(values));

describe("parseAnnotations", () => {
  it.each([
    { input: "com.example.team=core", want: { level: "manifest", name: "com.example.team", value: "core" } },
    { input: "manifest:a.b=c=d", want: { level: "manifest", name: "a.b", value: "c=d" } },
    { input: `index:${DESCRIPTION}=Acme web app`, want: { level: "index", name: DESCRIPTION, value: "Acme web app" } },
    // A ":" after the first "=" is the value's.
    { input: "note=a:b", want: { level: "manifest", name: "note", value: "a:b" } },
    { input: "index:team=", want: { level: "index", name: "team", value: "" } },
    {
      input: `index:${OCI}.source=https://github.com/acme/app`,
      want: { level: "index", name: `${OCI}.source`, value: "https://github.com/acme/app" },
    },
  ])("$input", ({ input, want }) => {
    expect(parseAnnotations([input])).toEqual([want]);
  });

  it("takes one key at both levels", () => {
    expect(parseAnnotations([`${DESCRIPTION}=a`, `index:${DESCRIPTION}=b`]).map((a) => a.level)).toEqual([
      "manifest",
      "index",
    ]);
  });

  const refusals: Refusal[] = [
    { input: "team", why: /must be \[level:\]key=value/ },
    { input: "index:=core", why: /no key before "="/ },
    { input: "INDEX:team=core", why: /"INDEX" is not an annotation level/, fix: "index:team=core" },
    { input: "indx:team=core", why: /"indx" is not an annotation level/, fix: "index:team=core" },
    { input: "platform:team=core", why: /"platform" is not an annotation level/, fix: undefined },
    { input: "manifest-descriptor:team=core", why: /on its descriptor in the index alike/, fix: "manifest:team=core" },
    { input: "index-descriptor:team=core", why: /stores no descriptor of an index/, fix: "index:team=core" },
    { input: "index:Maintainer=me", why: /"Maintainer" is not an annotation key/, fix: "index:maintainer=me" },
    { input: "Maintainer=me", why: /"Maintainer" is not an annotation key/, fix: "maintainer=me" },
    { input: "index:note=two\nlines", why: /line break/, fix: "index:note=two lines" },
    {
      input: `index:${OCI}.source=https://ci:hunter2@git.example/acme/app`,
      why: /credentials.*annotations are public/,
      fix: `index:${OCI}.source=https://git.example/acme/app`,
      // The masker reads "index:" as a scheme: more is hidden than the password, never less.
      shown: "index:***@git.example/acme/app",
      secret: "hunter2",
    },
    { input: `index:${OCI}.revision=abc`, why: /set by dockyard/, fix: undefined },
    { input: `index:${OCI}.created=yesterday`, why: new RegExp(`${OCI}.created`), fix: undefined },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseAnnotations([row.input])),
      "--annotations",
      row,
      parse,
    );
  });

  it("refuses one key at one level twice, keeping the last", () => {
    const err = refusalOf(() => parseAnnotations(["index:team=a", "team=b", "index:team=c"]));
    expectRefusal(
      err,
      "--annotations",
      { input: "index:team=a,team=b,index:team=c", why: /"index:team" is given twice/, fix: "team=b,index:team=c" },
      parse,
    );
  });
});

describe("planAnnotations", () => {
  const labels = [
    { name: `${OCI}.revision`, value: "c0ffee" },
    { name: `${OCI}.version`, value: "1.2.3" },
    { name: "dockyard.dirty", value: "true" },
    { name: "com.example.team", value: "core" },
  ];
  const oci = [
    { name: `${OCI}.revision`, value: "c0ffee" },
    { name: `${OCI}.version`, value: "1.2.3" },
  ];
  it.each([
    {
      name: "defaults: the OCI labels at both levels of a multi-platform image",
      given: [],
      platforms: 2,
      want: { manifest: oci, index: oci, indexGiven: false },
    },
    {
      name: "defaults: a single-platform image has no index",
      given: [],
      platforms: 1,
      want: { manifest: oci, index: [], indexGiven: false },
    },
    {
      name: "given ones add to and override the defaults at their level",
      given: [
        { level: "manifest" as const, name: `${OCI}.version`, value: "m" },
        { level: "index" as const, name: DESCRIPTION, value: "Acme" },
      ],
      platforms: 2,
      want: {
        manifest: [oci[0], { name: `${OCI}.version`, value: "m" }],
        index: [...oci, { name: DESCRIPTION, value: "Acme" }],
        indexGiven: true,
      },
    },
    {
      name: "a single platform's index-level ones go on its manifest, winning over manifest-level ones",
      given: [
        { level: "index" as const, name: DESCRIPTION, value: "from index" },
        { level: "manifest" as const, name: DESCRIPTION, value: "from manifest" },
      ],
      platforms: 1,
      want: { manifest: [...oci, { name: DESCRIPTION, value: "from index" }], index: [], indexGiven: true },
    },
  ])("$name", ({ given, platforms, want }) => {
    expect(planAnnotations(labels, given, platforms)).toEqual(want);
  });
});

describe("annotateIndex", () => {
  const child = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${"a".repeat(64)}`,
    size: 9,
  };
  const index = (extra: object = {}) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [child],
        ...extra,
      }),
    );
  const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  const read = (bytes: Uint8Array | undefined) =>
    JSON.parse(Buffer.from(bytes!).toString("utf8")) as Record<string, unknown>;

  it.each([
    { name: "adds annotations to an index without any", bytes: index(), had: undefined, want: { a: "1" } },
    {
      name: "merges into the index's own, a given key replacing",
      bytes: index({ annotations: { a: "0", b: "2" } }),
      had: 1,
      want: { a: "1", b: "2" },
    },
  ])("$name; children unchanged", ({ bytes, want }) => {
    const out = read(annotateIndex(bytes, OCI_INDEX, [{ name: "a", value: "1" }]));
    expect(out.annotations).toEqual(want);
    expect(out.manifests).toEqual([child]);
    expect(out.schemaVersion).toBe(2);
    expect(out.mediaType).toBe(OCI_INDEX);
  });

  it("gives a new digest: the first index is not what the tags name", () => {
    const before = index();
    const after = annotateIndex(before, OCI_INDEX, [{ name: DESCRIPTION, value: "Acme" }])!;
    const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    expect(hash(after)).not.toBe(hash(before));
  });

  it.each([
    {
      name: "an image manifest",
      bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, config: child, layers: [] })),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    },
    { name: "not JSON", bytes: Buffer.from("not json"), mediaType: OCI_INDEX },
    { name: "a JSON array", bytes: Buffer.from("[]"), mediaType: OCI_INDEX },
  ])("leaves $name alone (undefined)", ({ bytes, mediaType }) => {
    expect(annotateIndex(bytes, mediaType, [{ name: "a", value: "1" }])).toBeUndefined();
  });
});
