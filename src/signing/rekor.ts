/** Rekor v1 `POST /api/v1/log/entries` with a `dsse` 0.0.1 entry; the logged entry is checked to be the one sent. */
import { createHash } from "node:crypto";

import { callService, serviceBase, signingError, type ServiceOptions } from "./service.js";
import type { DsseEnvelope } from "./dsse.js";

export const DEFAULT_REKOR_URL = "https://rekor.sigstore.dev";
const FLAG = "--rekor-url";
export const DSSE_KIND = { kind: "dsse", version: "0.0.1" } as const;

export interface RekorEntry {
  uuid: string;
  logIndex: number;
  /** Seconds since the epoch. */
  integratedTime: number;
  /** Hex sha256 of the log's public key. */
  logID: string;
  /** base64 signature of the log over the entry (the bundle's inclusion promise). */
  signedEntryTimestamp: string;
  inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
  /** base64 of the entry as Rekor canonicalized and logged it. */
  canonicalizedBody: string;
  kind: typeof DSSE_KIND.kind;
  version: typeof DSSE_KIND.version;
}

/** Rekor's `{ "<uuid>": LogEntry }` answer, checked field by field, or the text of what is missing. */
function parseEntry(json: unknown): RekorEntry | string {
  if (typeof json !== "object" || json === null) return "its answer is not a log entry";
  const [uuid, raw] = Object.entries(json)[0] ?? [];
  const e = raw as Record<string, unknown> | undefined;
  const verification = e?.verification as Record<string, unknown> | undefined;
  const proof = verification?.inclusionProof as Record<string, unknown> | undefined;
  if (!uuid || !e) return "its answer is not a log entry";
  if (typeof e.body !== "string") return "its entry has no body";
  if (typeof e.logIndex !== "number" || typeof e.integratedTime !== "number" || typeof e.logID !== "string")
    return "its entry has no logIndex, integratedTime or logID";
  if (typeof verification?.signedEntryTimestamp !== "string") return "its entry has no signedEntryTimestamp";
  if (
    !proof ||
    typeof proof.logIndex !== "number" ||
    typeof proof.rootHash !== "string" ||
    typeof proof.treeSize !== "number" ||
    typeof proof.checkpoint !== "string" ||
    !Array.isArray(proof.hashes) ||
    !proof.hashes.every((h) => typeof h === "string")
  )
    return "its entry has no inclusion proof (a bundle v0.3 needs one)";
  return {
    uuid,
    logIndex: e.logIndex,
    integratedTime: e.integratedTime,
    logID: e.logID,
    signedEntryTimestamp: verification.signedEntryTimestamp,
    inclusionProof: {
      logIndex: proof.logIndex,
      rootHash: proof.rootHash,
      treeSize: proof.treeSize,
      hashes: proof.hashes as string[],
      checkpoint: proof.checkpoint,
    },
    canonicalizedBody: e.body,
    ...DSSE_KIND,
  };
}

/** Undefined when the logged body is a dsse 0.0.1 entry of this envelope's payload and signature, else why not. */
function bodyProblem(body: string, envelope: DsseEnvelope): string | undefined {
  let logged: { kind?: unknown; apiVersion?: unknown; spec?: Record<string, unknown> };
  try {
    logged = JSON.parse(Buffer.from(body, "base64").toString("utf8")) as typeof logged;
  } catch {
    return "its entry's body is not JSON";
  }
  const payloadHash = createHash("sha256").update(Buffer.from(envelope.payload, "base64")).digest("hex");
  const hash = logged.spec?.payloadHash as { value?: unknown } | undefined;
  const signatures = logged.spec?.signatures as { signature?: unknown }[] | undefined;
  if (logged.kind !== DSSE_KIND.kind || logged.apiVersion !== DSSE_KIND.version)
    return `it logged a ${String(logged.kind)} ${String(logged.apiVersion)} entry, not dsse 0.0.1`;
  if (hash?.value !== payloadHash || signatures?.[0]?.signature !== envelope.signatures[0]?.sig)
    return "it logged another payload hash or signature than the ones sent";
  return undefined;
}

/**
 * Logs `envelope` (signed by the key in `verifierPem`: a leaf certificate, or a --signing-key's public key) and returns the entry. A 409 means an earlier attempt
 * was logged: that entry is read back from its Location instead.
 */
export async function createDsseEntry(
  rekorUrl: string,
  envelope: DsseEnvelope,
  verifierPem: string,
  oidcToken: string,
  options: ServiceOptions = {},
): Promise<RekorEntry> {
  const base = serviceBase(rekorUrl, FLAG);
  const url = `${base}/api/v1/log/entries`;
  const what = `log the signature (POST ${url})`;
  let answer = await callService(
    "Rekor",
    what,
    FLAG,
    oidcToken,
    {
      method: "POST",
      url,
      ok: [201, 409],
      body: {
        apiVersion: DSSE_KIND.version,
        kind: DSSE_KIND.kind,
        spec: {
          proposedContent: {
            envelope: JSON.stringify(envelope),
            verifiers: [Buffer.from(verifierPem, "utf8").toString("base64")],
          },
        },
      },
    },
    options,
  );
  if (answer.status === 409) {
    const location = answer.headers.get("location");
    const existing = location ? new URL(location, base) : undefined;
    if (!existing || existing.origin !== new URL(base).origin)
      throw signingError("Rekor", what, FLAG, oidcToken, 409, "the entry exists, but Rekor gave no Location on it");
    answer = await callService(
      "Rekor",
      `read the logged entry back (GET ${existing.toString()})`,
      FLAG,
      oidcToken,
      { method: "GET", url: existing.toString(), ok: [200] },
      options,
    );
  }
  const entry = parseEntry(answer.json);
  if (typeof entry === "string") throw signingError("Rekor", what, FLAG, oidcToken, answer.status, entry);
  const problem = bodyProblem(entry.canonicalizedBody, envelope);
  if (problem) throw signingError("Rekor", what, FLAG, oidcToken, answer.status, problem);
  return entry;
}
