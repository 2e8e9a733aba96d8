/** Just enough DER to read one X.509 v3 extension's value by OID (RFC 5280 4.1; X.690 8.1 TLV encoding). */

interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset after the last content byte. */
  end: number;
}

/** One tag-length-value at `offset`, or undefined when the bytes are not DER (single-byte tags only, as X.509 uses). */
function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv | undefined {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined || (tag & 0x1f) === 0x1f) return undefined;
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[start + i];
      if (lengthByte === undefined) return undefined;
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : undefined;
}

/** The TLVs directly inside a constructed value. */
function children(der: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end);
    if (!child) return undefined;
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** The content bytes of an OBJECT IDENTIFIER in dotted form (X.690 8.19: 40*a+b, then base-128 arcs). */
export function encodeOid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const arc of [40 * a + b, ...rest]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return Buffer.from(bytes);
}

const SEQUENCE = 0x30;
const EXTENSIONS = 0xa3; // tbsCertificate's [3] EXPLICIT Extensions
const OID = 0x06;
const OCTET_STRING = 0x04;
export const UTF8_STRING = 0x0c;

/**
 * The extnValue bytes (inside the OCTET STRING) of the certificate's extension `oid`; undefined when absent.
 * Throws when the certificate is not DER this can walk.
 */
export function certificateExtension(certificateDer: Uint8Array, oid: string): Buffer | undefined {
  const der = Buffer.from(certificateDer);
  const certificate = readTlv(der, 0);
  const tbs = certificate?.tag === SEQUENCE ? readTlv(der, certificate.start, certificate.end) : undefined;
  const fields = tbs?.tag === SEQUENCE ? children(der, tbs) : undefined;
  if (!fields) throw new Error("the certificate is not DER");
  const wrapper = fields.find((f) => f.tag === EXTENSIONS);
  if (!wrapper) return undefined;
  const list = readTlv(der, wrapper.start, wrapper.end);
  const extensions = list?.tag === SEQUENCE ? children(der, list) : undefined;
  if (!extensions) throw new Error("the certificate's extensions are not DER");
  const wanted = encodeOid(oid);
  for (const extension of extensions) {
    const [id, ...rest] = children(der, extension) ?? [];
    if (id?.tag !== OID || !der.subarray(id.start, id.end).equals(wanted)) continue;
    const value = rest.find((r) => r.tag === OCTET_STRING);
    if (!value) throw new Error(`the certificate's extension ${oid} has no value`);
    return der.subarray(value.start, value.end);
  }
  return undefined;
}

/** The text of a DER value that must be exactly one UTF8String; undefined when it is not one. */
export function derUtf8String(value: Uint8Array): string | undefined {
  const tlv = readTlv(value, 0);
  if (tlv?.tag !== UTF8_STRING || tlv.end !== value.length) return undefined;
  return Buffer.from(value.subarray(tlv.start, tlv.end)).toString("utf8");
}
