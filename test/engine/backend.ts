// Rung 3 (engine double): the contract between the GraphQL engine double and what really builds and pushes.

/** A build as `Directory.dockerBuild` asks for it, with host paths and secret plaintexts resolved by the double. */
export interface BuildRequest {
  /** Absolute host path of the build context (the Directory's folder). */
  contextDir: string;
  /** Dockerfile path relative to contextDir. */
  dockerfile: string;
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
}

export interface PushRequest {
  /** Full reference with tag, e.g. "127.0.0.1:5055/acme/app:1a2b3c4". */
  address: string;
  /** One variant: a single image manifest. Several: an OCI image index over all of them. */
  variants: PushVariant[];
  /** Credentials registered with withRegistryAuth for the address's host, if any. */
  auth?: { username: string; password: string };
}

export interface Backend {
  readonly name: "docker" | "memory";
  build(req: BuildRequest): Promise<BuiltImage>;
  /** Returns the pushed manifest (or index) digest "sha256:...". Errors carry BuildKit-like messages. */
  push(req: PushRequest): Promise<string>;
  close(): Promise<void>;
}
