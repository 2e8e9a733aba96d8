/**
 * dockyard's own OCI distribution client (plain `fetch` and `node:crypto`, no dependency, no Dagger SDK): what a
 * caller imports. It runs in the module's container; see README.md in this folder for what it does not do.
 */
export type { Credentials } from "./auth.js";
export { copyBlob, getBlob, headBlob, mountBlob, type CopyOptions } from "./blobs.js";
export { digestOf } from "./digest.js";
export { RegistryError } from "../errors/index.js";
export { RegistrySession, type SessionOptions } from "./http.js";
export { isLoopbackHost } from "./reference.js";
export { getManifest, headManifest, MEDIA_TYPES, putManifest, type Manifest, type ManifestHead } from "./manifests.js";
export { listReferrers, referrersTag, type Descriptor, type Referrers } from "./referrers.js";
export { listTags } from "./tags.js";
