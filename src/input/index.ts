/**
 * Every argument parser, in one place for the module's request code. Each is pure: it returns the normalised
 * value or throws an InvalidInputError (`<--flag> "<value>": <why> (try "<fix>")`) before any engine call.
 */
export { ArgumentError, maskUrlCredentials } from "./argument.js";
export { parseCommit, parseShaLength } from "./commit.js";
export { requireContainers, requireOnePerPlatform } from "./containers.js";
export { parseGitRef, parseRef, type GitRefInfo } from "./gitref.js";
export { imageTitle, parseImageList, parseImageName, parseRegistryAddress, type ImageName } from "./image.js";
export { parseBuildArgs, parseLabels, parseSecretId, type KeyValue } from "./keyvalue.js";
export { parseAnnotations, type Annotation, type AnnotationLevel } from "./annotations.js";
export { parsePushTimeout, parseRetries } from "./limits.js";
export {
  checkBuildPaths,
  contextNotAFolder,
  contextNotFound,
  dockerfileIsFolder,
  dockerfileNotFound,
  parseBuildPath,
  parseContextPath,
  parseDockerfilePath,
  pathIsSymlinkOutside,
  type PathFacts,
} from "./path.js";
export { canonicalPlatform, parsePlatform, parsePlatforms } from "./platform.js";
export { credentialHostProblem, parseUsername } from "./address.js";
export { parseCreated } from "./timestamp.js";
export { parseSourceUrl } from "./url.js";
export { parseTag, parseTags } from "./usertags.js";
