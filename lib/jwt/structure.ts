/**
 * The shape check every token passes before any key lookup or crypto (RFC 7515 section 7.1,
 * compact serialisation): exactly three base64url parts, the first two non-empty, each canonical
 * (RFC 4648 section 3.5: the unused bits of a part's last character are zero, so one token has one
 * spelling and a signature's bytes cannot be re-spelled). An ECDSA signature itself can be re-made
 * by anyone as (r, n - s): the same claims under another token string, accepted here as by every
 * JOSE library (about half of all signers emit the high s). It is only ever a separate cache entry.
 *
 * Node's base64url decoder is lax in three ways, each closed here or by a length:
 * - it takes `+` and `/` for `-` and `_`, and a character above U+00FF by its low byte: one scan of
 *   the whole token for each (native, several times cheaper than a pattern over every character);
 * - it skips anything else outside the alphabet (`=`, spaces, control characters): the part then
 *   decodes to fewer bytes than its length promises, which the decoders check (`decodedLength`,
 *   here for a long signature, lib/jwt/decode.ts for the header and payload), so no pattern runs
 *   over the header and payload at all;
 * - it ignores set spare bits: `canonicalEnd` looks at each part's last character.
 * The signature part is checked the cheapest way for its length, as measured:
 * - a short one (an HMAC, ES256/384, EdDSA: at most 128 characters) by a character-class pattern
 *   and its last character, and not decoded: an HMAC is compared as base64url text;
 * - a long one (RSA: 342 characters and more, ES512) is decoded, since verifying needs its bytes,
 *   and its length checked.
 *
 * Returns `'malformed'`; `'unsigned'` for an empty signature part (`alg: none`); the long
 * signature's bytes (`signatureBytes`); or, for a short signature, the index of the dot before it.
 */
export function checkShape (token: string): 'malformed' | 'unsigned' | number | Buffer {
  // UTF-8 is longer than the string exactly when a character is not ASCII.
  if (Buffer.byteLength(token, 'utf8') !== token.length || token.includes('+') || token.includes('/')) return 'malformed'
  const firstDot = token.indexOf('.')
  const lastDot = token.indexOf('.', firstDot + 1)
  // Two dots with a non-empty part before each, and no third.
  if (firstDot < 1 || lastDot <= firstDot + 1 || token.includes('.', lastDot + 1)) return 'malformed'
  if (!canonicalEnd(token, 0, firstDot) || !canonicalEnd(token, firstDot + 1, lastDot)) return 'malformed'
  const length = token.length - lastDot - 1
  if (length === 0) return 'unsigned'
  if (!canonicalEnd(token, lastDot + 1, token.length)) return 'malformed'
  if (length <= SHORT_SIGNATURE) {
    SIGNATURE_PART.lastIndex = lastDot + 1
    return SIGNATURE_PART.test(token) ? lastDot : 'malformed'
  }
  return signatureBytes(token, lastDot) ?? 'malformed'
}

/**
 * The signature part after `lastDot` decoded, or `undefined` when a character was skipped (fewer
 * bytes than its length promises). Up to 1,024 bytes (RSA-8192) into one kept buffer rather than a
 * new one per token: the bytes are good until the next call, so a caller that lets other code run
 * first (a key resolver) copies them.
 */
export function signatureBytes (token: string, lastDot: number): Buffer | undefined {
  const bytes = decodedLength(token.length - lastDot - 1)
  if (bytes > SIGNATURE_BYTES) {
    const signature = Buffer.from(token.slice(lastDot + 1), 'base64url')
    return signature.length === bytes ? signature : undefined
  }
  if (signatureBuffer.write(token.slice(lastDot + 1), 'base64url') !== bytes) return undefined
  if (signatureView.length !== bytes) signatureView = signatureBuffer.subarray(0, bytes)
  return signatureView
}

const SIGNATURE_BYTES = 1024
const signatureBuffer = Buffer.alloc(SIGNATURE_BYTES)
/** The last view handed out: one issuer's signatures have one length, so it is rarely made anew. */
let signatureView = signatureBuffer.subarray(0, 0)

/**
 * The bytes a canonical base64url part of `characters` characters holds; -1 for 4n + 1 characters,
 * which no part has. A part with a character the decoder skipped decodes to fewer.
 */
export function decodedLength (characters: number): number {
  return (characters & 3) === 1 ? -1 : (characters * 3) >> 2
}

/** The rest of the token from `lastIndex`: base64url to the end (sticky: no slice is made to test it). */
const SIGNATURE_PART = /[A-Za-z0-9_-]+$/y
/** The longest signature part checked by the pattern rather than by decoding (ES384: 96 bytes). */
const SHORT_SIGNATURE = 128

/** Whether the part `token[start, end)` ends on a whole byte with zero spare bits. */
function canonicalEnd (token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = sextet(token.charCodeAt(end - 1))
  // 2 characters carry one byte (4 spare bits), 3 carry two bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

/** The 6-bit value of a base64url character; anything else counts as 63 (spare bits set: refused). */
function sextet (c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52
  return c === 0x2d ? 62 : 63
}
