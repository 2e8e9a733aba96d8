// Rung 3: src/signing/verify.ts's verifyBundle beside Sigstore's own verifier (@sigstore/verify 3.x) on bundles
// signed by src/signing against @sigstore/mock 0.11's Fulcio and Rekor served on loopback: for every bundle (good,
// and each with one part altered) and every policy, ours accepts exactly when Sigstore's does, but for one bundle:
// an inclusion proof whose rootHash is not its checkpoint's, which @sigstore/verify 3.1 lets pass (it chains the
// path to the checkpoint's hash and never reads rootHash) and ours refuses, as rekor's pkg/verify does.
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { BundleVerificationError } from "../../src/errors/index.js";
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  keylessSigner,
  SLSA_PROVENANCE_PREDICATE_TYPE,
  type SigstoreBundle,
} from "../../src/signing/index.js";
import { verifyBundle, type VerificationPolicy } from "../../src/signing/verify.js";
import { startSigstore, testJwt, type Sigstore } from "../fixtures/sigstore.js";

const IMAGE = "ghcr.io/acme/app";
const DIGESTS = [`sha256:${"ab12".repeat(16)}`, `sha256:${"cd34".repeat(16)}`];
const SUB = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const ISS = "https://token.actions.githubusercontent.com";
const TOKEN = testJwt({ iss: ISS, sub: SUB, aud: "sigstore", exp: Math.floor(Date.now() / 1000) + 600 });

const POLICIES: [string, VerificationPolicy][] = [
  ["the signer's identity and issuer", { certificateIdentity: SUB, certificateOidcIssuer: ISS }],
  ["another identity", { certificateIdentity: `${SUB}x`, certificateOidcIssuer: ISS }],
  ["another issuer", { certificateIdentity: SUB, certificateOidcIssuer: "https://gitlab.com" }],
];

type Entry = SigstoreBundle["verificationMaterial"]["tlogEntries"][0];
const entryOf = (b: SigstoreBundle) => b.verificationMaterial.tlogEntries[0] as Entry;
const flip = (b64: string, at = 0) => {
  const bytes = Buffer.from(b64, "base64");
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  return bytes.toString("base64");
};

/** One part of a bundle altered at a time: each must be refused by both verifiers (see the top comment). */
const ALTERATIONS: [string, (b: SigstoreBundle) => void][] = [
  ["payload", (b) => (b.dsseEnvelope.payload = flip(b.dsseEnvelope.payload, 20))],
  ["signature", (b) => (b.dsseEnvelope.signatures = [{ sig: flip(b.dsseEnvelope.signatures[0]?.sig ?? "") }])],
  [
    "SET",
    (b) => (entryOf(b).inclusionPromise.signedEntryTimestamp = flip(entryOf(b).inclusionPromise.signedEntryTimestamp)),
  ],
  ["logId", (b) => (entryOf(b).logId.keyId = Buffer.alloc(32, 7).toString("base64"))],
  ["integratedTime", (b) => (entryOf(b).integratedTime = String(Number(entryOf(b).integratedTime) + 1))],
  ["logIndex", (b) => (entryOf(b).logIndex = String(Number(entryOf(b).logIndex) + 1))],
  ["inclusion proof root", (b) => (entryOf(b).inclusionProof.rootHash = flip(entryOf(b).inclusionProof.rootHash))],
  [
    "checkpoint signature",
    (b) => {
      const cp = entryOf(b).inclusionProof.checkpoint;
      cp.envelope = cp.envelope.replace(
        /(\u2014 \S+ )(\S+)/,
        (_, head: string, sig: string) => `${head}${flip(sig, 10)}`,
      );
    },
  ],
  [
    "certificate",
    (b) => (b.verificationMaterial.certificate!.rawBytes = flip(b.verificationMaterial.certificate!.rawBytes, 200)),
  ],
];

const ROOT_ALTERED = "a signature with its inclusion proof root altered";

let sigstore: Sigstore;
const bundles: { name: string; digest: string; bundle: SigstoreBundle }[] = [];

beforeAll(async () => {
  sigstore = await startSigstore();
  const signer = await keylessSigner({
    oidcToken: TOKEN,
    fulcioUrl: sigstore.url,
    rekorUrl: sigstore.url,
    sleep: () => Promise.resolve(),
  });
  for (const digest of DIGESTS) {
    const signature = await signer.sign(IMAGE, digest, COSIGN_SIGN_PREDICATE_TYPE, {});
    bundles.push({ name: `a signature of ${digest.slice(0, 11)}…`, digest, bundle: signature.bundle });
  }
  const provenance = await signer.sign(IMAGE, DIGESTS[0] as string, SLSA_PROVENANCE_PREDICATE_TYPE, {
    buildDefinition: { buildType: "https://example.test/build/v1" },
  });
  bundles.push({ name: "a provenance attestation", digest: DIGESTS[0] as string, bundle: provenance.bundle });
  for (const [part, alter] of ALTERATIONS) {
    const first = bundles[0] as (typeof bundles)[0];
    const altered = JSON.parse(JSON.stringify(first.bundle)) as SigstoreBundle;
    alter(altered);
    bundles.push({ name: `a signature with its ${part} altered`, digest: first.digest, bundle: altered });
  }
});
afterAll(() => sigstore.close());

/** Sigstore's verdict: its verifier, no SCT (the mock's cannot be parsed: test/fixtures/sigstore.ts). */
function sigstoreAccepts(bundle: SigstoreBundle, policy: VerificationPolicy): boolean {
  try {
    const verifier = new Verifier(toTrustMaterial(sigstore.trustedRoot), { ctlogThreshold: 0 });
    verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: policy.certificateIdentity,
      extensions: { issuer: policy.certificateOidcIssuer },
    });
    return true;
  } catch {
    return false;
  }
}

function oursAccepts(bundle: SigstoreBundle, digest: string, policy: VerificationPolicy): boolean {
  try {
    verifyBundle(bundle, { digest }, policy, sigstore.trustedRootJson);
    return true;
  } catch (e) {
    if (!(e instanceof BundleVerificationError)) throw e;
    return false;
  }
}

describe("verifyBundle agrees with @sigstore/verify", () => {
  it("signed 3 bundles and altered 9: the table below is not empty", () => {
    expect(bundles).toHaveLength(3 + ALTERATIONS.length);
  });

  for (const [policyName, policy] of POLICIES) {
    it(`for ${policyName}, ours and Sigstore's verifier give one verdict on every bundle (but the altered root)`, () => {
      const verdicts = bundles.map(({ name, digest, bundle }) => ({
        name,
        sigstore: sigstoreAccepts(bundle, policy),
        ours: oursAccepts(bundle, digest, policy),
      }));
      const good = policy === POLICIES[0]?.[1];
      for (const v of verdicts) {
        // rekor pkg/verify/verify.go VerifyCheckpointSignature: "proof root hash does not match signed tree head".
        const sigstoreJsLaxer = good && v.name === ROOT_ALTERED;
        expect({ name: v.name, ours: v.ours }).toEqual({ name: v.name, ours: sigstoreJsLaxer ? false : v.sigstore });
        if (sigstoreJsLaxer) expect(v.sigstore).toBe(true);
      }
      // The good policy accepts the three signed bundles (and, Sigstore's, the altered root); the others nothing.
      expect(verdicts.filter((v) => v.ours).length).toBe(good ? 3 : 0);
    });
  }

  it("our verdict on a good bundle is for its own digest only", () => {
    const { bundle } = bundles[0] as (typeof bundles)[0];
    expect(oursAccepts(bundle, DIGESTS[1] as string, POLICIES[0]?.[1] as VerificationPolicy)).toBe(false);
  });
});
