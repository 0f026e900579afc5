import { mayBeJoined } from './extract.js'
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
 * An immutable set of shared tokens, prepared once so that a request costs one pass over the
 * presented token per key length: no allocation, no native call, no hashing.
 */
export interface KeySet {
  readonly size: number
  readonly credentials: readonly StaticTokenCredential[]
  /** Per key: could two header lines joined by Node (`a, b`, or `a,` from `a` and an empty line) spell it? Then a match needs a second look. */
  readonly joinable: readonly boolean[]
  /** @internal Each key's UTF-8 bytes as a latin1 string: the form Node gives a header value off the wire. */
  readonly wire: readonly string[]
  /** @internal The keys as the comparison loop reads them: up to four keys of one length per group. */
  readonly groups: readonly KeyGroup[]
}

/** Keys in one comparison pass. */
interface KeyGroup {
  readonly length: number
  /** Compared in place of a presented token of another length, so the pass costs the same. */
  readonly stand: string
  /** Byte `i` of slot `j` at `4 * i + j` (one read of the presented character serves every key); a lone key's bytes as they are. */
  readonly grid: Uint8Array
  /** Each slot's position in `wire`, -1 for an empty slot. */
  readonly slots: Int32Array
}

/** Keys compared per pass: four accumulators in locals, measured no slower than one. */
const GROUP = 4

function groupKeys (wire: readonly string[]): KeyGroup[] {
  const groups: KeyGroup[] = []
  const byLength = new Map<number, number[]>()
  wire.forEach((key, position) => {
    const list = byLength.get(key.length) ?? []
    list.push(position)
    byLength.set(key.length, list)
  })
  for (const [length, positions] of byLength) {
    for (let start = 0; start < positions.length; start += GROUP) {
      const members = positions.slice(start, start + GROUP)
      const stride = members.length === 1 ? 1 : GROUP
      const slots = new Int32Array(GROUP).fill(-1)
      const grid = new Uint8Array(length * stride)
      members.forEach((position, slot) => {
        slots[slot] = position
        const key = wire[position] as string
        for (let i = 0; i < length; i++) grid[stride * i + slot] = key.charCodeAt(i)
      })
      groups.push({ length, stand: wire[positions[start] as number] as string, grid, slots })
    }
  }
  return groups
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
  const joinable: boolean[] = []
  const credentials: StaticTokenCredential[] = []
  tokens.forEach((raw, index) => {
    const token = typeof raw === 'string' ? raw.trim() : ''
    if (token === '') return
    // Header values reach Node as latin1 strings of the raw bytes, so keys are compared as their
    // UTF-8 bytes: a non-ASCII token matches exactly what a client that sends it as UTF-8 puts on the wire.
    const bytes = Buffer.from(token, 'utf8')
    wire.push(bytes.toString('latin1'))
    joinable.push(mayBeJoined(token))
    credentials.push(Object.freeze({ kind: 'static' as const, index, fingerprint: fingerprint(bytes) }))
  })
  return Object.freeze({ size: wire.length, wire, groups: groupKeys(wire), joinable, credentials })
}

/**
 * Index of the key that equals `presented`, or -1. Constant-time in the sense that matters: every
 * key is compared over its whole length whatever matched (no early exit, differences OR-ed
 * together), and a presented token of another length is replaced by a key of the group's length
 * for the pass, so the time spent depends on the keys' lengths only, never on the presented token's
 * length or on how much of a key it gets right. Keys of one length are compared side by side, four
 * to a pass: on this path the loop's own overhead costs more than the comparisons in it.
 *
 * A JavaScript loop rather than `crypto.timingSafeEqual`: the native call needs Buffers, and making
 * one from the header (an allocation, or a latin1 write into a scratch buffer) cost several times
 * the comparison itself (bench/RESULTS.md). Comparing UTF-16 code units also refuses, by itself, a
 * string that never came off a socket (inject, HTTP/2 shims) with units above 0xff, which a latin1
 * write would have truncated into a key's bytes.
 */
export function matchToken (presented: string, set: KeySet): number {
  const groups = set.groups
  // One key (the usual case): no pass over groups and no picking among positions.
  if (groups.length === 1 && (groups[0] as KeyGroup).slots[1] === -1) {
    const only = groups[0] as KeyGroup
    return oneKeyDiff(presented, only) === 0 ? only.slots[0] as number : -1
  }
  let found = -1
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g] as KeyGroup
    const { length, stand, grid, slots } = group
    // The lowest matching position wins (a key listed twice reports its first place), decided
    // without branching on which keys matched before.
    if (slots[1] === -1) {
      found = pick(found, oneKeyDiff(presented, group), slots[0] as number)
      continue
    }
    const sameLength = presented.length === length
    const probe = sameLength ? presented : stand
    let d0 = sameLength ? 0 : 1
    let d1 = d0
    let d2 = d0
    let d3 = d0
    // A unit above 0xff (a string that never came off a socket) leaves bits no key byte can cancel.
    for (let i = 0, at = 0; i < length; i++, at += GROUP) {
      const c = probe.charCodeAt(i)
      d0 |= c ^ (grid[at] as number)
      d1 |= c ^ (grid[at + 1] as number)
      d2 |= c ^ (grid[at + 2] as number)
      d3 |= c ^ (grid[at + 3] as number)
    }
    found = pick(found, d0, slots[0] as number)
    found = pick(found, d1, slots[1] as number)
    found = pick(found, d2, slots[2] as number)
    found = pick(found, d3, slots[3] as number)
  }
  return found
}

/**
 * The differences between `presented` and a group's only key, OR-ed: 0 when they are equal. A
 * plain loop, measured faster than four lanes for one key. Reads the key's whole length whatever
 * is presented (another length is compared as the group's stand-in).
 */
function oneKeyDiff (presented: string, { length, stand, grid }: KeyGroup): number {
  const sameLength = presented.length === length
  const probe = sameLength ? presented : stand
  let diff = sameLength ? 0 : 1
  for (let i = 0; i < length; i++) diff |= probe.charCodeAt(i) ^ (grid[i] as number)
  return diff
}

function pick (found: number, diff: number, position: number): number {
  return diff === 0 && position !== -1 && (found === -1 || position < found) ? position : found
}
