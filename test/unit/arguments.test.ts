// Unit: --username, --created, --source-url, --retries, --push-timeout and the shared error format (quoting, masking, lists).
import { describe, expect, it } from "vitest";

import { ArgumentError, joinList, maskUrlCredentials, quote, splitList, validFix } from "../../src/input/argument.js";
import * as args from "../../src/input/index.js";
import { InvalidInputError } from "../../src/errors/index.js";
import { parsePushTimeout, parseRetries } from "../../src/input/limits.js";
import { parseUsername } from "../../src/input/address.js";
import { parseCreated } from "../../src/input/timestamp.js";
import { parseSourceUrl } from "../../src/input/url.js";
import {
  DATE_ISO_SECONDS,
  GIT_COMMITTER_EPOCH,
  GIT_COMMITTER_ISO,
  GIT_COMMITTER_ISO_STRICT,
  GITHUB_ACTOR_BOT,
  GITHUB_REPOSITORY_URL,
  GITLAB_JOB_TOKEN,
  GITLAB_REGISTRY_USER,
  GITLAB_REPOSITORY_URL,
} from "../fixtures/cli-values.js";
import { HOSTILE_URLS, NOT_USERINFO, TOKEN_CANARY } from "../fixtures/url-credentials.js";
import { expectRefusal, refusalOf, type Refusal } from "./refusal.js";

describe("parseUsername", () => {
  it.each([
    GITHUB_ACTOR_BOT,
    GITLAB_REGISTRY_USER,
    "AWS",
    "robot$acme+ci",
    "00000000-0000-0000-0000-000000000000",
    "ci@acme.example",
    "jörg",
  ])("accepts %s", (user) => {
    expect(parseUsername(user)).toBe(user);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: "acme-bot ", why: /whitespace/, fix: "acme-bot" },
    { input: "acme bot", why: /holds whitespace/, fix: "acme-bot" },
    { input: "acme\tbot", why: /control character U\+0009 \(tab\)/, fix: "acmebot" },
    { input: "bot:ghp_s3cret", shown: "bot:***", secret: "ghp_s3cret", why: /Basic auth/, fix: "bot" },
    { input: ":token", shown: ":***", why: /Basic auth/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseUsername(row.input)),
      "--username",
      row,
      (fix) => parseUsername(fix),
    );
  });
});

describe("parseCreated", () => {
  it.each([
    GIT_COMMITTER_ISO_STRICT,
    DATE_ISO_SECONDS,
    "2026-01-31T12:00:00Z",
    "2026-01-31T12:00:00.123456789Z",
    "2024-02-29T00:00:00Z",
    "2000-02-29T23:59:59-23:59",
    "2026-11-25T10:00:00-00:00",
  ])("accepts %s as given", (created) => {
    expect(parseCreated(created)).toBe(created);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    { input: " 2026-01-31T12:00:00Z", why: /whitespace/, fix: "2026-01-31T12:00:00Z" },
    { input: "2026-01-31", why: /date without a time/, fix: "2026-01-31T00:00:00Z" },
    { input: "2026-01-31T12:00:00", why: /no time zone/, fix: "2026-01-31T12:00:00Z" },
    { input: "2026-01-31T12:00Z", why: /no seconds/, fix: "2026-01-31T12:00:00Z" },
    { input: GIT_COMMITTER_ISO, why: /separates date and time with "T"/, fix: GIT_COMMITTER_ISO_STRICT },
    { input: "2026-01-31t12:00:00z", why: /"T"/, fix: "2026-01-31T12:00:00Z" },
    { input: "2026-01-31T12:00:00z", why: /writes UTC as "Z"/, fix: "2026-01-31T12:00:00Z" },
    { input: "2026-01-31T12:00:00+0100", why: /±HH:MM/, fix: "2026-01-31T12:00:00+01:00" },
    { input: "2026-01-31T12:00:00+01", why: /±HH:MM/, fix: "2026-01-31T12:00:00+01:00" },
    { input: "2026-01-31T12:00:00.1234567891Z", why: /more than 9/, fix: "2026-01-31T12:00:00.123456789Z" },
    { input: GIT_COMMITTER_EPOCH, why: /Unix time/, fix: "2026-11-25T16:48:34Z" },
    { input: "1795625314000", why: /Unix time/, fix: "2026-11-25T16:48:34Z" },
    { input: "2026-02-30T00:00:00Z", why: /February 2026 has no day 30/ },
    { input: "2025-02-29T00:00:00Z", why: /February 2025 has no day 29/ },
    { input: "1900-02-29T00:00:00Z", why: /February 1900 has no day 29/ },
    { input: "2026-04-31T00:00:00Z", why: /April 2026 has no day 31/ },
    { input: "2026-13-01T00:00:00Z", why: /month 13/ },
    { input: "2026-00-01T00:00:00Z", why: /month 00/ },
    { input: "2026-01-00T00:00:00Z", why: /no day 00/ },
    { input: "2026-01-31T24:00:00Z", why: /hour 24/ },
    { input: "2026-01-31T12:60:00Z", why: /minute 60/ },
    { input: "2016-12-31T23:59:60Z", why: /leap second/, fix: "2016-12-31T23:59:59Z" },
    { input: "2026-01-31T12:00:61Z", why: /second 61/ },
    { input: "2026-01-31T12:00:00+24:00", why: /offset "\+24:00"/ },
    { input: "yesterday", why: /not an RFC 3339 date-time/ },
    { input: "31/01/2026", why: /not an RFC 3339 date-time/ },
  ];
  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseCreated(row.input)),
      "--created",
      row,
      (fix) => parseCreated(fix),
    );
  });
});

describe("parseSourceUrl", () => {
  it.each([
    GITHUB_REPOSITORY_URL,
    "https://gitlab.com/acme/app.git",
    "http://git.internal:8080/acme/app",
    "https://github.com/acme/app/tree/main?tab=readme#install",
  ])("accepts %s as given", (url) => {
    expect(parseSourceUrl(url)).toBe(url);
  });

  const refusals: Refusal[] = [
    { input: "", why: /must not be empty/ },
    {
      input: GITLAB_REPOSITORY_URL,
      shown: "https://gitlab-ci-token:***@gitlab.com/acme/app.git",
      secret: GITLAB_JOB_TOKEN,
      why: /holds credentials .*labels are public/,
      fix: "https://gitlab.com/acme/app.git",
    },
    {
      input: "https://ghp_abc123@github.com/acme/app",
      shown: "https://***@github.com/acme/app",
      secret: "ghp_abc123",
      why: /holds credentials/,
      fix: "https://github.com/acme/app",
    },
    {
      input: "https://gitlab.com/api/v4/projects/1?private_token=glpat-abc&ref=main",
      shown: "https://gitlab.com/api/v4/projects/1?private_token=***&ref=main",
      secret: "glpat-abc",
      why: /credential in its query \("private_token"\)/,
      fix: "https://gitlab.com/api/v4/projects/1?ref=main",
    },
    { input: "git@github.com:acme/app.git", why: /scp-style/, fix: "https://github.com/acme/app.git" },
    {
      input: "ssh://git@github.com/acme/app.git",
      shown: "ssh://***@github.com/acme/app.git",
      why: /scheme "ssh"/,
      fix: "https://github.com/acme/app.git",
    },
    {
      input: "ssh://git@gitlab.example:2222/acme/app.git",
      shown: "ssh://***@gitlab.example:2222/acme/app.git",
      why: /scheme "ssh"/,
      fix: "https://gitlab.example/acme/app.git",
    },
    { input: "git://github.com/acme/app", why: /scheme "git"/, fix: "https://github.com/acme/app" },
    { input: "ftp://example.com/app", why: /scheme "ftp"/ },
    { input: "github.com/acme/app", why: /needs https:\/\//, fix: "https://github.com/acme/app" },
    { input: "acme/app", why: /needs https:\/\// },
    { input: "https://github.com/acme/my app", why: /holds whitespace/, fix: "https://github.com/acme/my%20app" },
    { input: "https://github.com/acme/app\n", why: /whitespace/, fix: "https://github.com/acme/app" },
    { input: "https:///acme/app", why: /has no host|not a valid URL/ },
    { input: "https://exa mple.com", why: /holds whitespace/ },
  ];
  it.each(HOSTILE_URLS)(
    "refuses $form, masked, with an https URL without credentials as the fix",
    ({ url, masked }) => {
      const row = {
        input: url,
        shown: masked,
        secret: TOKEN_CANARY,
        why: /holds credentials|scp-style/,
        fix: "https://" + (url.includes("10.0.0.5") ? "10.0.0.5:8443" : "gitlab.example") + "/acme/app.git",
      };
      expectRefusal(
        refusalOf(() => parseSourceUrl(url)),
        "--source-url",
        row,
        (fix) => parseSourceUrl(fix),
      );
    },
  );

  it.each(refusals)("refuses $input", (row) => {
    expectRefusal(
      refusalOf(() => parseSourceUrl(row.input)),
      "--source-url",
      row,
      (fix) => parseSourceUrl(fix),
    );
  });
});

describe("parseRetries and parsePushTimeout", () => {
  it.each([0, 3, 10])("--retries %d", (n) => expect(parseRetries(n)).toBe(n));
  it.each([1, 300, 3600])("--push-timeout %d", (n) => expect(parsePushTimeout(n)).toBe(n));

  it.each([
    { run: () => parseRetries(11), flag: "--retries", input: "11", why: /from 0 to 10/, fix: "10" },
    { run: () => parseRetries(-1), flag: "--retries", input: "-1", why: /from 0 to 10/, fix: "0" },
    { run: () => parseRetries(2.5), flag: "--retries", input: "2.5", why: /whole number/, fix: "3" },
    { run: () => parsePushTimeout(0), flag: "--push-timeout", input: "0", why: /from 1 to 3600 seconds/, fix: "1" },
    { run: () => parsePushTimeout(86400), flag: "--push-timeout", input: "86400", why: /3600/, fix: "3600" },
    { run: () => parsePushTimeout(Number.NaN), flag: "--push-timeout", input: "NaN", why: /whole/, fix: "300" },
  ])("$flag $input", ({ run, flag, input, why, fix }) => {
    const parse = flag === "--retries" ? parseRetries : parsePushTimeout;
    expectRefusal(refusalOf(run), flag, { input, why, fix }, (f) => parse(Number(f)));
  });
});

describe("the error format", () => {
  it("is an InvalidInputError naming flag, value, reason and fix", () => {
    const err = refusalOf(() => args.parseImageName("GHCR.io/Acme/App"));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toBe('--images "GHCR.io/Acme/App": registry host must be lowercase (try "ghcr.io/acme/app")');
  });

  it.each([
    ["plain", '"plain"'],
    ['a"b', '"a\\"b"'],
    ["tab\there", '"tab\\there"'],
    ["nbsp\u00a0", '"nbsp\\u00a0"'],
    ["zw\u200bsp", '"zw\\u200bsp"'],
    ["bom\ufeff", '"bom\\ufeff"'],
  ])("quotes %j as %s", (value, want) => {
    expect(quote(value)).toBe(want);
  });

  it.each([
    [GITLAB_REPOSITORY_URL, "https://gitlab-ci-token:***@gitlab.com/acme/app.git"],
    ["https://ghp_x@github.com/a", "https://***@github.com/a"],
    ["see https://u:p@h/x and http://v:q@k/", "see https://u:***@h/x and http://v:***@k/"],
    ["https://h/x?access_token=abc&page=2", "https://h/x?access_token=***&page=2"],
    ["https://s3/x?X-Amz-Signature=abc&X-Amz-Credential=def", "https://s3/x?X-Amz-Signature=***&X-Amz-Credential=***"],
    ["https://h/x?design=blue", "https://h/x?design=blue"],
    ["user:pass@ghcr.io/acme/app", "user:***@ghcr.io/acme/app"],
    ["git@github.com:acme/app.git", "git@github.com:acme/app.git"],
    // containerd's push errors, as the retry log line and the final report show them.
    [
      'failed to do request: Put "https://ci:glpat-x/y@registry.example/v2/acme/app/manifests/1": EOF',
      'failed to do request: Put "https://ci:***@registry.example/v2/acme/app/manifests/1": EOF',
    ],
    [
      'failed to do request: Head "https://ci:a#b?c@10.0.0.5:5000/v2/acme/app/blobs/sha256:1": read: connection reset',
      'failed to do request: Head "https://ci:***@10.0.0.5:5000/v2/acme/app/blobs/sha256:1": read: connection reset',
    ],
    ["push ci:glpat-x@registry.example/acme/app: denied", "push ci:***@registry.example/acme/app: denied"],
    ["pull docker.io/library/redis@sha256:" + "a".repeat(64), "pull docker.io/library/redis@sha256:" + "a".repeat(64)],
    ["localhost:8080@sha256:" + "b".repeat(64), "localhost:8080@sha256:" + "b".repeat(64)],
  ])("masks %s", (text, want) => {
    expect(maskUrlCredentials(text)).toBe(want);
    expect(args.maskUrlCredentials(text)).toBe(want);
  });

  it.each(HOSTILE_URLS)("masks $form, alone and inside an engine error", ({ url, masked }) => {
    expect(maskUrlCredentials(url)).toBe(masked);
    const line = maskUrlCredentials(`failed to do request: Put "${url}/v2/": EOF`);
    expect(line).toBe(`failed to do request: Put "${masked}/v2/": EOF`);
    expect(line).not.toContain(TOKEN_CANARY);
  });

  it.each(NOT_USERINFO)("leaves %s as it is", (text) => {
    expect(maskUrlCredentials(text)).toBe(text);
  });

  it.each([[["a", "b"]], [["A=1", "B=x,y", 'C="q"']], [[" lead", ""]]])(
    "a list survives joinList/splitList: %j",
    (items) => {
      expect(splitList(joinList(items))).toEqual(items);
    },
  );

  it("offers a fix only when the parser accepts it, following the fix's own fix", () => {
    const check = (s: string) => {
      if (s !== "good") throw new ArgumentError("--x", s, "bad", s === "better" ? "good" : undefined, "hint");
    };
    expect(validFix("good", check, "orig")).toBe("good");
    expect(validFix("better", check, "orig")).toBe("good");
    expect(validFix("worse", check, "orig")).toBeUndefined();
    expect(validFix("orig", check, "orig")).toBeUndefined();
  });
});
