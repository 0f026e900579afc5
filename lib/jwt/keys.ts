import { createPublicKey, createSecretKey, KeyObject, type JsonWebKey } from 'node:crypto'
import { algorithmsForKey } from './algorithms.js'
import type { JwtAlgorithm, JwtKey } from './types.js'

/** A key made ready for fast-jwt once: the bytes or PEM it takes, and what the key can verify. */
export interface PreparedKey {
  readonly hmac: boolean
  /** An HMAC secret's bytes, or a public key as SPKI PEM. */
  readonly material: Buffer | string
  /** The algorithms this key's type allows (a JWK's own `alg` narrows them). */
  readonly algorithms: readonly JwtAlgorithm[]
}

const PEM = '-----BEGIN'

/**
 * Classifies and prepares a verification key, or says (without the key) why it cannot be used.
 * A key that is (or looks like) a public key or a JWK is never taken as an HMAC secret, whatever
 * the token's `alg` says: that is the algorithm-confusion forgery. Empty secrets and private keys
 * are refused.
 */
export function prepareKey (key: JwtKey): PreparedKey | string {
  try {
    if (key instanceof KeyObject) return fromKeyObject(key)
    if (typeof key === 'string' || key instanceof Uint8Array) return fromText(key)
    if (key !== null && typeof key === 'object' && typeof key.kty === 'string') return fromJwk(key)
  } catch {
    return 'the key cannot be parsed'
  }
  return 'a key must be a string, bytes, a KeyObject or a JWK'
}

function fromText (key: string | Uint8Array): PreparedKey | string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  const text = bytes.toString('latin1')
  const trimmed = text.trim()
  if (trimmed === '') return 'the key is empty'
  if (text.includes(PEM)) {
    // Private keys do not belong in a verifier; refusing them also catches a swapped config.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'a private key was given where a public key is needed'
    return fromKeyObject(createPublicKey(bytes.toString('utf8')))
  }
  if (trimmed.charCodeAt(0) === 0x7b /* { */) {
    let parsed: unknown
    try {
      parsed = JSON.parse(trimmed)
    } catch {
      parsed = undefined
    }
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as JsonWebKey).kty === 'string') {
      return fromJwk(parsed as JsonWebKey)
    }
  }
  return { hmac: true, material: Buffer.from(bytes), algorithms: algorithmsForKey(createSecretKey(bytes)) }
}

function fromJwk (jwk: JsonWebKey): PreparedKey | string {
  if (jwk.d !== undefined) return 'a private JWK was given where a public key is needed'
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'the JWK is not a signature key (`use`)'
  let prepared: PreparedKey | string
  if (jwk.kty === 'oct') {
    const secret = typeof jwk.k === 'string' ? Buffer.from(jwk.k, 'base64url') : Buffer.alloc(0)
    if (secret.length === 0) return 'the key is empty'
    prepared = { hmac: true, material: secret, algorithms: algorithmsForKey(createSecretKey(secret)) }
  } else {
    prepared = fromKeyObject(createPublicKey({ key: jwk, format: 'jwk' }))
  }
  if (typeof prepared === 'string' || typeof jwk.alg !== 'string') return prepared
  const own = jwk.alg as JwtAlgorithm
  return { ...prepared, algorithms: prepared.algorithms.includes(own) ? [own] : [] }
}

function fromKeyObject (key: KeyObject): PreparedKey | string {
  if (key.type === 'private') return 'a private key was given where a public key is needed'
  if (key.type === 'secret') {
    const secret = key.export()
    if (secret.length === 0) return 'the key is empty'
    return { hmac: true, material: secret, algorithms: algorithmsForKey(key) }
  }
  // RFC 7518 section 3.3: RSA keys of 2048 bits or more.
  if ((key.asymmetricKeyDetails?.modulusLength ?? 2048) < 2048) return 'RSA keys shorter than 2048 bits are refused'
  const algorithms = algorithmsForKey(key)
  if (algorithms.length === 0) return 'the key type or curve is not supported'
  return { hmac: false, material: key.export({ type: 'spki', format: 'pem' }) as string, algorithms }
}
