import type { JwtHeader } from './types.js'

/** Header segments remembered with their decoded header: one issuer sends the same header part every time. */
const HEADERS_REMEMBERED = 16
/** Longer header segments are decoded every time, so the memo holds at most 16 small strings. */
const HEADER_MEMO_MAX_LENGTH = 512

/**
 * The JSON object a base64url segment holds (RFC 7515 section 7.1, RFC 7519 section 7.2 step 10),
 * or `undefined` when it is not one: not JSON, or JSON that is not an object (an array, `null`,
 * a number). The caller has checked the segment's alphabet (lib/jwt/structure.ts).
 *
 * An object with a `__proto__` key anywhere is refused too: `JSON.parse` makes it an own property,
 * harmless in itself, but a handler merging the claims with `Object.assign` or a deep-merge helper
 * would take it as the prototype. Duplicate keys keep the last value, as `JSON.parse` does.
 */
export function decodeObject (segment: string): Record<string, unknown> | undefined {
  const text = Buffer.from(segment, 'base64url').toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  // The key can only be spelled out or escaped (`\u005f`): the walk is for those rare texts only.
  if ((text.includes('__proto__') || text.includes('\\u')) && hasProtoKey(value)) return undefined
  return value as Record<string, unknown>
}

/** Whether any object in a parsed JSON value has an own `__proto__` key. Iterative: depth cannot overflow the stack. */
function hasProtoKey (root: object): boolean {
  const pending: object[] = [root]
  while (pending.length > 0) {
    const next = pending.pop() as object
    if (Object.hasOwn(next, '__proto__')) return true
    for (const inner of Object.values(next)) {
      if (inner !== null && typeof inner === 'object') pending.push(inner as object)
    }
  }
  return false
}

/**
 * Decodes header segments, remembering the last few small ones. The decoded header is deeply
 * frozen: it is shared by every token with that header part, and shown to key resolvers.
 * Bounded: a stream of distinct headers only empties the memo, it never grows past 16 entries.
 */
export class HeaderDecoder {
  readonly #known = new Map<string, JwtHeader>()

  /** The header a segment holds, or `undefined` when it is not a JSON object. */
  decode (segment: string): JwtHeader | undefined {
    const known = this.#known.get(segment)
    if (known !== undefined) return known
    const header = decodeObject(segment)
    if (header === undefined) return undefined
    deepFreeze(header)
    if (segment.length <= HEADER_MEMO_MAX_LENGTH) {
      if (this.#known.size >= HEADERS_REMEMBERED) this.#known.clear()
      this.#known.set(segment, header)
    }
    return header
  }
}

/**
 * Freezes a value and everything in it. Claims are shared by every request presenting the token
 * (the cache), and the decoded token is shown to key resolvers: no one may change them.
 * Iterative, so claims nested however deep cannot overflow the stack.
 */
export function deepFreeze<T> (value: T): T {
  // Claims are mostly flat: the list of nested objects is made only when there is one.
  let pending: object[] | undefined
  let next: unknown = value
  for (;;) {
    if (next !== null && typeof next === 'object' && !Object.isFrozen(next)) {
      Object.freeze(next)
      const inner = Object.values(next)
      for (let i = 0; i < inner.length; i++) {
        const item = inner[i]
        if (item !== null && typeof item === 'object') (pending ??= []).push(item as object)
      }
    }
    if (pending === undefined || pending.length === 0) return value
    next = pending.pop()
  }
}
