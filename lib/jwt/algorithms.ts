import type { KeyObject } from 'node:crypto'
import type { JwtAlgorithm } from './types.js'

/** HMAC algorithms (RFC 7518 section 3.2): verified with a shared secret. */
export const HMAC_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512']

const RSA_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

/** RFC 7518 section 3.4: each ES algorithm names its curve. */
const EC_ALGORITHMS: Readonly<Record<string, JwtAlgorithm>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512'
}

export const ALL_ALGORITHMS: ReadonlySet<string> = new Set<string>([...HMAC_ALGORITHMS, ...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', 'EdDSA'])

export function isHmac (algorithm: string): boolean {
  return algorithm.charCodeAt(0) === 0x48 /* H */
}

/**
 * RFC 7518 section 3.2: an HMAC key at least as long as the hash (HS256: 32 bytes, HS384: 48,
 * HS512: 64). A shorter secret can be guessed offline from any one token it signed.
 */
export const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 }

/** Said wherever a secret is refused for its length (never the secret itself). */
export const HMAC_LENGTH_RULE = 'an HMAC secret must be at least as long as the hash: 32 bytes for HS256, 48 for HS384, 64 for HS512 (RFC 7518 section 3.2)'

/** The HMAC algorithms a secret of this many bytes is long enough for. */
export function hmacAlgorithmsFor (bytes: number): readonly JwtAlgorithm[] {
  return HMAC_ALGORITHMS.filter(algorithm => bytes >= (HMAC_MIN_BYTES[algorithm] as number))
}

/**
 * The algorithms a key can verify, from its type (and curve, or a secret's length): never an HMAC
 * one for a public key.
 * `rsa-pss`-typed keys are left out (their own PSS parameters would need checking too); plain RSA
 * keys do PS256/384/512.
 */
export function algorithmsForKey (key: KeyObject): readonly JwtAlgorithm[] {
  if (key.type === 'secret') return hmacAlgorithmsFor(key.symmetricKeySize as number)
  switch (key.asymmetricKeyType) {
    case 'rsa': return RSA_ALGORITHMS
    case 'ec': {
      const algorithm = EC_ALGORITHMS[String(key.asymmetricKeyDetails?.namedCurve)]
      return algorithm === undefined ? [] : [algorithm]
    }
    case 'ed25519':
    case 'ed448': return ['EdDSA']
    default: return []
  }
}
