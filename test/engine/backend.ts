// Rung 3 (engine double): the contract between the GraphQL engine double and what really builds and pushes.

/** A build as `Directory.dockerBuild` asks for it, with paths, the Dockerfile and secret plaintexts resolved by the double. */
export interface BuildRequest {
  /** Absolute host path of the build context: already filtered by the ignore file, as Dagger filters it. */
  contextDir: string;
  /** Dockerfile path relative to the directory dockerBuild was called on (for messages). */
  dockerfile: string;
  /** The Dockerfile's text as Dagger read it (through the snapshot's root); the backend builds from this text. */
  dockerfileText: string;
  /** The ignore file contextDir was filtered with (".dockerignore" or "<dockerfile>.dockerignore"), if any. */
  ignoreFile?: string;
  /** e.g. "linux/amd64"; undefined means the host's platform. */
  platform?: string;
  buildArgs: { name: string; value: string }[];
  target?: string;
  /** Mounted at /run/secrets/<name>. Plaintexts never leave the double and the backend. */
  secrets: { name: string; plaintext: string }[];
}

export interface BuiltImage {
  /** Backend handle of the built image (docker: the image ID "sha256:..."). */
  image: string;
  /** "os/arch" of the built image. */
  platform: string;
}

export interface PushVariant {
  image: string;
  platform: string;
  /** Labels added with Container.withLabel, merged into the image config at push time. */
  labels: Record<string, string>;
  /** Annotations added with Container.withAnnotation: on the platform manifest and on its descriptor in the index. */
  annotations?: Record<string, string>;
}

/** A withExec run as the double models it: one image, read-only file mounts, its entrypoint or not. */
export interface ExecRequest {
  /** Backend handle of the image the process runs in (Container.from's image, or a build). */
  image: string;
  args: string[];
  /** Prepend the image's entrypoint (withExec(useEntrypoint: true)); false runs args[0] as the program. */
  useEntrypoint: boolean;
  /** Host files mounted read-only at their container paths (withMountedFile). */
  mounts: { path: string; hostPath: string }[];
}

/** What a finished process left: Container.exitCode, stdout and stderr. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RegistryCredential {
  username: string;
  password: string;
}

export interface PushRequest {
  /** Full reference with tag, e.g. "127.0.0.1:5055/acme/app:1a2b3c4". */
  address: string;
  /** One variant: a single image manifest. Several: an OCI image index over all of them. */
  variants: PushVariant[];
  /** The credential the session holds for the address's host, else the CLI host's docker config's, if any. */
  auth?: RegistryCredential;
}

export interface Backend {
  readonly name: "docker" | "memory";
  /** The engine's platform: what a build or a container without a platform gets (Query.platform in Dagger). */
  readonly defaultPlatform: string;
  /**
   * The docker config of the host running the CLI, by registry host: Dagger falls back to it for a host the
   * session has no withRegistryAuth credential for. Empty by default (anonymous).
   */
  readonly hostDockerConfig: Readonly<Record<string, RegistryCredential>>;
  /**
   * The module container's network: registry host -> loopback "127.0.0.1:<port>" serving it. The module's own
   * registry client reaches these hosts (and loopback) only; any other name fails as an unknown host.
   */
  moduleNetwork(): Promise<Readonly<Record<string, string>>>;
  build(req: BuildRequest): Promise<BuiltImage>;
  /** Returns the pushed manifest (or index) digest "sha256:...". Errors carry containerd's texts. */
  push(req: PushRequest): Promise<string>;
  /** Container.from: an image already on the backend (the double never pulls), its handle and platform. */
  image(address: string): Promise<BuiltImage>;
  /** Container.asTarball of one variant: the host path of an OCI layout tar with a docker manifest.json. */
  tarball(variant: PushVariant): Promise<string>;
  /** Container.withExec, run when exitCode, stdout or stderr is asked. */
  exec(req: ExecRequest): Promise<ExecResult>;
  close(): Promise<void>;
}

/**
 * A manifest's or descriptor's `annotations`, in Go's field order (after size, before platform) and left out
 * when empty (`omitempty`): Dagger writes a container's on its manifest and its index descriptor, none on the
 * index (engine/engineutil/containerimage.go:38-44, 62-63; imageexport/writer.go:150-152, 258-260, 286-291).
 */
export function annotationsField(annotations: Record<string, string> = {}): { annotations?: Record<string, string> } {
  return Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {};
}
