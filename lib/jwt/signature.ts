import { constants, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import { hmacOf } from './hmac.js'
import { signatureBytes } from './structure.js'
import type { JwtAlgorithm } from './types.js'

/**
 * Checks one JWS signature (RFC 7515 section 5.2) of a token that passed the shape check
 * (lib/jwt/structure.ts): the signing input `header.payload` is `token[0, lastDot)`, the signature
 * the base64url part after it, and `bytes` that part decoded when the shape check decoded it (a
 * long part), else `undefined` and the check decodes what it needs (a short part is left as text).
 * The key is bound once. Never throws: anything node:crypto refuses is a wrong signature.
 */
export type SignatureCheck = (token: string, lastDot: number, bytes: Buffer | undefined) => boolean

/** RFC 7518 section 3.4: an ES signature is R and S, each as long as the curve's order. */
const ES_SIGNATURE_BYTES: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 }

/**
 * The signature check for one algorithm with one key, built once per key (the KeyObject and the
 * options node:crypto takes are made here, not per token). The key must fit the algorithm
 * (lib/jwt/algorithms.ts `algorithmsForKey`): a secret for HS*, RSA for RS* and PS*, the curve's EC
 * key for ES*, an Ed25519/Ed448 key for EdDSA.
 */
export function signatureCheck (algorithm: JwtAlgorithm, key: KeyObject): SignatureCheck {
  const family = algorithm.slice(0, 2)
  const digest = `sha${algorithm.slice(2)}`
  switch (family) {
    case 'HS': return hmacCheck(digest, key)
    case 'RS': return publicKeyCheck(digest, key, -1)
    // RFC 7518 section 3.5: the salt is as long as the digest.
    case 'PS': return publicKeyCheck(digest, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(algorithm.slice(2)) / 8 }, -1)
    // JOSE sends R || S (IEEE P1363), not DER: a DER signature, or one of any other length, is wrong.
    case 'ES': return publicKeyCheck(digest, { key, dsaEncoding: 'ieee-p1363' }, ES_SIGNATURE_BYTES[algorithm] as number)
    // EdDSA (RFC 8037): the curve fixes the hash, so node:crypto takes no digest name.
    default: return publicKeyCheck(null, key, -1)
  }
}

/**
 * HS*: the HMAC of the signing input as base64url, compared in constant time with the token's
 * signature part. The shape check made that part canonical, so equal text is equal bytes, and
 * nothing is decoded.
 */
function hmacCheck (digest: string, key: KeyObject): SignatureCheck {
  const mac = hmacOf(digest, key)
  return (token, lastDot, bytes) => {
    // No HMAC is long enough to have been decoded (HS512: 86 characters); the length check below
    // refuses a long part that came undecoded.
    if (bytes !== undefined) return false
    const expected = mac(token, lastDot)
    const length = expected.length
    const start = lastDot + 1
    if (token.length - start !== length) return false
    // Every character is looked at, whatever differs first: the time says nothing about the MAC.
    let difference = 0
    for (let i = 0; i < length; i++) difference |= token.charCodeAt(start + i) ^ expected.charCodeAt(i)
    return difference === 0
  }
}

/** Signing inputs up to this length are handed to node:crypto from one kept buffer (verifying is synchronous). */
const KEPT_INPUT_BYTES = 8192
const input = Buffer.alloc(KEPT_INPUT_BYTES)
/** The last view of `input` handed out: one issuer's tokens have one signing-input length, so it is rarely made anew. */
let inputView = input.subarray(0, 0)

/** RS*, PS*, ES*, EdDSA: node:crypto's one-shot verify. `length`: the exact signature length, or -1 for any. */
function publicKeyCheck (digest: string | null, key: KeyObject | VerifyKeyObjectInput, length: number): SignatureCheck {
  return (token, lastDot, bytes) => {
    // A part left undecoded passed the shape check, canonically spelled: this decoding is exact.
    const signature = bytes ?? signatureBytes(token, lastDot) as Buffer
    if (length !== -1 && signature.length !== length) return false
    // The signing input is ASCII: latin1 writes its characters as they are, with no slice made.
    let data: Buffer
    if (lastDot <= KEPT_INPUT_BYTES) {
      const length = input.write(token, 0, lastDot, 'latin1')
      data = length === inputView.length ? inputView : (inputView = input.subarray(0, length))
    } else {
      data = Buffer.from(token.slice(0, lastDot), 'latin1')
    }
    try {
      return verify(digest, data, key, signature)
    /* c8 ignore next 5 */
    } catch {
      // Unreachable with the keys algorithmsForKey admits (node:crypto answers false to any garbage
      // signature, even one longer than the modulus); if OpenSSL ever threw, it must be a 401, not a 500.
      return false
    }
  }
}
