/**
 * The shape check every token passes before any decoding or crypto (RFC 7515 section 7.1, compact
 * serialisation): exactly three non-empty base64url parts, each canonical (RFC 4648 section 3.5:
 * the unused bits of a part's last character are zero, so one token has one spelling and a
 * signature cannot be re-spelled). One anchored regular expression over the characters (compiled
 * to native code, several times faster than a loop of `charCodeAt`), then a look at each part's end.
 *
 * Returns `'malformed'`, `'unsigned'` (an empty signature part: `alg: none`) or `undefined` when
 * the shape is right.
 */
export function checkShape (token: string): 'malformed' | 'unsigned' | undefined {
  // The classes exclude the dot, so matching is linear: no backtracking whatever the input.
  if (!COMPACT.test(token)) return 'malformed'
  const firstDot = token.indexOf('.')
  // Forward from the first dot: the signature part (the longest) is not scanned again.
  const lastDot = token.indexOf('.', firstDot + 1)
  if (!canonicalEnd(token, 0, firstDot) || !canonicalEnd(token, firstDot + 1, lastDot)) return 'malformed'
  if (lastDot === token.length - 1) return 'unsigned'
  return canonicalEnd(token, lastDot + 1, token.length) ? undefined : 'malformed'
}

/** Two non-empty base64url parts and a third, possibly empty one, joined by dots. */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

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
