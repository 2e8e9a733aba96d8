/** One registry credential; `S` is the secret's type (a Dagger Secret in the module, a string in tests). */
export interface Credential<S> {
  /** Registry host as `registryHost` normalises it. */
  host: string;
  username: string;
  password: S;
}

/**
 * The credential for a host: the last `with-registry-auth` for that host wins over `--username/--password`,
 * which apply to every host. Undefined means an anonymous push.
 */
export function pickCredential<S>(
  host: string,
  registered: readonly Credential<S>[],
  shared: { username: string; password: S } | undefined,
): Credential<S> | undefined {
  for (let i = registered.length - 1; i >= 0; i--) {
    const own = registered[i];
    if (own?.host === host) return own;
  }
  return shared ? { host, ...shared } : undefined;
}
