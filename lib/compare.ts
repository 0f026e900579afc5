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
 * An immutable set of shared tokens, prepared once so that a request costs one pass over each key's
 * characters: no allocation, no native call, no hashing.
 */
export interface KeySet {
  readonly size: number
  readonly credentials: readonly StaticTokenCredential[]
  /** Per key: could two header lines joined by Node (`a, b`) spell it? Then a match needs a second look. */
  readonly joinable: readonly boolean[]
  /** @internal Each key's UTF-8 bytes as a latin1 string: the form Node gives a header value off the wire. */
  readonly wire: readonly string[]
  /** @internal The same bytes, read by the comparison loop (one string read per character instead of two). */
  readonly bytes: readonly Uint8Array[]
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

/**
 * Prepares a list of tokens as configured. Each is trimmed and blank ones are skipped, but a
 * credential's `index` stays the token's position in the list given, so `['', old]` (a new token
 * not yet set) still reports the old one as index 1.
 */
export function buildKeySet (tokens: readonly string[]): KeySet {
  const wire: string[] = []
  const keyBytes: Uint8Array[] = []
  const joinable: boolean[] = []
  const credentials: StaticTokenCredential[] = []
  tokens.forEach((raw, index) => {
    const token = typeof raw === 'string' ? raw.trim() : ''
    if (token === '') return
    // Header values reach Node as latin1 strings of the raw bytes, so keys are compared as their
    // UTF-8 bytes: a non-ASCII token matches exactly what a client that sends it as UTF-8 puts on the wire.
    const bytes = Buffer.from(token, 'utf8')
    wire.push(bytes.toString('latin1'))
    keyBytes.push(Uint8Array.from(bytes))
    joinable.push(token.includes(', '))
    credentials.push(Object.freeze({ kind: 'static' as const, index, fingerprint: fingerprint(bytes) }))
  })
  return Object.freeze({ size: wire.length, wire, bytes: keyBytes, joinable, credentials })
}

/**
 * Index of the key that equals `presented`, or -1. Constant-time in the sense that matters: every
 * key is compared over its whole length whatever matched (no early exit, differences OR-ed
 * together), and a presented token of another length is replaced by the key itself for the pass, so
 * the time spent depends on the keys' lengths only, never on the presented token's length or on how
 * much of a key it gets right.
 *
 * A JavaScript loop rather than `crypto.timingSafeEqual`: the native call needs Buffers, and making
 * one from the header (an allocation, or a latin1 write into a scratch buffer) cost several times
 * the comparison itself (bench/RESULTS.md). Comparing UTF-16 code units also refuses, by itself, a
 * string that never came off a socket (inject, HTTP/2 shims) with units above 0xff, which a latin1
 * write would have truncated into a key's bytes.
 */
export function matchToken (presented: string, set: KeySet): number {
  const { wire, bytes } = set
  let found = -1
  for (let k = 0; k < bytes.length; k++) {
    const key = bytes[k] as Uint8Array
    const n = key.length
    const sameLength = presented.length === n
    const probe = sameLength ? presented : wire[k] as string
    let diff = sameLength ? 0 : 1
    // A unit above 0xff (a string that never came off a socket) leaves bits no key byte can cancel.
    for (let i = 0; i < n; i++) diff |= probe.charCodeAt(i) ^ (key[i] as number)
    // Keeps the first match without branching on which keys matched before.
    found = diff === 0 && found === -1 ? k : found
  }
  return found
}
