/** DSSE v1: the pre-authentication encoding (PAE) and a one-signature envelope over a payload. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface DsseEnvelope {
  /** base64 (standard, padded) of the payload bytes. */
  payload: string;
  payloadType: string;
  signatures: { sig: string; keyid?: string }[];
}

/** `DSSEv1 SP len(type) SP type SP len(body) SP body`, lengths in bytes as ASCII decimal (DSSE protocol v1). */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

/** The envelope of `payload` signed over its PAE by `sign` (DER signature). */
export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  sign: (data: Uint8Array) => Uint8Array,
): DsseEnvelope {
  const sig = Buffer.from(sign(preAuthEncoding(payloadType, payload))).toString("base64");
  return { payload: Buffer.from(payload).toString("base64"), payloadType, signatures: [{ sig }] };
}
