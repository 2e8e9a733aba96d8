// Unit: the publish plan, the push order, honest partial-failure reports and push-failure messages (src/push/publish.ts).
import { describe, expect, it } from "vitest";

import { pickCredential } from "../../src/push/credentials.js";
import { PublishError } from "../../src/errors/index.js";
import type { ImageName } from "../../src/input/image.js";
import {
  describePushFailure,
  digestOf,
  pinnedRef,
  planPublish,
  pushAll,
  type PublishTarget,
} from "../../src/push/publish.js";
import { classifyPushError } from "../../src/push/retry.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const image = (host: string, repository: string): ImageName => ({ host, repository, name: `${host}/${repository}` });
const MANIFEST_503 = (t: PublishTarget) =>
  `unexpected status from PUT request to http://${t.image.host}/v2/${t.image.repository}/manifests/${t.tag}: 503 Service Unavailable`;
const BLOB_503 = (t: PublishTarget) =>
  `unexpected status from POST request to http://${t.image.host}/v2/${t.image.repository}/blobs/uploads/: 503 Service Unavailable`;

describe("planPublish", () => {
  it("every image gets every tag, images in order", () => {
    const images = [image("ghcr.io", "acme/app"), image("docker.io", "acme/app")];
    expect(planPublish(images, ["1a2b3c4", "main"]).map((t) => t.ref)).toEqual([
      "ghcr.io/acme/app:1a2b3c4",
      "ghcr.io/acme/app:main",
      "docker.io/acme/app:1a2b3c4",
      "docker.io/acme/app:main",
    ]);
  });
});

describe("pinnedRef and digestOf", () => {
  it.each([
    { published: `ghcr.io/acme/app:main@${DIGEST}`, want: `ghcr.io/acme/app:main@${DIGEST}` },
    { published: DIGEST, want: `ghcr.io/acme/app:main@${DIGEST}` },
  ])("$published", ({ published, want }) => {
    expect(pinnedRef("ghcr.io/acme/app:main", published)).toBe(want);
    expect(digestOf(want)).toBe(DIGEST);
  });
  it("no digest: empty", () => expect(digestOf("ghcr.io/acme/app:main")).toBe(""));
});

describe("pushAll", () => {
  const targets = planPublish([image("r1.local", "app"), image("r2.local", "app")], ["t1", "t2"]);
  const pinned = (t: PublishTarget) => `${t.ref}@${DIGEST}`;

  it("returns the pinned refs in target order", async () => {
    expect(await pushAll(targets, async (t) => pinned(t))).toEqual(targets.map(pinned));
  });

  it.each([
    {
      rule: "a failure before the manifest was sent: not pushed",
      fail: BLOB_503,
      state: "not pushed",
      report: { unknown: [], notPushed: ["r2.local/app:t1", "r2.local/app:t2"] },
    },
    {
      rule: "a 5xx on the manifest PUT: unknown (the registry may have stored it)",
      fail: MANIFEST_503,
      state: "unknown",
      report: { unknown: ["r2.local/app:t1"], notPushed: ["r2.local/app:t2"] },
    },
    {
      rule: "a dropped connection on the manifest PUT: unknown",
      fail: (t: PublishTarget) => `failed to do request: Put "http://r2.local/v2/app/manifests/${t.tag}": EOF`,
      state: "unknown",
      report: { unknown: ["r2.local/app:t1"], notPushed: ["r2.local/app:t2"] },
    },
    {
      rule: "a push we stopped waiting for: unknown",
      fail: () => "push timed out after 300 s (--push-timeout): the registry may or may not hold the ref",
      state: "unknown",
      report: { unknown: ["r2.local/app:t1"], notPushed: ["r2.local/app:t2"] },
    },
  ])("$rule", async ({ fail, state, report }) => {
    const err = await pushAll(targets, async (t) => {
      if (t.image.host === "r2.local") throw new Error(fail(t));
      return pinned(t);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    const pe = err as PublishError;
    expect(pe.code).toBe("DOCKYARD_PUBLISH");
    expect(pe.refs).toEqual({ confirmed: [pinned(targets[0]!), pinned(targets[1]!)], ...report });
    expect(pe.message).toMatch(/^publish failed for 2 of 4 refs/);
    expect(pe.message).toContain(`  ${state}: r2.local/app:t1: `);
    expect(pe.message).toContain(`  confirmed: r1.local/app:t1@${DIGEST}`);
    expect(pe.message).toContain(
      "  not tried: r2.local/app:t2: not tried: the first push to this repository did not succeed",
    );
    if (state === "unknown") expect(pe.message).toMatch(/1 unknown: the registry may hold them/);
  });

  it("first tags side by side, then every other tag in one burst once all first pushes settled", async () => {
    const events: string[] = [];
    const step = (kind: string) => async (t: PublishTarget) => {
      events.push(`start ${kind} ${t.ref}`);
      await Promise.resolve();
      events.push(`end ${kind} ${t.ref}`);
      return pinned(t);
    };
    await pushAll(targets, step("push"), "publish", step("tag"));
    const lastFirstEnd = Math.max(...["r1", "r2"].map((h) => events.indexOf(`end push ${h}.local/app:t1`)));
    const firstTagStart = Math.min(...["r1", "r2"].map((h) => events.indexOf(`start tag ${h}.local/app:t2`)));
    expect(lastFirstEnd).toBeLessThan(firstTagStart);
    expect(events.indexOf("start push r2.local/app:t1")).toBeLessThan(events.indexOf("end push r1.local/app:t1"));
    expect(events.filter((e) => e.startsWith("start tag"))).toEqual([
      "start tag r1.local/app:t2",
      "start tag r2.local/app:t2",
    ]);
  });

  it("each other tag is given its repository's first pinned ref; a failed first leaves its repository untried", async () => {
    const given: string[] = [];
    const err = await pushAll(
      targets,
      async (t) => {
        if (t.image.host === "r2.local") throw new Error(BLOB_503(t));
        return `${t.ref}@${DIGEST}`;
      },
      "publish",
      async (t, first) => {
        given.push(`${t.ref} <- ${first}`);
        return pinnedRef(t.ref, digestOf(first));
      },
    ).then(
      () => undefined,
      (e: unknown) => e as PublishError,
    );
    expect(given).toEqual([`r1.local/app:t2 <- r1.local/app:t1@${DIGEST}`]);
    expect(err?.message).toMatch(/not tried: r2\.local\/app:t2: not tried: the first push/);
  });

  it("a reason that carries URL credentials is reported with them masked", async () => {
    const err = (await pushAll(targets, () =>
      Promise.reject(
        new Error('failed to do request: Head "https://robot:s3cr3t@r1.local/v2/app/blobs/x?token=abc": EOF'),
      ),
    ).catch((e: unknown) => e)) as PublishError;
    expect(err.message).toContain("https://robot:***@r1.local/v2/app/blobs/x?token=***");
    expect(err.message).not.toMatch(/s3cr3t|abc/);
  });

  it("a total failure confirms nothing", async () => {
    const err = (await pushAll(targets, () => Promise.reject(new Error("boom"))).catch(
      (e: unknown) => e,
    )) as PublishError;
    expect(err.message).toMatch(/publish failed for 4 of 4 refs/);
    expect(err.refs.confirmed).toEqual([]);
  });
});

describe("describePushFailure", () => {
  const [target] = planPublish([image("127.0.0.1:5055", "acme/app")], ["t"]);
  const text = (status: string) =>
    `unexpected status from HEAD request to http://127.0.0.1:5055/v2/acme/app/blobs/sha256:0a: ${status}`;
  it.each([
    {
      rule: "401 with credentials: refused, check them",
      message: text("401 Unauthorized"),
      credentials: "given" as const,
      match: /^registry 127.0.0.1:5055 refused the credentials \(401\): check the username and the password or token/,
    },
    {
      rule: "401 without credentials: pass some",
      message: text("401 Unauthorized"),
      credentials: "none" as const,
      match:
        /^no credentials for registry 127.0.0.1:5055: pass --username and --password, or with-registry-auth --address 127.0.0.1:5055/,
    },
    {
      rule: "403: accepted but no push permission, with the usual causes",
      message: text("403 Forbidden"),
      credentials: "given" as const,
      match:
        /^registry 127.0.0.1:5055 accepted the credentials but denied pushing to acme\/app \(403\).*read-only.*--push=false.*packages: write.*ECR needs the repository to exist/,
    },
    {
      rule: "an expired token: get a fresh one",
      message: `${text("403 Forbidden")}\ndenied: Your authorization token has expired. Reauthenticate and try again.`,
      credentials: "given" as const,
      match: /says the token has expired: get a fresh one.*aws ecr get-login-password/,
    },
    {
      rule: "no such repository: create it",
      message: `${text("404 Not Found")}\nname unknown: The repository with name 'acme/app' does not exist in the registry with id '1'`,
      credentials: "given" as const,
      match:
        /has no repository acme\/app: create it first \(Amazon ECR: aws ecr create-repository --repository-name acme\/app\)/,
    },
    {
      rule: "GHCR's secondary rate limit (403) is no permission problem: the engine's text",
      message: `${text("403 Forbidden")}\ndenied: You have exceeded a secondary rate limit`,
      credentials: "given" as const,
      match: /^unexpected status [\s\S]*secondary rate limit$/,
    },
    {
      rule: "Docker Hub's pull quota: authenticate pulls",
      message: `${text("429 Too Many Requests")}\ntoomanyrequests: You have reached your pull rate limit.`,
      credentials: "given" as const,
      match: /Docker Hub's pull rate limit, which retrying does not lift: authenticate pulls/,
    },
    { rule: "others: the engine's text", message: "boom", credentials: "given" as const, match: /^boom$/ },
  ])("$rule", ({ message, credentials, match }) => {
    expect(describePushFailure(target!, classifyPushError(message), message, credentials)).toMatch(match);
  });

  it("the 401 and 403 messages differ", () => {
    const m401 = describePushFailure(target!, classifyPushError(text("401 Unauthorized")), "x", "given");
    const m403 = describePushFailure(target!, classifyPushError(text("403 Forbidden")), "x", "given");
    expect(m401).not.toBe(m403);
    expect(m403).not.toMatch(/check the username/);
  });
});

describe("pickCredential", () => {
  const reg = [
    { host: "ghcr.io", username: "a", password: "pa" },
    { host: "docker.io", username: "b", password: "pb" },
    { host: "ghcr.io", username: "c", password: "pc" },
  ];
  it.each([
    { rule: "per-host: the last registration wins", host: "ghcr.io", shared: undefined, want: "c" },
    {
      rule: "per-host wins over --username/--password",
      host: "docker.io",
      shared: { username: "s", password: "ps" },
      want: "b",
    },
    { rule: "shared for other hosts", host: "quay.io", shared: { username: "s", password: "ps" }, want: "s" },
    { rule: "none: anonymous", host: "quay.io", shared: undefined, want: undefined },
  ])("$rule", ({ host, shared, want }) => {
    expect(pickCredential(host, reg, shared)?.username).toBe(want);
  });
});
