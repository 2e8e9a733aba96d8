// Rung 3 (engine double): OCI layouts written by hand (one image, or an index of several platforms), for skopeo to
// push into a test registry.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";

export interface LayoutImage {
  manifest: Buffer;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  layerSize: number;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A ustar archive holding one regular file (512-byte header, content padded, two zero blocks). */
function tarOf(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  const body = Buffer.from(content);
  header.write(name, 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

/**
 * Writes an OCI layout at `dir` whose index names one linux/`architecture` image `tag`, with a file holding
 * `content` and, when given, `labels` in its config (as a build's LABEL or Dagger's withLabel put them).
 */
export async function writeLayout(
  dir: string,
  tag: string,
  content: string,
  architecture = "amd64",
  labels?: Record<string, string>,
): Promise<LayoutImage> {
  const blobs = path.join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer) => (await writeFile(path.join(blobs, sha256(b).slice(7)), b), sha256(b));
  const tar = tarOf("hello.txt", content);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: "linux",
      config: labels ? { Labels: labels } : {},
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await put(config), size: config.length },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await put(layer), size: layer.length },
      ],
    }),
  );
  await put(manifest);
  await writeLayoutEntry(dir, tag, "application/vnd.oci.image.manifest.v1+json", manifest);
  return {
    manifest,
    manifestDigest: sha256(manifest),
    configDigest: sha256(config),
    layerDigest: sha256(layer),
    layerSize: layer.length,
  };
}

export interface LayoutIndex {
  index: Buffer;
  indexDigest: string;
  /** Each platform's image, in the index's order. */
  images: (LayoutImage & { platform: string })[];
}

/**
 * Writes an OCI layout at `dir` whose index.json names, as `tag`, an OCI index of one image per linux
 * `architectures` entry (each with its own layer and config), carrying an annotation as the index a merge writes.
 */
export async function writeIndexLayout(dir: string, tag: string, architectures: string[]): Promise<LayoutIndex> {
  const blobs = path.join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer) => (await writeFile(path.join(blobs, sha256(b).slice(7)), b), sha256(b));
  const images: LayoutIndex["images"] = [];
  for (const architecture of architectures) {
    const tar = tarOf("arch.txt", `built for ${architecture}\n`);
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({ architecture, os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256(tar)] } }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: await put(config),
          size: config.length,
        },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: await put(layer), size: layer.length },
        ],
      }),
    );
    await put(manifest);
    images.push({
      platform: `linux/${architecture}`,
      manifest,
      manifestDigest: sha256(manifest),
      configDigest: sha256(config),
      layerDigest: sha256(layer),
      layerSize: layer.length,
    });
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: images.map((i) => ({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: i.manifestDigest,
        size: i.manifest.length,
        platform: { os: "linux", architecture: i.platform.split("/")[1] },
      })),
      annotations: { "org.opencontainers.image.description": "dockyard promote test" },
    }),
  );
  await put(index);
  await writeLayoutEntry(dir, tag, "application/vnd.oci.image.index.v1+json", index);
  return { index, indexDigest: sha256(index), images };
}

/** The layout's marker and its index.json, naming one manifest or index under `tag`. */
async function writeLayoutEntry(dir: string, tag: string, mediaType: string, body: Buffer): Promise<void> {
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const entry = {
    mediaType,
    digest: sha256(body),
    size: body.length,
    annotations: { "org.opencontainers.image.ref.name": tag },
  };
  await writeFile(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}
