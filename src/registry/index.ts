/**
 * dockyard's own OCI distribution client (plain `fetch` and `node:crypto`, no dependency, no Dagger SDK): what a
 * caller imports. It runs in the module's container; see README.md in this folder for what it does not do.
 */
export type { Credentials } from "./auth.js";
export { copyBlob, getBlob, headBlob, mountBlob, pushBlob, type CopyOptions } from "./blobs.js";
export { digestOf } from "./digest.js";
export { RegistryError } from "../errors/index.js";
export { RegistrySession, type SessionOptions } from "./http.js";
export { isLoopbackHost } from "./reference.js";
export {
  getManifest,
  headManifest,
  MEDIA_TYPES,
  putManifest,
  putManifestWithHeaders,
  type Manifest,
  type ManifestHead,
  type PutManifestAnswer,
} from "./manifests.js";
export {
  attachReferrer,
  EMPTY_CONFIG,
  listReferrers,
  mergeReferrersIndex,
  referrerManifest,
  referrersTag,
  type AttachedReferrer,
  type Descriptor,
  type ReferrerArtifact,
  type Referrers,
} from "./referrers.js";
export { listTags } from "./tags.js";
