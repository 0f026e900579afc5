import { timingSafeEqual } from 'node:crypto'
import { fingerprint } from './fingerprint.js'

/** What `request.daprToken` holds after a shared token matched: which key, never the key. */
export interface StaticTokenCredential {
  readonly kind: 'static'
  /** Position of the matching key in the configured list (rotation: 0 is usually the newest). */
  readonly index: number
  /** First 12 hex digits of the key's SHA-256, as in the logs. */
  readonly fingerprint: string
}

/**
 * An immutable set of shared tokens, prepared once so that a request costs one latin1 write into a
 * scratch buffer and one `timingSafeEqual` per key: no allocation, no hashing.
 */
export interface KeySet {
  readonly size: number
  readonly credentials: readonly StaticTokenCredential[]
  /** Per key: could two header lines joined by Node (`a, b`) spell it? Then a match needs a second look. */
  readonly joinable: readonly boolean[]
  /** @internal */ readonly keys: readonly Buffer[]
  /** @internal */ readonly views: readonly Buffer[]
  /** @internal */ readonly scratch: Buffer
}

/** Trims each token (a header value never carries surrounding whitespace) and drops empty ones. */
export function normaliseTokens (tokens: string | readonly string[]): string[] {
  const list = typeof tokens === 'string' ? [tokens] : tokens
  const out: string[] = []
  for (const token of list) {
    if (typeof token !== 'string') continue
    const trimmed = token.trim()
    if (trimmed !== '') out.push(trimmed)
  }
  return out
}

export function buildKeySet (tokens: readonly string[]): KeySet {
  // Header values reach Node as latin1 strings of the raw bytes, so keys are compared as their
  // UTF-8 bytes: a non-ASCII token matches exactly what a client that sends it as UTF-8 puts on the wire.
  const keys = tokens.map(token => Buffer.from(token, 'utf8'))
  const longest = keys.reduce((max, key) => Math.max(max, key.length), 0)
  const scratch = Buffer.alloc(longest)
  return Object.freeze({
    size: keys.length,
    keys,
    views: keys.map(key => scratch.subarray(0, key.length)),
    scratch,
    joinable: tokens.map(token => token.includes(', ')),
    credentials: keys.map((key, index) => Object.freeze({ kind: 'static' as const, index, fingerprint: fingerprint(key) }))
  })
}

/**
 * Index of the key that equals `presented`, or -1. Constant-time in the sense that matters: every
 * key is compared in full whatever matched, no early exit, and the time spent depends on the keys'
 * lengths only, never on how much of a key the presented token gets right or on its own length
 * beyond the longest key (a length mismatch is folded in after the byte comparison).
 */
export function matchToken (presented: string, set: KeySet): number {
  const { keys, views, scratch } = set
  scratch.fill(0)
  scratch.write(presented, 0, 'latin1')
  let found = -1
  for (let i = 0; i < keys.length; i++) {
    const same = timingSafeEqual(views[i] as Buffer, keys[i] as Buffer)
    if (same && presented.length === (keys[i] as Buffer).length && found === -1) found = i
  }
  // A latin1 write keeps only the low byte of each UTF-16 unit, so a string that never came off a
  // socket (inject, HTTP/2 shims) could alias a key; a real header value is all code units < 256.
  if (found !== -1 && !isByteString(presented)) return -1
  return found
}

function isByteString (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) return false
  }
  return true
}
