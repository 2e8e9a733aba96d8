// Rung 3 (engine double): skopeo (Debian) as the independent seeder and reader of the loopback test registries.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function skopeo(...args: string[]): Promise<Buffer> {
  const { stdout } = await run("skopeo", args, { encoding: "buffer", maxBuffer: 1 << 24 });
  return stdout;
}

/** Copies `tag` of the OCI layout at `dir` to `ref` (host/repo:tag) over plain http: every platform, digests kept. */
export const pushLayout = (dir: string, tag: string, ref: string, creds: string) =>
  skopeo(
    "copy",
    "--all",
    "--preserve-digests",
    "--dest-tls-verify=false",
    "--dest-creds",
    creds,
    `oci:${dir}:${tag}`,
    `docker://${ref}`,
  );

/** The bytes skopeo reads for `ref` (host/repo:tag or host/repo@digest), as `user:password`. */
export const rawRead = (ref: string, creds: string) =>
  skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, `docker://${ref}`);

/** The digest of the bytes skopeo reads for `ref`. */
export const digestRead = async (ref: string, creds: string) =>
  `sha256:${createHash("sha256")
    .update(await rawRead(ref, creds))
    .digest("hex")}`;
