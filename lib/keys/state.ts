import { DaprTokenOptionsError } from '../errors.js'
import { fingerprint as fingerprintOf } from '../fingerprint.js'
import { GracefulKeys, type NamedKey } from './grace.js'
import type { KeySource, KeySourceLogger, KeySourceOptions, KeySourceState } from './source.js'

/** Default grace: a rollout restarting the pods whose sidecars still send the old token. */
export const DEFAULT_GRACE_MS = 300_000

// setTimeout fires at once for larger delays.
const MAX_TIMER_MS = 2 ** 31 - 1

/** A timer option: a whole number of ms from 0 to ~24 days. */
export function checkMs (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new DaprTokenOptionsError(`\`${name}\` must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}`)
  }
  return value
}

/** The default short name of a key: its `fingerprint()`, or that of its JSON (a JWK) for other values. */
export function defaultFingerprint (key: unknown): string {
  if (typeof key === 'string' || key instanceof Uint8Array) return fingerprintOf(key)
  return fingerprintOf(JSON.stringify(key) ?? '')
}

/**
 * What every source shares: the served keys with their grace, the state a status route shows, and
 * the log lines of changes and failures (fingerprints and causes, never keys).
 */
export class KeySourceRecord<K> {
  readonly keys: GracefulKeys<K>
  lastReload: Date | null = null
  lastError: { code: string, message: string, at: Date } | null = null
  watching = false
  private lastAdded = new Set<string>()
  private log: KeySourceLogger | undefined
  private readonly graceMs: number
  private readonly name: (key: K) => string
  private readonly onChange: ((state: KeySourceState) => void) | undefined

  constructor (readonly source: string, options: KeySourceOptions<K>) {
    this.graceMs = checkMs('graceMs', options.graceMs, DEFAULT_GRACE_MS)
    if (options.fingerprint !== undefined && typeof options.fingerprint !== 'function') {
      throw new DaprTokenOptionsError('`fingerprint` must be a function (key) => string')
    }
    if (options.onChange !== undefined && typeof options.onChange !== 'function') {
      throw new DaprTokenOptionsError('`onChange` must be a function (state) => void')
    }
    this.name = options.fingerprint ?? defaultFingerprint
    this.log = options.log
    this.onChange = options.onChange
    this.keys = new GracefulKeys<K>(this.graceMs, expired => {
      this.log?.info({ daprTokenKeys: { source, expired } }, 'Dapr API token keys left their grace and are no longer accepted')
      this.changed()
    })
  }

  /** Uses `log` unless the source was given its own logger. */
  useLogger (log: KeySourceLogger | undefined): void {
    if (this.log !== undefined || log === undefined) return
    this.log = log
    // Keys loaded before there was a logger are announced once now.
    if (this.lastReload !== null) this.announce('Dapr API token keys loaded', this.keys.fingerprints(), [])
  }

  /**
   * Serves `keys` from now on (an empty list is a failure, never served). `fragment`: the keys the
   * last change added were a half-written file, replaced at once: they get no grace.
   */
  loaded (keys: readonly K[], fragment = false): void {
    const named: Array<NamedKey<K>> = keys.map(key => ({ key, fingerprint: this.name(key) }))
    const first = this.lastReload === null
    const recovered = this.lastError !== null && !first
    this.lastReload = new Date()
    this.lastError = null
    const current = this.keys.fingerprints()
    if (!first && sameList(current, named.map(entry => entry.fingerprint))) {
      if (recovered) this.announce('Dapr API token key source recovered, keys unchanged', [], [])
      return
    }
    const { added, removed } = this.keys.replace(named, fragment ? this.lastAdded : undefined)
    this.lastAdded = new Set(added)
    this.announce(first ? 'Dapr API token keys loaded' : 'Dapr API token keys changed', added, removed)
    this.changed()
  }

  private announce (message: string, added: readonly string[], removed: readonly string[]): void {
    this.log?.info({
      daprTokenKeys: { source: this.source, fingerprints: this.keys.fingerprints(), added, removed, graceMs: removed.length > 0 ? this.graceMs : 0 }
    }, message)
  }

  /** Records a failed load; the keys served stay the last good ones. */
  failed (error: Error & { code: string }): void {
    this.lastError = { code: error.code, message: error.message, at: new Date() }
    this.log?.error({ err: error, daprTokenKeys: { source: this.source, fingerprints: this.keys.fingerprints() } },
      this.lastReload === null ? 'Dapr API token key source failed' : 'Dapr API token key source failed: serving the last good keys')
  }

  state (): KeySourceState {
    return {
      source: this.source,
      fingerprints: this.keys.fingerprints(),
      grace: this.keys.grace(),
      lastReload: this.lastReload,
      lastError: this.lastError,
      watching: this.watching
    }
  }

  private changed (): void {
    if (this.onChange === undefined) return
    try {
      this.onChange(this.state())
    } catch (error) {
      // It may run from a timer: a throwing callback must not crash the process.
      this.log?.error({ err: error, daprTokenKeys: { source: this.source } }, 'Dapr API token key source onChange callback threw')
    }
  }
}

/** Adds the live `keysVersion` getter (Object.assign would copy its value once). */
export function withKeysVersion<K, T extends Omit<KeySource<K>, 'keysVersion'>> (source: T, record: KeySourceRecord<K>): T & KeySource<K> {
  return Object.defineProperty(source, 'keysVersion', { get: () => record.keys.version, enumerable: true }) as T & KeySource<K>
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index])
}
