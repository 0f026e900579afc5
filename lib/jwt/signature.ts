import { constants, createHmac, timingSafeEqual, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import type { JwtAlgorithm } from './types.js'

/**
 * Checks one JWS signature (RFC 7515 section 5.2) over the signing input `header.payload` with a
 * key bound once. Never throws: anything node:crypto refuses is a wrong signature.
 */
export type SignatureCheck = (input: string, signature: Buffer) => boolean

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

/** HS*: the HMAC of the input, compared in constant time with a signature of the same length. */
function hmacCheck (digest: string, key: KeyObject): SignatureCheck {
  return (input, signature) => {
    const expected = createHmac(digest, key).update(input).digest()
    return expected.length === signature.length && timingSafeEqual(expected, signature)
  }
}

/** RS*, PS*, ES*, EdDSA: node:crypto's one-shot verify. `length`: the exact signature length, or -1 for any. */
function publicKeyCheck (digest: string | null, key: KeyObject | VerifyKeyObjectInput, length: number): SignatureCheck {
  return (input, signature) => {
    if (length !== -1 && signature.length !== length) return false
    try {
      return verify(digest, Buffer.from(input, 'latin1'), key, signature)
    /* c8 ignore next 5 */
    } catch {
      // Unreachable with the keys algorithmsForKey admits (node:crypto answers false to any garbage
      // signature, even one longer than the modulus); if OpenSSL ever threw, it must be a 401, not a 500.
      return false
    }
  }
}
