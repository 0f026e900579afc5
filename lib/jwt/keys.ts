import { createPrivateKey, createPublicKey, createSecretKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto'
import { isKeyObject, isProxy, isUint8Array } from 'node:util/types'
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

const PRIVATE = 'a private key was given where a public key is needed'
/** Base64 or base64url text, line breaks allowed (a PEM body without its BEGIN/END lines). */
const BASE64 = /^[A-Za-z0-9+/_\-\s]+={0,2}$/
/** Hex text, as `openssl` and `xxd -p` print DER (line breaks and `:` separators allowed). */
const HEX = /^(?:[0-9A-Fa-f]{2}[\s:]*)+$/
/** A UTF-8 byte order mark, which Windows editors put at the start of a saved key file. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf])
/** UTF-16 byte order marks (PowerShell's `>` writes UTF-16LE). */
const UTF16_LE = Buffer.from([0xff, 0xfe])
const UTF16_BE = Buffer.from([0xfe, 0xff])
/** PEM armour, or something meant as one: a run of dashes and BEGIN. */
const ARMOUR = /-{2,}\s*BEGIN [A-Z0-9 ]+-{2,}/

/**
 * Classifies and prepares a verification key, or says (without the key) why it cannot be used.
 * A key that is (or looks like) a public key or a JWK is never taken as an HMAC secret, whatever
 * the token's `alg` says: that is the algorithm-confusion forgery (nor is a JWKS document or other
 * JSON). Empty or short secrets and private keys are refused.
 */
export function prepareKey (key: JwtKey): PreparedKey | string {
  try {
    // `util.types`, not `instanceof`: a Proxy passes `instanceof` and hands back other bytes.
    if (isKeyObject(key)) return fromKeyObject(key)
    if (typeof key === 'string' || isUint8Array(key)) return fromText(key)
    if (key !== null && typeof key === 'object' && !isProxy(key) && typeof key.kty === 'string') return fromJwk(key)
  } catch {
    return 'the key cannot be parsed'
  }
  return 'a key must be a string, bytes, a KeyObject or a JWK'
}

/**
 * A string or bytes key: a public key in any of its text or binary forms, a JWK as JSON, or else an
 * HMAC secret. Anything that looks like key material but cannot be read as a public key is refused
 * rather than taken as a secret: that mistake is the algorithm-confusion forgery (an HS256 token
 * signed with the public text as the secret). Raw key bytes with no structure (an EC point, a bare
 * Ed25519 key) cannot be told from a random secret: give public keys as PEM, SPKI, a certificate or
 * a JWK, and pin `algorithms`.
 */
function fromText (key: string | Uint8Array): PreparedKey | string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  if (bytes.toString('latin1').trim() === '') return 'the key is empty'
  if (startsWith(bytes, UTF16_LE) || startsWith(bytes, UTF16_BE)) return 'the key is UTF-16 text: save it as UTF-8'
  // A UTF-8 byte order mark hides a JWK or a PEM from the checks below; a secret keeps its bytes as given.
  const body = startsWith(bytes, BOM) ? bytes.subarray(3) : bytes
  const text = unescapeNewlines(body.toString('latin1')).trim()
  const candidates = [body]
  // A string of latin1 characters may hold DER bytes one per character.
  if (typeof key === 'string' && /^[\0-\xff]*$/.test(key)) candidates.push(Buffer.from(key, 'latin1'))
  const structured = asPem(text) ?? asDer(candidates, text) ?? asJson(text)
  if (structured !== undefined) return structured
  return fromKeyObject(createSecretKey(bytes))
}

/** PEM armour, even a damaged one (four dashes, escaped line breaks): a public key, or a refusal. */
function asPem (text: string): PreparedKey | string | undefined {
  if (!ARMOUR.test(text)) return undefined
  // Private keys do not belong in a verifier; refusing them also catches a swapped config.
  if (/BEGIN [A-Z ]*PRIVATE KEY/.test(text)) return PRIVATE
  try {
    return fromKeyObject(createPublicKey(text))
  } catch {
    return 'the key looks like PEM but cannot be read as a public key or certificate'
  }
}

/**
 * Text that looks like JSON (an object, an array, a quoted string): a JWK, or a refusal. A JWKS
 * document, JSON of any other shape, or text that only nearly parses is public data or a mistake,
 * never a secret: taken as one, anyone holding the file could sign HS256 tokens with it.
 */
function asJson (text: string): PreparedKey | string | undefined {
  const first = text.charCodeAt(0)
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */ && first !== 0x22 /* " */) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return 'the key looks like JSON but does not parse'
  }
  if (parsed !== null && typeof parsed === 'object' && typeof (parsed as JsonWebKey).kty === 'string') return fromJwk(parsed as JsonWebKey)
  if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)) {
    return 'a JWKS document (`{ keys: [...] }`) was given where one key is needed: pass one of its keys, or use fromJwks'
  }
  return 'the key is JSON but not a JWK'
}

/**
 * The key DER holds (as bytes, or as base64 or hex text): a public key (SPKI, PKCS#1, a
 * certificate's), or a refusal of a private key or of any other ASN.1 structure (a CSR, a PKCS#7
 * bundle, an encrypted private key).
 */
function asDer (candidates: Buffer[], text: string): PreparedKey | string | undefined {
  const hex = text.replace(/^0x/i, '')
  if (HEX.test(hex)) candidates.push(Buffer.from(hex.replace(/[\s:]+/g, ''), 'hex'))
  if (BASE64.test(text)) candidates.push(Buffer.from(text.replace(/\s+/g, ''), text.includes('-') || text.includes('_') ? 'base64url' : 'base64'))
  for (const der of candidates) {
    const key = readDer(der)
    if (key !== undefined) return key
  }
  return undefined
}

function readDer (der: Buffer): PreparedKey | string | undefined {
  // Every DER key and certificate is an ASN.1 SEQUENCE: anything else is not worth parsing.
  if (der[0] !== 0x30) return undefined
  // Private first: node:crypto would derive a public key from a private one and say nothing.
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type })
      return PRIVATE
    } catch (error) {
      // An encrypted PKCS#8 key: private, whatever its passphrase.
      if ((error as { code?: unknown }).code === 'ERR_MISSING_PASSPHRASE') return PRIVATE
    }
  }
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return fromKeyObject(createPublicKey({ key: der, format: 'der', type }))
    } catch {}
  }
  try {
    return fromKeyObject(new X509Certificate(der).publicKey)
  } catch {}
  // One SEQUENCE spanning every byte: key material of a kind not read here, never a secret.
  return isOneSequence(der) ? 'the key is DER (ASN.1) but no public key or certificate: give the public key as PEM, SPKI or a JWK' : undefined
}

/** Whether `der` is exactly one ASN.1 SEQUENCE: its length header (short or long form) accounts for every byte. */
function isOneSequence (der: Buffer): boolean {
  const first = der[1] ?? 0x80
  if (first < 0x80) return der.length === 2 + first
  const octets = first & 0x7f
  if (octets === 0 || octets > 4 || der.length < 2 + octets) return false
  let length = 0
  for (let i = 0; i < octets; i++) length = length * 256 + (der[2 + i] as number)
  return der.length === 2 + octets + length
}

function startsWith (bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.subarray(0, prefix.length).equals(prefix)
}

/** PEM or base64 pasted into an env var or JSON with its line breaks as the two characters `\\n`. */
function unescapeNewlines (text: string): string {
  return text.includes('\\n') ? text.replace(/(?:\\r)?\\n/g, '\n') : text
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
