import type { DecodedJwt, JwtKey, JwtTokenCredential } from './types.js'

/** A cached success. */
export interface CacheEntry {
  readonly credential: JwtTokenCredential
  /** Milliseconds since the epoch after which the entry is not used: the token's `exp` at the latest. */
  readonly until: number
  /** The key resolver's `keysVersion` when the token verified. */
  readonly version: number | undefined
  /** Resolver mode: the key the resolver gave (checked again on every hit) and the decoded token it was given. */
  readonly key: JwtKey | undefined
  readonly decoded: DecodedJwt | undefined
}

/**
 * Successful verifications only, keyed by the token string itself: a Map lookup is collision-free
 * and costs no hashing beyond V8's own string hash, unlike a per-hit SHA-256 of the token (fast-jwt's own cache).
 * Refusals are never stored, so a flood of bad tokens cannot fill it, and only a correctly signed
 * token can take a slot. Bounded: the least recently used entry goes first.
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
    const entries = this.#entries
    const entry = entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.until || entry.version !== version) {
      entries.delete(token)
      return undefined
    }
    // Move to the most recent end: Map iteration order is insertion order.
    entries.delete(token)
    entries.set(token, entry)
    return entry
  }

  set (token: string, credential: JwtTokenCredential, until: number, version: number | undefined, key?: JwtKey, decoded?: DecodedJwt): void {
    const entries = this.#entries
    entries.delete(token)
    entries.set(token, { credential, until, version, key, decoded })
    if (entries.size > this.#max) {
      // The first key is the least recently used one.
      entries.delete(entries.keys().next().value as string)
    }
  }

  clear (): void {
    this.#entries.clear()
  }
}
