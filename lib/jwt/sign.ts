import { createPrivateKey, KeyObject, type JsonWebKey } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { DaprTokenOptionsError } from '../errors.js'
import { algorithmsForKey, HMAC_LENGTH_RULE, HMAC_MIN_BYTES, hmacAlgorithmsFor } from './algorithms.js'
import type { JwtAlgorithm } from './types.js'

/** How `signDaprJwt` signs. Durations are in seconds, as in the claims. */
export interface SignDaprJwtOptions {
  /** An HMAC secret (string or bytes), a private key (PEM, `KeyObject`) or a private JWK. */
  key: string | Uint8Array | KeyObject | JsonWebKey
  /** Default: the one the key implies (HS256, RS256, ES256/384/512 by curve, EdDSA). */
  algorithm?: JwtAlgorithm
  /** The `kid` header, for a verifier that picks keys by id (JWKS). */
  kid?: string
  /** Seconds until `exp`. Default 300; `null` for no `exp`. */
  expiresIn?: number | null
  /** Seconds until `nbf`. */
  notBefore?: number
  issuer?: string
  audience?: string | string[]
  subject?: string
}

const PRIVATE_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

/**
 * Mints a signed JWT for tests, docs and tools (`iat` set, `exp` five minutes ahead by default).
 * Not for production issuers: those have their own. Throws `FST_DAPR_TOKEN_OPTIONS` for a key it
 * cannot sign with or an algorithm that does not fit the key.
 */
export function signDaprJwt (claims: Record<string, unknown>, options: SignDaprJwtOptions): string {
  const { key, algorithm, kid, expiresIn = 300, notBefore, issuer, audience, subject } = options
  const [material, fits] = signingKey(key)
  const chosen = algorithm ?? fits[0]
  if (chosen === undefined || !fits.includes(chosen)) {
    const secret = typeof material !== 'string' && (chosen === undefined || HMAC_MIN_BYTES[chosen] !== undefined)
    const why = secret ? `; ${HMAC_LENGTH_RULE}` : ''
    throw new DaprTokenOptionsError(`signDaprJwt: algorithm ${String(chosen)} does not fit this key (it fits ${fits.join(', ') || 'nothing'})${why}`)
  }
  const sign = createSigner({
    key: material,
    algorithm: chosen,
    kid,
    expiresIn: expiresIn === null ? undefined : expiresIn * 1000,
    notBefore: notBefore === undefined ? undefined : notBefore * 1000,
    iss: issuer,
    aud: audience,
    sub: subject
  })
  return sign({ ...claims })
}

function signingKey (key: SignDaprJwtOptions['key']): [Buffer | string, readonly JwtAlgorithm[]] {
  let object: KeyObject
  if (key instanceof KeyObject) {
    object = key
  } else if (typeof key === 'string' || key instanceof Uint8Array) {
    const text = Buffer.from(key).toString('utf8')
    if (!PRIVATE_PEM.test(text)) {
      const secret = Buffer.from(key)
      return [secret, hmacAlgorithmsFor(secret.length)]
    }
    object = createPrivateKey(text)
  } else if (key.kty === 'oct') {
    const secret = Buffer.from(String(key.k ?? ''), 'base64url')
    return [secret, hmacAlgorithmsFor(secret.length)]
  } else {
    object = createPrivateKey({ key, format: 'jwk' })
  }
  if (object.type === 'secret') return [object.export(), algorithmsForKey(object)]
  if (object.type !== 'private') return [Buffer.alloc(0), []]
  return [object.export({ type: 'pkcs8', format: 'pem' }) as string, algorithmsForKey(object)]
}
