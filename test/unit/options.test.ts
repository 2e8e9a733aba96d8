// Unit: NAME=VALUE arguments (--build-args, --labels) and build secret ids (--id), one table row per grammar rule.
import { describe, expect, it } from "vitest";

import { parseBuildArgs, parseLabels, parseSecretId, validateSecretId } from "../../src/input/keyvalue.js";
import { GIT_COMMITTER_EPOCH, GITLAB_JOB_TOKEN, GITLAB_REPOSITORY_URL } from "../fixtures/cli-values.js";
import { HOSTILE_URLS, NOT_USERINFO, TOKEN_CANARY } from "../fixtures/url-credentials.js";
import { expectRefusal, listParse, refusalOf, type Refusal } from "./refusal.js";

describe("parseBuildArgs", () => {
  it.each([
    { input: ["A=1"], want: [{ name: "A", value: "1" }] },
    { input: ["URL=a=b=c"], want: [{ name: "URL", value: "a=b=c" }] },
    { input: ["EMPTY="], want: [{ name: "EMPTY", value: "" }] },
    { input: ["_x9=with spaces "], want: [{ name: "_x9", value: "with spaces " }] },
    { input: ["PEM=line1\nline2"], want: [{ name: "PEM", value: "line1\nline2" }] },
    { input: ["NPM_REGISTRY=https://npm.example/"], want: [{ name: "NPM_REGISTRY", value: "https://npm.example/" }] },
    { input: ["SOURCE_DATE_EPOCH=0"], want: [{ name: "SOURCE_DATE_EPOCH", value: "0" }] },
    {
      input: [`SOURCE_DATE_EPOCH=${GIT_COMMITTER_EPOCH}`],
      want: [{ name: "SOURCE_DATE_EPOCH", value: GIT_COMMITTER_EPOCH }],
    },
    { input: [], want: [] },
  ])("$input", ({ input, want }) => {
    expect(parseBuildArgs(input)).toEqual(want);
  });

  const refusals: Refusal[] = [
    { input: "NOVALUE", why: /must be NAME=VALUE/ },
    { input: "=x", why: /no name before "="/ },
    { input: "1A=x", why: /"1A" is not a build argument name/, fix: "_1A=x" },
    { input: "NODE-ENV=production", why: /"NODE-ENV" is not a build argument name/, fix: "NODE_ENV=production" },
    { input: "A B=x", why: /"A B" is not a build argument name/, fix: "A_B=x" },
    { input: " A=x", why: /" A" is not a build argument name/, fix: "A=x" },
    { input: "A\0=x", why: /is not a build argument name/, fix: "A_=x" },
    { input: "A=x\0y", why: /NUL/, fix: "A=xy" },
    {
      input: `REPO=${GITLAB_REPOSITORY_URL}`,
      shown: "REPO=https://gitlab-ci-token:***@gitlab.com/acme/app.git",
      secret: GITLAB_JOB_TOKEN,
      why: /credentials .*recorded in the image's history/,
      fix: "REPO=https://gitlab.com/acme/app.git",
    },
    { input: "SOURCE_DATE_EPOCH=", why: /whole seconds since 1970/ },
    { input: "SOURCE_DATE_EPOCH=-1", why: /whole seconds since 1970/ },
    { input: "SOURCE_DATE_EPOCH=1.5", why: /whole seconds since 1970/ },
    { input: "SOURCE_DATE_EPOCH=01795625314", why: /whole seconds/, fix: "SOURCE_DATE_EPOCH=1795625314" },
    // Milliseconds, as `date +%s%3N` prints them.
    { input: "SOURCE_DATE_EPOCH=1795625314123", why: /whole seconds/, fix: "SOURCE_DATE_EPOCH=1795625314" },
    { input: "SOURCE_DATE_EPOCH=2026-11-25T16:48:34Z", why: /whole seconds/, fix: "SOURCE_DATE_EPOCH=1795625314" },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseBuildArgs([row.input])),
      "--build-args",
      row,
      listParse((v) => parseBuildArgs(v)),
    );
  });

  it("refuses a name given twice; the fix keeps the last, as Docker would use", () => {
    const row = { input: "", shown: 'A=1,"B=x,y",A=2', why: /build argument "A" is given twice/, fix: '"B=x,y",A=2' };
    expectRefusal(
      refusalOf(() => parseBuildArgs(["A=1", "B=x,y", "A=2"])),
      "--build-args",
      row,
      listParse((v) => parseBuildArgs(v)),
    );
  });
});

describe("parseLabels", () => {
  it.each([
    { input: "a.b=c=d", want: { name: "a.b", value: "c=d" } },
    { input: "org.opencontainers.image.vendor=Acme", want: { name: "org.opencontainers.image.vendor", value: "Acme" } },
    { input: "com.example.build_id=42", want: { name: "com.example.build_id", value: "42" } },
    { input: "team=", want: { name: "team", value: "" } },
    { input: "note=tab\there", want: { name: "note", value: "tab\there" } },
    {
      input: "org.opencontainers.image.created=2026-11-25T16:48:34+00:00",
      want: { name: "org.opencontainers.image.created", value: "2026-11-25T16:48:34+00:00" },
    },
    {
      input: "org.opencontainers.image.source=https://github.com/acme/app",
      want: { name: "org.opencontainers.image.source", value: "https://github.com/acme/app" },
    },
  ])("$input", ({ input, want }) => {
    expect(parseLabels([input])).toEqual([want]);
  });

  const refusals: Refusal[] = [
    { input: "team", why: /must be NAME=VALUE/ },
    { input: "=core", why: /no name before "="/ },
    { input: "Maintainer=me", why: /"Maintainer" is not a label key/, fix: "maintainer=me" },
    { input: "com.example..team=x", why: /not a label key/, fix: "com.example.team=x" },
    { input: "com.example.team.=x", why: /not a label key/, fix: "com.example.team=x" },
    { input: "com example=x", why: /not a label key/, fix: "com-example=x" },
    { input: "-x=1", why: /not a label key/, fix: "x=1" },
    { input: `${"a".repeat(256)}=x`, why: /longer than 255/, fix: undefined },
    { input: "note=two\nlines", why: /line break/, fix: "note=two lines" },
    { input: "note=a\0b", why: /control character/, fix: "note=ab" },
    {
      input: `com.example.repo=${GITLAB_REPOSITORY_URL}`,
      shown: "com.example.repo=https://gitlab-ci-token:***@gitlab.com/acme/app.git",
      secret: GITLAB_JOB_TOKEN,
      why: /credentials.*labels are public/,
      fix: "com.example.repo=https://gitlab.com/acme/app.git",
    },
    {
      input: "org.opencontainers.image.created=2026-02-30T00:00:00Z",
      why: /^org.opencontainers.image.created: February 2026 has no day 30/,
    },
    {
      input: "org.opencontainers.image.created=2026-11-25",
      why: /^org.opencontainers.image.created: is a date without a time/,
      fix: "org.opencontainers.image.created=2026-11-25T00:00:00Z",
    },
    {
      input: "org.opencontainers.image.source=git@github.com:acme/app.git",
      why: /^org.opencontainers.image.source: is an ssh/,
      fix: "org.opencontainers.image.source=https://github.com/acme/app.git",
    },
    {
      input: `org.opencontainers.image.revision=${"1a2b3c4d".repeat(5)}`,
      why: /^org.opencontainers.image.revision is set by dockyard and cannot be overridden/,
    },
    { input: "dockyard.dirty=false", why: /^dockyard.dirty is set by dockyard and cannot be overridden/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseLabels([row.input])),
      "--labels",
      row,
      listParse((v) => parseLabels(v)),
    );
  });

  it("refuses a key given twice; the fix keeps the last", () => {
    const row = { input: "team=a,x=1,team=b", why: /label "team" is given twice/, fix: "x=1,team=b" };
    expectRefusal(
      refusalOf(() => parseLabels(["team=a", "x=1", "team=b"])),
      "--labels",
      row,
      listParse((v) => parseLabels(v)),
    );
  });
});

describe("parseSecretId", () => {
  it.each(["npmrc", "NPM_TOKEN", "a.b-c", "_x", "9", "a".repeat(255)])("accepts %s", (id) => {
    expect(parseSecretId(id)).toBe(id);
    expect(validateSecretId(id)).toBe(id);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: " npmrc", why: /whitespace/, fix: "npmrc" },
    { input: "my secret", why: /holds whitespace/, fix: "my_secret" },
    { input: "/run/secrets/npmrc", why: /is a path/, fix: "npmrc" },
    { input: "../x", why: /is a path/, fix: "x" },
    { input: "a/b", why: /is a path/, fix: "b" },
    { input: ".", why: /not a file name/ },
    { input: "..", why: /not a file name/ },
    { input: ".hidden", why: /not starting with "\."/, fix: "hidden" },
    { input: "-x", why: /not starting with/, fix: "x" },
    { input: "id=npmrc", why: /letters, digits/, fix: "id_npmrc" },
    { input: "a".repeat(256), why: /at most 255/, fix: "a".repeat(255) },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseSecretId(row.input)),
      "--id",
      row,
      (fix) => parseSecretId(fix),
    );
  });
});

describe("a URL's credentials in a label or build argument value, in every form (issue 13)", () => {
  it.each(HOSTILE_URLS)("--labels refuses $form, masked, with the clean URL as the fix", ({ url, clean, masked }) => {
    const row = {
      input: `com.acme.repo=${url}`,
      shown: `com.acme.repo=${masked}`,
      secret: TOKEN_CANARY,
      why: /credentials.*labels are public/,
      fix: `com.acme.repo=${clean}`,
    };
    expectRefusal(
      refusalOf(() => parseLabels([row.input])),
      "--labels",
      row,
      listParse((v) => parseLabels(v)),
    );
  });

  it.each(HOSTILE_URLS)(
    "--build-args refuses $form, masked, with the clean URL as the fix",
    ({ url, clean, masked }) => {
      const row = {
        input: `GIT_URL=${url}`,
        shown: `GIT_URL=${masked}`,
        secret: TOKEN_CANARY,
        why: /credentials.*recorded in the image's history/,
        fix: `GIT_URL=${clean}`,
      };
      expectRefusal(
        refusalOf(() => parseBuildArgs([row.input])),
        "--build-args",
        row,
        listParse((v) => parseBuildArgs(v)),
      );
    },
  );

  it("finds credentials anywhere in a value, not only at its start", () => {
    const row = {
      input: `NOTE=clone ${HOSTILE_URLS[0]?.url ?? ""} first`,
      shown: `NOTE=clone ${HOSTILE_URLS[0]?.masked ?? ""} first`,
      secret: TOKEN_CANARY,
      why: /credentials/,
      fix: `NOTE=clone ${HOSTILE_URLS[0]?.clean ?? ""} first`,
    };
    expectRefusal(
      refusalOf(() => parseBuildArgs([row.input])),
      "--build-args",
      row,
      listParse((v) => parseBuildArgs(v)),
    );
  });

  // An `@` without a password (an e-mail, an scp remote), before a digest or in a path is no credential.
  it.each(NOT_USERINFO)("accepts %s", (value) => {
    expect(parseLabels([`com.acme.ref=${value}`])).toEqual([{ name: "com.acme.ref", value }]);
    expect(parseBuildArgs([`REF=${value}`])).toEqual([{ name: "REF", value }]);
  });
});
