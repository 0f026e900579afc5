import { createHmac, hash, type KeyObject } from 'node:crypto'

/**
 * The HMAC of `text[0, end)` (a token's signing input, ASCII: the shape check admitted only
 * base64url and one dot) as base64url: node:crypto hands a string back several times faster than
 * a Buffer, and the token's signature part is compared as text.
 */
export type Mac = (text: string, end: number) => string

/** The digests HS256/384/512 use (RFC 7518 section 3.2) and their block sizes in bytes (FIPS 180-4). */
const BLOCK_BYTES: Readonly<Record<string, number>> = { sha256: 64, sha384: 128, sha512: 128 }

/** Signing inputs up to this length are hashed from a buffer kept with the key, longer ones from a fresh one. */
const KEPT_INPUT_BYTES = 4096

/**
 * HMAC (RFC 2104) as two one-shot hashes, `H(K^opad || H(K^ipad || m))`, with the padded key made
 * once. node:crypto's `createHmac` builds a stream object (and its key schedule) per call, measured
 * at more than the rest of an uncached HS256 verification; `crypto.hash` is one native call. The input is written after the inner pad in a buffer kept with the key: hashing is
 * synchronous, so no other call can see it half written.
 */
export function oneShotHmac (digest: string, key: KeyObject): Mac {
  const block = BLOCK_BYTES[digest] as number
  let secret = key.export()
  // RFC 2104 section 2: a key longer than the block is replaced by its hash.
  if (secret.length > block) secret = hash(digest, secret, 'buffer')
  const inner = Buffer.alloc(block + KEPT_INPUT_BYTES)
  const outer = Buffer.alloc(block + hash(digest, '', 'buffer').length)
  for (let i = 0; i < block; i++) {
    const byte = i < secret.length ? secret[i] as number : 0
    inner[i] = byte ^ 0x36
    outer[i] = byte ^ 0x5c
  }
  const innerPad = inner.subarray(0, block)
  // The last view of `inner` hashed: one issuer's tokens have one signing-input length.
  let view = innerPad
  return (text, end) => {
    let message: Buffer
    // latin1 writes the first `end` characters as they are: no slice of the token is made.
    if (end <= KEPT_INPUT_BYTES) {
      const length = block + inner.write(text, block, end, 'latin1')
      if (view.length !== length) view = inner.subarray(0, length)
      message = view
    } else {
      message = Buffer.allocUnsafe(block + end)
      innerPad.copy(message)
      message.write(text, block, end, 'latin1')
    }
    // The inner digest as a latin1 string: its characters are its bytes.
    outer.write(hash(digest, message, 'binary'), block, 'latin1')
    return hash(digest, outer, 'base64url')
  }
}

/** node:crypto's own HMAC, where there is no one-shot `crypto.hash` (Node before 20.12). */
export function streamHmac (digest: string, key: KeyObject): Mac {
  return (text, end) => createHmac(digest, key).update(text.slice(0, end), 'latin1').digest('base64url')
}

/** The fastest HMAC this Node has. */
/* c8 ignore next */
export const hmacOf: (digest: string, key: KeyObject) => Mac = typeof hash === 'function' ? oneShotHmac : streamHmac
