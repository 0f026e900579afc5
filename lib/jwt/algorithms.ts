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
 * The algorithms a key can verify, from its type (and curve): never an HMAC one for a public key.
 * `rsa-pss`-typed keys are left out (their own PSS parameters would need checking too); plain RSA
 * keys do PS256/384/512.
 */
export function algorithmsForKey (key: KeyObject): readonly JwtAlgorithm[] {
  if (key.type === 'secret') return HMAC_ALGORITHMS
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
