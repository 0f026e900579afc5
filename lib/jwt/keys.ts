import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, X509Certificate, type JsonWebKey } from 'node:crypto'
import { algorithmsForKey, HMAC_LENGTH_RULE } from './algorithms.js'
import type { JwtAlgorithm, JwtKey } from './types.js'

/** A key made ready once: the KeyObject node:crypto verifies with, and what the key can verify. */
export interface PreparedKey {
  readonly hmac: boolean
  /** An HMAC secret (a `secret` KeyObject) or a public key. */
  readonly key: KeyObject
  /** The algorithms this key's type allows (a JWK's own `alg` narrows them). */
  readonly algorithms: readonly JwtAlgorithm[]
}

const PEM = '-----BEGIN'
const PRIVATE = 'a private key was given where a public key is needed'
/** Base64 or base64url text, line breaks allowed (a PEM body without its BEGIN/END lines). */
const BASE64 = /^[A-Za-z0-9+/_\-\s]+={0,2}$/
/** Hex text, as `openssl` and `xxd -p` print DER (line breaks and `:` separators allowed). */
const HEX = /^(?:[0-9A-Fa-f]{2}[\s:]*)+$/
/** A UTF-8 byte order mark, which Windows editors put at the start of a saved key file. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

/**
 * Classifies and prepares a verification key, or says (without the key) why it cannot be used.
 * A key that is (or looks like) a public key or a JWK is never taken as an HMAC secret, whatever
 * the token's `alg` says: that is the algorithm-confusion forgery (nor is a JWKS document or other
 * JSON). Empty or short secrets and private keys are refused.
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
  let bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  // Never part of a key: left in, it would hide a JWK or a PEM from the checks below.
  if (bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3)
  const text = bytes.toString('latin1')
  const trimmed = text.trim()
  if (trimmed === '') return 'the key is empty'
  if (text.includes(PEM)) {
    // Private keys do not belong in a verifier; refusing them also catches a swapped config.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return PRIVATE
    return fromKeyObject(createPublicKey(bytes.toString('utf8')))
  }
  // A public key without PEM armour (Keycloak's realm `public_key` is the bare base64 SPKI body) or
  // as DER bytes must never become an HMAC secret: that would accept HS256 tokens signed with it.
  const der = asDer(bytes, trimmed)
  if (der !== undefined) return der
  const json = asJson(trimmed)
  if (json !== undefined) return json
  return fromKeyObject(createSecretKey(bytes))
}

/**
 * Text that is a JSON object or array: a JWK, or a refusal. A JWKS document, or JSON of any other
 * shape, is public data or a mistake, never a secret: taken as one, anyone holding the file could
 * sign HS256 tokens with it.
 */
function asJson (trimmed: string): PreparedKey | string | undefined {
  const first = trimmed.charCodeAt(0)
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  // Text starting with `{` or `[` that parses is an object or an array.
  if (typeof (parsed as JsonWebKey).kty === 'string') return fromJwk(parsed as JsonWebKey)
  if (Array.isArray((parsed as { keys?: unknown }).keys)) return 'a JWKS document (`{ keys: [...] }`) was given where one key is needed: pass one of its keys, or use fromJwks'
  return 'the key is JSON but not a JWK'
}

/** The key DER (raw, or base64 text) holds: a public key, a certificate's key, or a refusal of a private key. */
function asDer (bytes: Buffer, trimmed: string): PreparedKey | string | undefined {
  const candidates = [bytes]
  if (HEX.test(trimmed)) candidates.push(Buffer.from(trimmed.replace(/[\s:]+/g, ''), 'hex'))
  if (BASE64.test(trimmed)) candidates.push(Buffer.from(trimmed.replace(/\s+/g, ''), trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64'))
  for (const der of candidates) {
    const key = readDer(der)
    if (key !== undefined) return key
  }
  return undefined
}

function readDer (der: Buffer): PreparedKey | string | undefined {
  // Every DER key and certificate is an ASN.1 SEQUENCE: anything else is not worth parsing.
  if (der[0] !== 0x30) return undefined
  try {
    return fromKeyObject(createPublicKey({ key: der, format: 'der', type: 'spki' }))
  } catch {}
  try {
    return fromKeyObject(new X509Certificate(der).publicKey)
  } catch {}
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type })
      return PRIVATE
    } catch {}
  }
  return undefined
}

function fromJwk (jwk: JsonWebKey): PreparedKey | string {
  if (jwk.d !== undefined) return 'a private JWK was given where a public key is needed'
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'the JWK is not a signature key (`use`)'
  let prepared: PreparedKey | string
  if (jwk.kty === 'oct') {
    const secret = typeof jwk.k === 'string' ? Buffer.from(jwk.k, 'base64url') : Buffer.alloc(0)
    if (secret.length === 0) return 'the key is empty'
    prepared = fromKeyObject(createSecretKey(secret))
  } else {
    prepared = fromKeyObject(createPublicKey({ key: jwk, format: 'jwk' }))
  }
  if (typeof prepared === 'string' || typeof jwk.alg !== 'string') return prepared
  const own = jwk.alg as JwtAlgorithm
  return { ...prepared, algorithms: prepared.algorithms.includes(own) ? [own] : [] }
}

function fromKeyObject (key: KeyObject): PreparedKey | string {
  if (key.type === 'private') return PRIVATE
  if (key.type === 'secret') {
    if (key.symmetricKeySize === 0) return 'the key is empty'
    const algorithms = algorithmsForKey(key)
    if (algorithms.length === 0) return `the HMAC secret is too short: ${HMAC_LENGTH_RULE}`
    return { hmac: true, key, algorithms }
  }
  // RFC 7518 section 3.3: RSA keys of 2048 bits or more.
  if ((key.asymmetricKeyDetails?.modulusLength ?? 2048) < 2048) return 'RSA keys shorter than 2048 bits are refused'
  const algorithms = algorithmsForKey(key)
  if (algorithms.length === 0) return 'the key type or curve is not supported'
  return { hmac: false, key, algorithms }
}
