import type { DecodedJwt, JwtKey, JwtTokenCredential } from './types.js'

/** A cached success. */
export interface CacheEntry {
  /** The whole token: the map is keyed by its tail only. */
  readonly token: string
  readonly credential: JwtTokenCredential
  /** Milliseconds since the epoch after which the entry is not used: the token's `exp` at the latest. */
  readonly until: number
  /** The key resolver's `keysVersion` when the token verified. */
  readonly version: number | undefined
  /** Resolver mode: the key the resolver gave (checked again on every hit) and the decoded token it was given. */
  readonly key: JwtKey | undefined
  readonly decoded: DecodedJwt | undefined
  /** Used since the last eviction pass passed it (second chance). */
  recent: boolean
}

/**
 * How much of a token's end keys the map. The header value is a new string on every request, and
 * V8 hashes a map key over its whole length (about 250 ns for a 200-character JWT on a slow host):
 * the tail is hashed instead, and the entry's whole token compared. The tail is signature (every
 * token in the cache passed the shape check), 96 bits of it, so two cached tokens sharing one is
 * not to be expected; if they did, the later one would take the slot, and the other be verified again.
 * The whole-token `!==` is not constant-time, but only a token ending in a cached token's 96 bits
 * of signature reaches it.
 */
const KEY_CHARS = 16

/**
 * Successful verifications only. Refusals are never stored, so a flood of bad tokens cannot fill it,
 * and only a correctly signed token can take a slot. Bounded, evicting by "second chance" (CLOCK):
 * a hit only marks its entry, where moving it to the recent end of the map (LRU) cost a delete and
 * an insert per request; when full, the oldest unmarked entry goes, and marked ones passed on the
 * way are unmarked and kept.
 */
export class VerifiedCache {
  readonly #max: number
  readonly #entries = new Map<string, CacheEntry>()

  constructor (max: number) {
    this.#max = max
  }

  get size (): number {
    return this.#entries.size
  }

  /** The success cached for `token`, if still within its lifetime and made under the current keys. */
  get (token: string, now: number, version: number | undefined): CacheEntry | undefined {
    const key = token.slice(-KEY_CHARS)
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.token !== token) return undefined
    if (now >= entry.until || entry.version !== version) {
      this.#entries.delete(key)
      return undefined
    }
    entry.recent = true
    return entry
  }

  set (token: string, credential: JwtTokenCredential, until: number, version: number | undefined, key?: JwtKey, decoded?: DecodedJwt): void {
    const entries = this.#entries
    const slot = token.slice(-KEY_CHARS)
    // Room is made first: evicting after the insert would pass over every marked entry to the new one.
    if (!entries.delete(slot) && entries.size >= this.#max) this.#evictOne()
    entries.set(slot, { token, credential, until, version, key, decoded, recent: false })
  }

  clear (): void {
    this.#entries.clear()
  }

  /**
   * Map order is insertion order: the first entry is the oldest. A marked one is unmarked and moved
   * behind the rest, so within one pass over the map an unmarked one comes first and goes.
   */
  #evictOne (): void {
    const entries = this.#entries
    for (;;) {
      const [slot, entry] = entries.entries().next().value as [string, CacheEntry]
      entries.delete(slot)
      if (!entry.recent) return
      entry.recent = false
      entries.set(slot, entry)
    }
  }
}
