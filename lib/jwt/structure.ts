/**
 * The shape check every token passes before any decoding of its JSON, any key lookup or any
 * crypto (RFC 7515 section 7.1, compact serialisation): exactly three base64url parts, the first
 * two non-empty, each canonical (RFC 4648 section 3.5: the unused bits of a part's last character
 * are zero, so one token has one spelling and a signature's bytes cannot be re-spelled). An ECDSA
 * signature itself can be re-made by anyone as (r, n - s): the same claims under another token
 * string, accepted here as by every JOSE library (about half of all signers emit the high s).
 * It is only ever a separate cache entry.
 *
 * The header and payload parts are matched by one anchored regular expression (compiled to native
 * code, several times faster than a loop of `charCodeAt`; its classes exclude the dot, so it is
 * linear and stops at the second dot), then their last characters looked at. The signature part is
 * checked the cheapest way for its length, as measured:
 * - a short one (an HMAC, ES256/384, EdDSA: at most 128 characters) by the same character class
 *   and its last character, and not decoded: an HMAC is compared as base64url text;
 * - a long one (RSA: 342 characters and more, ES512) is decoded, since verifying needs its bytes,
 *   and re-encoded: it is canonical exactly when that gives the part back, which also refuses any
 *   character outside the alphabet (a lax decoder skips them), padding and a fourth dot.
 *
 * Returns `'malformed'`; `'unsigned'` for an empty signature part (`alg: none`); the long
 * signature's bytes; or, for a short signature, the index of the dot before it.
 */
export function checkShape (token: string): 'malformed' | 'unsigned' | number | Buffer {
  if (!SIGNED_PARTS.test(token)) return 'malformed'
  const firstDot = token.indexOf('.')
  const lastDot = token.indexOf('.', firstDot + 1)
  if (!canonicalEnd(token, 0, firstDot) || !canonicalEnd(token, firstDot + 1, lastDot)) return 'malformed'
  const length = token.length - lastDot - 1
  if (length === 0) return 'unsigned'
  if (length <= SHORT_SIGNATURE) {
    SIGNATURE_PART.lastIndex = lastDot + 1
    return SIGNATURE_PART.test(token) && canonicalEnd(token, lastDot + 1, token.length) ? lastDot : 'malformed'
  }
  const part = token.slice(lastDot + 1)
  const signature = Buffer.from(part, 'base64url')
  return signature.toString('base64url') === part ? signature : 'malformed'
}

/** The header and payload parts: two non-empty base64url parts, each followed by a dot. */
const SIGNED_PARTS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./
/** The rest of the token from `lastIndex`: base64url to the end (sticky: no slice is made to test it). */
const SIGNATURE_PART = /[A-Za-z0-9_-]+$/y
/** The longest signature part checked by the pattern rather than by decoding (ES384: 96 bytes). */
const SHORT_SIGNATURE = 128

/** Whether the part `token[start, end)` ends on a whole byte with zero padding bits. */
function canonicalEnd (token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = sextet(token.charCodeAt(end - 1))
  // 2 characters carry one byte (4 spare bits), 3 carry two bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

/** The 6-bit value of a base64url character (the pattern above admitted only those). */
function sextet (c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52
  return c === 0x2d ? 62 : 63
}
