// Unit: src/signing's pure parts — DSSE's PAE, the OIDC token checks and the token mask, the
// in-toto subject name — with no request made.
import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors/index.js";
import { checkOidcToken, maskToken, preAuthEncoding } from "../../src/signing/index.js";
import { subjectName } from "../../src/signing/statement.js";
import { serviceMessage } from "../../src/signing/service.js";
import { testJwt } from "../fixtures/sigstore.js";

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const token = (claims: Record<string, unknown>) => testJwt({ iss: "https://issuer.test", sub: "me", ...claims });

describe("preAuthEncoding", () => {
  it("matches the DSSE protocol's worked example", () => {
    expect(preAuthEncoding("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });
  it("counts bytes, not characters", () => {
    expect(preAuthEncoding("t", Buffer.from("é")).toString()).toBe("DSSEv1 1 t 2 é");
  });
});

describe("checkOidcToken", () => {
  it("returns the identity, issuer and expiry", () => {
    expect(checkOidcToken(token({ exp: NOW / 1000 + 300 }), NOW)).toEqual({
      identity: "me",
      issuer: "https://issuer.test",
      expiresAt: NOW / 1000 + 300,
    });
  });
  it("takes a token without exp (Fulcio decides) and trims surrounding whitespace", () => {
    expect(checkOidcToken(`  ${token({})}\n`, NOW).identity).toBe("me");
  });
  it.each([
    [
      "a JSON array payload",
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from("[1]").toString("base64url")}.x`,
    ],
    ["a part of impossible length", `${Buffer.from('{"alg":"none"}').toString("base64url")}.abcde.x`],
  ])("refuses %s", (_, bad) => {
    expect(() => checkOidcToken(bad, NOW)).toThrow(InvalidInputError);
  });
});

describe("maskToken", () => {
  it("masks the token, its parts, its decoded payload and any other JWT", () => {
    const t = token({ jti: "secret-claim-value" });
    const [h, p, s] = t.split(".");
    const payload = Buffer.from(p ?? "", "base64url").toString("utf8");
    const other = testJwt({ sub: "someone-else" });
    const text = `a ${t} b ${p} c ${s} d ${payload} e ${other} f ${h}`;
    const masked = maskToken(text, t);
    for (const leak of [t, p, s, payload, other, h]) expect(masked).not.toContain(leak);
    expect(masked).toMatch(/^a \*\*\* b \*\*\* c \*\*\* d \*\*\* e \*\*\* f \*\*\*$/);
  });
});

describe("subjectName", () => {
  const d = `sha256:${"0".repeat(64)}`;
  it.each([
    ["ghcr.io/acme/app", "ghcr.io/acme/app"],
    ["ghcr.io/acme/app:v1", "ghcr.io/acme/app"],
    [`ghcr.io/acme/app@${d}`, "ghcr.io/acme/app"],
    ["localhost:5000/app:1", "localhost:5000/app"],
    ["docker.io/library/nginx", "docker.io/library/nginx"],
  ])("%s → %s", (image, name) => expect(subjectName(image, d)).toBe(name));
  it.each(["app", "acme/app", "ghcr.io/Acme/app"])("refuses %s", (image) => {
    expect(() => subjectName(image, d)).toThrow(InvalidInputError);
  });
});

describe("serviceMessage", () => {
  it.each([
    ['{"code":16,"message":"invalid token"}', "invalid token"],
    ['{"error":"nope"}', "nope"],
    ["  plain\n text  ", "plain text"],
  ])("%s → %s", (body, said) => expect(serviceMessage(body)).toBe(said));
});
