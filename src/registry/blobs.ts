/**
 * Blobs: HEAD, a cross-repository mount on one registry (`POST /blobs/uploads/?mount=&from=`: 201 mounted, 202
 * means the registry started an upload instead), and a streamed copy between registries (GET, hashed as it
 * passes, into a monolithic PUT or PATCH chunks then a closing PUT). The target checks the digest as well.
 */
import { checkDigest, checkRepository } from "./reference.js";
import { digestOf, digestProblem, mismatch, verifyingStream } from "./digest.js";
import { registryError } from "./errors.js";
import { RegistrySession } from "./http.js";

/** The blob's size, or undefined when the repository has no such blob. */
export async function headBlob(s: RegistrySession, repository: string, digest: string): Promise<number | undefined> {
  checkRepository(repository);
  checkDigest(digest);
  return s.send(
    {
      method: "HEAD",
      repository,
      path: `blobs/${digest}`,
      scope: RegistrySession.scope(repository, false),
      ok: [200, 404],
    },
    (res) => Promise.resolve(res.status === 404 ? undefined : Number(res.headers.get("content-length") ?? "0")),
    `HEAD blob ${repository}@${digest}`,
  );
}

/** A small blob's bytes (an image config), refused above `maxBytes` and checked against `digest`. */
export async function getBlob(
  s: RegistrySession,
  repository: string,
  digest: string,
  maxBytes = 4 << 20,
): Promise<Uint8Array> {
  checkRepository(repository);
  checkDigest(digest);
  return s.send(
    { method: "GET", repository, path: `blobs/${digest}`, scope: RegistrySession.scope(repository, false), ok: [200] },
    async (res) => {
      const size = Number(res.headers.get("content-length") ?? "0");
      if (size > maxBytes) throw new Error(`blob ${repository}@${digest} is ${size} bytes, over ${maxBytes}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const problem = digestProblem(bytes, digest, `blob ${repository}@${digest}`);
      if (problem) throw new Error(problem);
      return bytes;
    },
    `GET blob ${repository}@${digest}`,
  );
}

/** Mounts `digest` from `from` into `repository`: true when mounted, else the Location of the upload begun instead. */
export async function mountBlob(
  s: RegistrySession,
  repository: string,
  digest: string,
  from: string,
): Promise<true | string> {
  checkRepository(repository);
  checkRepository(from);
  checkDigest(digest);
  const query = new URLSearchParams({ mount: digest, from }).toString();
  const scope = `${RegistrySession.scope(repository, true)} ${RegistrySession.scope(from, false)}`;
  return s.send(
    {
      method: "POST",
      repository,
      path: `blobs/uploads/?${query}`,
      scope,
      headers: { "Content-Length": "0" },
      ok: [201, 202],
    },
    async (res) => {
      await res.arrayBuffer();
      return res.status === 201 ? true : uploadLocation(res);
    },
    `mount blob ${digest} from ${from} into ${repository}`,
  );
}

function uploadLocation(res: Response): string {
  const location = res.headers.get("location");
  if (!location) throw new Error(`the registry began an upload but sent no Location header`);
  return location;
}

/**
 * Ends an upload begun at `location`: the closing PUT with `?digest=`, carrying `body` (a monolithic upload) or
 * nothing (after PATCH chunks); the registry's `Docker-Content-Digest`, when it sends one, must be `digest`.
 */
async function closeUpload(
  s: RegistrySession,
  repository: string,
  location: string,
  digest: string,
  body: Uint8Array | ReadableStream<Uint8Array> | undefined,
  what: string,
): Promise<void> {
  const put = new URL(location, `${s.baseUrl}/`);
  put.searchParams.set("digest", digest);
  await s.send(
    {
      method: "PUT",
      repository,
      path: put.toString(),
      scope: RegistrySession.scope(repository, true),
      headers: { "Content-Type": "application/octet-stream" },
      ...(body !== undefined ? { body } : {}),
      ok: [201],
    },
    async (res) => {
      await res.arrayBuffer();
      const stored = res.headers.get("docker-content-digest");
      if (stored && stored.startsWith("sha256:") && stored !== digest)
        throw new Error(mismatch(`the blob ${repository}@${digest} as stored`, digest, stored));
    },
    what,
  );
}

/**
 * Uploads `bytes` as one blob of `repository` (HEAD first: nothing sent when it is there), by a POST that begins
 * the upload and one monolithic PUT to its Location (this registry only) with `?digest=`; the registry's
 * `Docker-Content-Digest`, when it sends one, must be the digest of `bytes`.
 */
export async function pushBlob(
  s: RegistrySession,
  repository: string,
  bytes: Uint8Array,
): Promise<{ digest: string; size: number }> {
  checkRepository(repository);
  const digest = digestOf(bytes);
  const size = bytes.length;
  if ((await headBlob(s, repository, digest)) !== undefined) return { digest, size };
  const scope = RegistrySession.scope(repository, true);
  const what = `push blob ${digest} to ${repository}`;
  const location = await s.send(
    { method: "POST", repository, path: "blobs/uploads/", scope, headers: { "Content-Length": "0" }, ok: [202] },
    async (res) => (await res.arrayBuffer(), uploadLocation(res)),
    what,
  );
  await closeUpload(s, repository, location, digest, bytes, what);
  return { digest, size };
}

export interface CopyOptions {
  /** Upload in PATCH chunks of this many bytes (registries that cap a request's size); default: one PUT. */
  chunkBytes?: number;
}

/**
 * Copies a blob into `target`'s `targetRepository`: nothing when it is there already, a mount when both
 * repositories are on one registry session, else a streamed upload. Returns what was done.
 */
export async function copyBlob(
  source: RegistrySession,
  sourceRepository: string,
  target: RegistrySession,
  targetRepository: string,
  digest: string,
  options: CopyOptions = {},
): Promise<"present" | "mounted" | "uploaded"> {
  checkRepository(sourceRepository);
  checkRepository(targetRepository);
  checkDigest(digest);
  if (options.chunkBytes !== undefined && !(Number.isInteger(options.chunkBytes) && options.chunkBytes > 0))
    throw new RangeError(`chunkBytes ${options.chunkBytes}: give a whole number of bytes above 0`);
  if ((await headBlob(target, targetRepository, digest)) !== undefined) return "present";
  const scope = RegistrySession.scope(targetRepository, true);
  const what = `copy blob ${digest} to ${targetRepository}`;
  let location: string;
  if (source === target && sourceRepository !== targetRepository) {
    const mounted = await mountBlob(target, targetRepository, digest, sourceRepository);
    if (mounted === true) return "mounted";
    location = mounted;
  } else {
    location = await target.send(
      {
        method: "POST",
        repository: targetRepository,
        path: "blobs/uploads/",
        scope,
        headers: { "Content-Length": "0" },
        ok: [202],
      },
      async (res) => (await res.arrayBuffer(), uploadLocation(res)),
      what,
    );
  }
  const body = await source.send(
    {
      method: "GET",
      repository: sourceRepository,
      path: `blobs/${digest}`,
      scope: RegistrySession.scope(sourceRepository, false),
      ok: [200],
    },
    (res) => Promise.resolve(res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })),
    `GET blob ${sourceRepository}@${digest}`,
  );
  const verified = body.pipeThrough(verifyingStream(digest, `blob ${sourceRepository}@${digest}`));
  if (options.chunkBytes) {
    for await (const chunk of guarded(rechunk(verified, options.chunkBytes), what, target, targetRepository)) {
      location = await target.send(
        {
          method: "PATCH",
          repository: targetRepository,
          path: location,
          scope,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Range": `${chunk.start}-${chunk.start + chunk.bytes.length - 1}`,
          },
          body: chunk.bytes,
          ok: [202],
        },
        async (res) => (await res.arrayBuffer(), uploadLocation(res)),
        what,
      );
    }
  }
  await closeUpload(target, targetRepository, location, digest, options.chunkBytes ? undefined : verified, what);
  return "uploaded";
}

/** The chunks, a failure while reading them (a digest mismatch) reported as every other registry failure. */
async function* guarded<T>(chunks: AsyncGenerator<T>, what: string, target: RegistrySession, repository: string) {
  try {
    yield* chunks;
  } catch (e) {
    throw registryError(what, target.host, repository, e);
  }
}

/** The stream's bytes regrouped into chunks of `size` (the last one shorter), with their offsets. */
async function* rechunk(stream: ReadableStream<Uint8Array>, size: number) {
  let pending = new Uint8Array(0);
  let start = 0;
  for await (const piece of stream) {
    const joined = new Uint8Array(pending.length + piece.length);
    joined.set(pending);
    joined.set(piece, pending.length);
    pending = joined;
    while (pending.length >= size) {
      yield { start, bytes: pending.slice(0, size) };
      start += size;
      pending = pending.slice(size);
    }
  }
  if (pending.length) yield { start, bytes: pending };
}
