import { isUtf8 } from 'node:buffer'
import { decodedLength } from './structure.js'
import type { JwtHeader } from './types.js'

/** Header segments remembered with their decoded header: one issuer sends the same header part every time. */
const HEADERS_REMEMBERED = 16
/** Longer header segments are decoded every time, so the memo holds at most 16 small strings. */
const HEADER_MEMO_MAX_LENGTH = 512

/**
 * The JSON object a base64url segment holds (RFC 7515 section 7.1, RFC 7519 section 7.2 step 10),
 * deeply frozen, or `undefined` when it is not one: not JSON, or JSON that is not an object (an
 * array, `null`, a number), or whose characters are not all base64url. The caller has checked the
 * token's shape (lib/jwt/structure.ts): no `+`, `/` or non-ASCII character, a canonical last character.
 *
 * Frozen because a decoded header is shared by every token with that header part, the decoded
 * token is shown to key resolvers, and verified claims are shared through the cache: no one may
 * change them. An object with a `__proto__` key anywhere is refused: `JSON.parse` makes it an own
 * property, harmless in itself, but a handler merging the claims with `Object.assign` or a
 * deep-merge helper would take it as the prototype. Duplicate keys keep the last value, as
 * `JSON.parse` does.
 */
export function decodeObject (segment: string): Record<string, unknown> | undefined {
  const text = utf8Of(segment)
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  if (isFlat(text)) return Object.freeze(value) as Record<string, unknown>
  return freezeParsed(value) ? value as Record<string, unknown> : undefined
}

/**
 * Whether the JSON text of an object can hold no nested object or array and no `__proto__` key:
 * no `{` past the first character, no `[`, no escape (`"\u005f_proto__"` is a `__proto__` key) and
 * no `__proto__`. A string value with one of these in it only sends the object the longer way.
 * Native scans of a short string, cheaper than walking the parsed object.
 */
function isFlat (text: string): boolean {
  return text.indexOf('{', 1) === -1 && !text.includes('[') && !text.includes('\\') && !text.includes('__proto__')
}

/** Segments that decode to at most this many bytes are decoded into one buffer kept for it. */
const SCRATCH_BYTES = 4096
const scratch = Buffer.alloc(SCRATCH_BYTES)

/**
 * The text a base64url segment holds, or `undefined` when its bytes are not UTF-8 (RFC 7519
 * section 7.2, RFC 8259 section 8.1): decoding them would turn each bad byte into U+FFFD, so two
 * different signed byte strings would read as the same claims. Decoded into a kept buffer rather
 * than a new one per segment (decoding is synchronous: no other call can see it half written);
 * only the string is new.
 */
function utf8Of (segment: string): string | undefined {
  const length = decodedLength(segment.length)
  const bytes = length > SCRATCH_BYTES ? Buffer.from(segment, 'base64url') : scratch
  // Fewer bytes: the decoder skipped a character outside the alphabet (a space, `=`, a control character).
  if ((bytes === scratch ? scratch.write(segment, 'base64url') : bytes.length) !== length) return undefined
  // Claims are nearly always ASCII, which latin1 decodes as UTF-8 would, only faster; a string whose
  // UTF-8 is longer than the bytes it came from had a byte above 0x7f and is decoded again as UTF-8.
  const ascii = bytes.toString('latin1', 0, length)
  if (Buffer.byteLength(ascii, 'utf8') === length) return ascii
  const text = bytes.toString('utf8', 0, length)
  // U+FFFD is rare in claims: only then are the bytes looked at again, to tell one sent from one made.
  return text.includes('\ufffd') && !isUtf8(bytes.subarray(0, length)) ? undefined : text
}

/**
 * Freezes a value fresh from `JSON.parse` and everything in it, in one walk that also looks for
 * `__proto__` keys (false at the first one). Iterative, so claims nested however deep cannot
 * overflow the stack; the list of nested objects is made only when there is one.
 */
function freezeParsed (root: object): boolean {
  let pending: object[] | undefined
  let next = root
  for (;;) {
    if (Object.hasOwn(next, '__proto__')) return false
    Object.freeze(next)
    // for-in walks V8's enum cache with no array made per object, unlike Object.values.
    for (const key in next) {
      const item = (next as Record<string, unknown>)[key]
      if (item !== null && typeof item === 'object' && Object.hasOwn(next, key)) (pending ??= []).push(item)
    }
    if (pending === undefined || pending.length === 0) return true
    next = pending.pop() as object
  }
}

/**
 * Decodes header segments, remembering the last few small ones. The decoded header is deeply
 * frozen: it is shared by every token with that header part, and shown to key resolvers.
 * Bounded: a stream of distinct headers only empties the memo, it never grows past 16 entries.
 */
export class HeaderDecoder {
  readonly #known = new Map<string, JwtHeader>()
  /** The last header part seen and its header: one string comparison, no hashing, for the usual case. */
  #lastSegment = ''
  #lastHeader: JwtHeader | undefined

  /** The header a segment holds, or `undefined` when it is not a JSON object. */
  decode (segment: string): JwtHeader | undefined {
    if (segment === this.#lastSegment) return this.#lastHeader
    let header = this.#known.get(segment)
    if (header === undefined) {
      header = decodeObject(segment)
      if (header === undefined || segment.length > HEADER_MEMO_MAX_LENGTH) return header
      if (this.#known.size >= HEADERS_REMEMBERED) this.#known.clear()
      this.#known.set(segment, header)
    }
    this.#lastSegment = segment
    this.#lastHeader = header
    return header
  }
}
