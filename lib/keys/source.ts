/**
 * What a key source knows about itself, for an internal status route: fingerprints only, never
 * keys. Plain data (dates serialise to ISO strings), a fresh copy on each `state()` call.
 */
export interface KeySourceState {
  /** Where the keys come from: `'env APP_API_TOKEN'`, `'file /var/run/secrets/dapr/token'`. */
  readonly source: string
  /** Fingerprints of the keys loaded now, in their order in the source. */
  readonly fingerprints: readonly string[]
  /** Keys replaced by a change and still accepted until `until` (the grace window). */
  readonly grace: ReadonlyArray<{ readonly fingerprint: string, readonly until: Date }>
  /** When keys were last loaded successfully; `null` before the first good load. */
  readonly lastReload: Date | null
  /** The last failed load since the last good one (the keys served are then the last good ones); `null` when healthy. */
  readonly lastError: { readonly code: string, readonly message: string, readonly at: Date } | null
  /**
   * Whether the source is watching for changes: `false` for env sources, once closed, and while a
   * file source's directory is missing or cannot be watched (`lastError` says why).
   */
  readonly watching: boolean
}

/**
 * Where a source logs its changes and failures: a Fastify/pino logger fits. The plugin hands its
 * own logger to the source it is given (see {@link KeySourceLifecycle.open}).
 */
export interface KeySourceLogger {
  info (details: object, message: string): void
  error (details: object, message: string): void
}

/**
 * Optional lifecycle a `keyResolver` function may carry; the plugin drives it. `open` is called
 * once at registration with the plugin's logger (throwing there makes `register`/`ready()` fail,
 * which is how a source fails closed); `close` is called from the instance's `onClose` hook.
 */
export interface KeySourceLifecycle {
  open? (log: KeySourceLogger): void
  close? (): void
}

/**
 * A key source: a resolver that answers synchronously with the keys valid now, returning the same
 * frozen array until they change (so the prepared key set is reused and nothing is allocated per
 * request), plus its lifecycle and state.
 */
export interface KeySource<K = string> {
  (request?: unknown): readonly K[]
  /** Loads the keys if not done yet (throws a `FST_DAPR_TOKEN_*` error when there are none) and starts watching. */
  open (log?: KeySourceLogger): void
  /** Stops watching and clears every timer; the last keys keep being served to requests in flight. */
  close (): void
  state (): KeySourceState
  /** Changes whenever the served keys change (a reload, a grace expiry): what `jwt.key`'s `keysVersion` wants. */
  readonly keysVersion: number
}

/** Options every changing source shares. */
export interface KeySourceOptions<K> {
  /**
   * How long the keys replaced by a change stay valid, in ms. Default 300000 (5 minutes): enough
   * for a rollout to restart the sidecars that still send the old token. `0` drops them at once.
   */
  graceMs?: number
  /** Logger for changes and failures when used without the plugin (the plugin hands its own). */
  log?: KeySourceLogger
  /** Called after each change of the served keys (a reload, a grace expiry) with the new state. */
  onChange?: (state: KeySourceState) => void
  /**
   * The short name of a key for logs and state. Default: `fingerprint()` of a string or bytes key,
   * of its JSON for other values (a JWK object). Give one for keys JSON cannot show (`KeyObject`).
   */
  fingerprint?: (key: K) => string
}

/** The lifecycle hooks of a resolver, if it has any (duck-typed: a plain function has none). */
export function lifecycleOf (resolver: unknown): Required<KeySourceLifecycle> | null {
  if (typeof resolver !== 'function') return null
  const candidate = resolver as KeySourceLifecycle
  const open = typeof candidate.open === 'function' ? candidate.open.bind(resolver) : null
  const close = typeof candidate.close === 'function' ? candidate.close.bind(resolver) : null
  if (open === null && close === null) return null
  return { open: open ?? noop, close: close ?? noop }
}

function noop (): void {}
