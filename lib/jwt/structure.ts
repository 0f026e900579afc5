/**
 * The shape check every token passes before any decoding or crypto (RFC 7515 section 7.1, compact
 * serialisation): exactly three non-empty base64url parts, each canonical (RFC 4648 section 3.5:
 * the unused bits of a part's last character are zero, so one token has one spelling and a
 * signature cannot be re-spelled). One pass over the characters, no allocation.
 *
 * Returns `'malformed'`, `'unsigned'` (an empty signature part: `alg: none`) or `undefined` when
 * the shape is right.
 */
export function checkShape (token: string): 'malformed' | 'unsigned' | undefined {
  const length = token.length
  let dots = 0
  let partStart = 0
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 0x2e : token.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (i === partStart) {
        if (i === length && dots === 2) return 'unsigned'
        return 'malformed'
      }
      if (!canonicalEnd(token, partStart, i)) return 'malformed'
      if (i < length) dots++
      partStart = i + 1
    } else if (sextet(c) < 0) {
      return 'malformed'
    }
  }
  return dots === 2 ? undefined : 'malformed'
}

/** Whether the part `token[start, end)` ends on a whole byte with zero padding bits. */
function canonicalEnd (token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = sextet(token.charCodeAt(end - 1))
  // 2 characters carry one byte (4 spare bits), 3 carry two bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

/** The 6-bit value of a base64url character, or -1. */
function sextet (c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52
  if (c === 0x2d) return 62
  if (c === 0x5f) return 63
  return -1
}
