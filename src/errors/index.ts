export { InvalidInputError } from "./InvalidInputError.js";
export { GitSourceError } from "./GitSourceError.js";
export { PublishError } from "./PublishError.js";
export { TagCollisionError } from "./TagCollisionError.js";
export { RegistryError } from "./RegistryError.js";
export { VerifyError } from "./VerifyError.js";
export { SigningError } from "./SigningError.js";
export { BundleVerificationError, type BundleCheck } from "./BundleVerificationError.js";
export { SbomScanError } from "./SbomScanError.js";
