/**
 * The shape check every token passes before any decoding or crypto (RFC 7515 section 7.1, compact
 * serialisation): exactly three non-empty base64url parts. One pass over the characters, no
 * allocation, so junk costs almost nothing.
 *
 * Returns `'malformed'`, `'unsigned'` (an empty signature part: `alg: none`) or `undefined` when
 * the shape is right.
 */
export function checkShape (token: string): 'malformed' | 'unsigned' | undefined {
  const length = token.length
  let dots = 0
  let partStart = 0
  for (let i = 0; i < length; i++) {
    const c = token.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (i === partStart) return 'malformed'
      dots++
      partStart = i + 1
    } else if (!isBase64Url(c)) {
      return 'malformed'
    }
  }
  if (dots !== 2) return 'malformed'
  return partStart === length ? 'unsigned' : undefined
}

function isBase64Url (c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f
}
