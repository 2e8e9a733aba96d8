// Rung 1 (types) covers the signatures; this file is the pure publish plan, partial failures and git-source rules.
import { describe, expect, it } from "vitest";

import { PublishError } from "../../src/errors/index.js";
import { dirtyCheckoutError, headRefs, missingCommitError, tagName } from "../../src/gitsource.js";
import {
  checkCredentialPair,
  describePushFailure,
  parseImageList,
  pinnedRef,
  planPublish,
  pushAll,
} from "../../src/publish.js";
import { COMMIT } from "../fixtures/commits.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("planPublish", () => {
  it("every image gets every tag, images in order", () => {
    const images = parseImageList(["ghcr.io/acme/app", "acme/app"]);
    expect(planPublish(images, ["1a2b3c4", "main"]).map((t) => t.ref)).toEqual([
      "ghcr.io/acme/app:1a2b3c4",
      "ghcr.io/acme/app:main",
      "docker.io/acme/app:1a2b3c4",
      "docker.io/acme/app:main",
    ]);
  });

  it.each([
    { images: [], match: /images: give at least one image name/ },
    {
      images: ["acme/app", "docker.io/acme/app"],
      match: /image "docker.io\/acme\/app": given twice \(as docker.io\/acme\/app\)/,
    },
    { images: ["ok/app", "Bad/App"], match: /image "Bad\/App": repository must be lowercase/ },
  ])("rejects $images", ({ images, match }) => {
    expect(() => parseImageList(images)).toThrow(match);
  });
});

describe("checkCredentialPair", () => {
  it.each([
    { username: "ci", hasPassword: false, match: /username "ci": also pass --password/ },
    { username: undefined, hasPassword: true, match: /password: also pass --username/ },
  ])("$username/$hasPassword", ({ username, hasPassword, match }) => {
    expect(() => checkCredentialPair(username, hasPassword)).toThrow(match);
  });
  it("accepts both or neither", () => {
    expect(() => checkCredentialPair("ci", true)).not.toThrow();
    expect(() => checkCredentialPair(undefined, false)).not.toThrow();
  });
});

describe("pinnedRef", () => {
  it.each([
    { published: `ghcr.io/acme/app:main@${DIGEST}`, want: `ghcr.io/acme/app:main@${DIGEST}` },
    { published: DIGEST, want: `ghcr.io/acme/app:main@${DIGEST}` },
  ])("$published", ({ published, want }) => {
    expect(pinnedRef("ghcr.io/acme/app:main", published)).toBe(want);
  });
});

describe("pushAll", () => {
  const targets = planPublish(parseImageList(["r1.local/app", "r2.local/app"]), ["t1", "t2"]);

  it("returns the pinned refs in target order", async () => {
    const refs = await pushAll(targets, async (t) => `${t.ref}@${DIGEST}`);
    expect(refs).toEqual(targets.map((t) => `${t.ref}@${DIGEST}`));
  });

  it("a partial failure lists what was pushed and what was not", async () => {
    const push = async (t: (typeof targets)[number]) => {
      if (t.image.host === "r2.local") throw new Error("503 Service Unavailable");
      return `${t.ref}@${DIGEST}`;
    };
    const err = await pushAll(targets, push).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    const pe = err as PublishError;
    expect(pe.code).toBe("DOCKYARD_PUBLISH");
    expect(pe.pushed).toEqual([`r1.local/app:t1@${DIGEST}`, `r1.local/app:t2@${DIGEST}`]);
    expect(pe.failed).toEqual(["r2.local/app:t1", "r2.local/app:t2"]);
    expect(pe.message).toMatch(/publish failed for 2 of 4 refs/);
    expect(pe.message).toMatch(/not pushed: r2.local\/app:t1: 503 Service Unavailable/);
    expect(pe.message).toMatch(/pushed: r1.local\/app:t1@sha256:/);
  });

  it("each repository's first tag is pushed alone, then its other tags together; repositories side by side", async () => {
    const events: string[] = [];
    const push = async (t: (typeof targets)[number]) => {
      events.push(`start ${t.ref}`);
      await Promise.resolve();
      events.push(`end ${t.ref}`);
      return `${t.ref}@${DIGEST}`;
    };
    await pushAll(targets, push);
    for (const host of ["r1.local", "r2.local"]) {
      expect(events.indexOf(`end ${host}/app:t1`)).toBeLessThan(events.indexOf(`start ${host}/app:t2`));
    }
    expect(events.indexOf("start r2.local/app:t1")).toBeLessThan(events.indexOf("end r1.local/app:t1"));
  });

  it("when a repository's first push fails, its other tags are not tried", async () => {
    const tried: string[] = [];
    const push = async (t: (typeof targets)[number]) => {
      tried.push(t.ref);
      if (t.image.host === "r1.local") throw new Error("401 Unauthorized");
      return `${t.ref}@${DIGEST}`;
    };
    const err = (await pushAll(targets, push).catch((e: unknown) => e)) as PublishError;
    expect(tried.sort()).toEqual(["r1.local/app:t1", "r2.local/app:t1", "r2.local/app:t2"]);
    expect(err.failed).toEqual(["r1.local/app:t1", "r1.local/app:t2"]);
    expect(err.message).toMatch(/not pushed: r1.local\/app:t2: not tried: the first push to this repository failed/);
  });

  it("a total failure says nothing was pushed", async () => {
    const err = (await pushAll(targets, () => Promise.reject(new Error("boom"))).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/publish failed for 4 of 4 refs/);
    expect(err.message).toMatch(/pushed: none/);
  });
});

describe("describePushFailure", () => {
  const [target] = planPublish(parseImageList(["127.0.0.1:5055/app"]), ["t"]);
  it("auth failures name the registry and say authentication failed", () => {
    expect(describePushFailure(target!, "auth", "401 Unauthorized")).toMatch(
      /^authentication failed for registry 127.0.0.1:5055: check the username and password given for 127.0.0.1:5055/,
    );
  });
  it("other failures keep the engine's message", () => {
    expect(describePushFailure(target!, "transient", "503")).toBe("503");
  });
});

describe("headRefs", () => {
  it.each([
    { rule: "on a branch: the branch", ref: "refs/heads/main", tags: ["v1.0.0"], want: ["refs/heads/main"] },
    { rule: "detached: the tags at the commit", ref: "HEAD", tags: ["v1.0.0"], want: ["refs/tags/v1.0.0"] },
    { rule: "detached with full tag refs", ref: COMMIT, tags: ["refs/tags/x"], want: ["refs/tags/x"] },
    {
      rule: "detached: semver first, newest first, then others",
      ref: "HEAD",
      tags: ["nightly", "v1.2.0", "v1.10.0", "alpha"],
      want: ["refs/tags/v1.10.0", "refs/tags/v1.2.0", "refs/tags/alpha", "refs/tags/nightly"],
    },
    { rule: "detached, no tags: none", ref: "HEAD", tags: [], want: [] },
  ])("$rule", ({ ref, tags, want }) => {
    expect(headRefs({ commit: COMMIT, ref }, tags)).toEqual(want);
  });

  it.each([
    ["refs/tags/v1", "v1"],
    ["v1", "v1"],
  ])("tagName(%s) is %s", (input, want) => expect(tagName(input)).toBe(want));
});

describe("git source errors", () => {
  it("a missing commit says how to pass it", () => {
    const e = missingCommitError("no .git");
    expect(e.code).toBe("DOCKYARD_GIT_SOURCE");
    expect(e.message).toMatch(/no commit to tag the image with: no .git; pass --commit and --ref/);
    expect(e.message).toMatch(/GITHUB_SHA/);
  });

  it("a dirty checkout names a few paths and the way out", () => {
    const e = dirtyCheckoutError(COMMIT, ["a", "b", "c", "d", "e", "f", "g"]);
    expect(e.message).toMatch(/uncommitted changes \("a", "b", "c", "d", "e" and 2 more\)/);
    expect(e.message).toMatch(/tagged 1a2b3c4/);
    expect(e.message).toMatch(/--allow-dirty/);
  });
});
