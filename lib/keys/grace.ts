/** A key with the short name logs and state show instead of it. */
export interface NamedKey<K> {
  readonly key: K
  readonly fingerprint: string
}

interface Retiring<K> {
  readonly keys: readonly NamedKey<K>[]
  readonly until: Date
  readonly timer: NodeJS.Timeout
}

/**
 * The keys a changing source serves: the current ones first, then the ones a change replaced, each
 * until its grace ends. `served` is a frozen array whose identity changes exactly when its content
 * does, so the plugin rebuilds its prepared key set only then.
 */
export class GracefulKeys<K> {
  served: readonly K[] = Object.freeze([])
  /** Bumped whenever `served` changes, for caches keyed on the keys (the JWT verification cache). */
  version = 0
  private current: readonly NamedKey<K>[] = []
  private retiring: Array<Retiring<K>> = []

  constructor (
    private readonly graceMs: number,
    private readonly onExpire: (expired: readonly string[]) => void
  ) {}

  /**
   * Makes `next` current; the keys it drops stay served for `graceMs`, except those in `noGrace`.
   * Returns the fingerprints added and removed.
   */
  replace (next: readonly NamedKey<K>[], noGrace?: ReadonlySet<string>): { added: string[], removed: string[] } {
    const before = new Set(this.current.map(named => named.fingerprint))
    const after = new Set(next.map(named => named.fingerprint))
    const removed = this.current.filter(named => !after.has(named.fingerprint))
    const added = next.filter(named => !before.has(named.fingerprint))
    this.current = next
    const kept = noGrace === undefined ? removed : removed.filter(named => !noGrace.has(named.fingerprint))
    if (kept.length > 0 && this.graceMs > 0) {
      const retiring: Retiring<K> = {
        keys: kept,
        until: new Date(Date.now() + this.graceMs),
        // Unref'd: a grace window never keeps the process alive on its own.
        timer: setTimeout(() => this.expire(retiring), this.graceMs).unref()
      }
      this.retiring.push(retiring)
    }
    this.rebuild()
    return { added: added.map(named => named.fingerprint), removed: removed.map(named => named.fingerprint) }
  }

  /** Keys in grace now (not current again), each with the end of its grace. */
  grace (): Array<{ fingerprint: string, until: Date }> {
    const seen = new Set(this.current.map(named => named.fingerprint))
    const out: Array<{ fingerprint: string, until: Date }> = []
    for (const { keys, until } of this.retiring) {
      for (const named of keys) {
        if (seen.has(named.fingerprint)) continue
        seen.add(named.fingerprint)
        out.push({ fingerprint: named.fingerprint, until })
      }
    }
    return out
  }

  fingerprints (): string[] {
    return this.current.map(named => named.fingerprint)
  }

  /** Clears every timer and ends every grace now: a closed source keeps only its current keys. */
  close (): void {
    if (this.retiring.length === 0) return
    for (const { timer } of this.retiring) clearTimeout(timer)
    this.retiring = []
    this.rebuild()
  }

  private expire (retiring: Retiring<K>): void {
    const before = new Set(this.grace().map(entry => entry.fingerprint))
    this.retiring = this.retiring.filter(entry => entry !== retiring)
    this.rebuild()
    const still = new Set(this.grace().map(entry => entry.fingerprint))
    this.onExpire([...before].filter(fp => !still.has(fp)))
  }

  private rebuild (): void {
    const seen = new Set<string>()
    const served: K[] = []
    for (const named of this.current) {
      if (seen.has(named.fingerprint)) continue
      seen.add(named.fingerprint)
      served.push(named.key)
    }
    for (const { keys } of this.retiring) {
      for (const named of keys) {
        if (seen.has(named.fingerprint)) continue
        seen.add(named.fingerprint)
        served.push(named.key)
      }
    }
    this.served = Object.freeze(served)
    this.version++
  }
}
