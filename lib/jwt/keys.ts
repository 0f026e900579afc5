import { createPrivateKey, createPublicKey, createSecretKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto'
import { isKeyObject, isProxy, isUint8Array } from 'node:util/types'
import { algorithmsForKey, HMAC_LENGTH_RULE } from './algorithms.js'
import type { JwtAlgorithm, JwtKey } from './types.js'

/** A key made ready once: the KeyObject node:crypto verifies with, and what the key can verify. */
export interface PreparedKey {
  readonly hmac: boolean
  /**
   * An HMAC secret that was given as text or bytes which no public-key form fits: a secret only
   * because it is nothing else. Used as one only where `algorithms` pins HMAC (lib/jwt/options.ts).
   */
  readonly unmarked: boolean
  /** An HMAC secret (a `secret` KeyObject) or a public key. */
  readonly key: KeyObject
  /** The algorithms this key's type allows (a JWK's own `alg` narrows them). */
  readonly algorithms: readonly JwtAlgorithm[]
}

export const PRIVATE = 'a private key was given where a public key is needed'
/** Base64 or base64url text, line breaks allowed (a PEM body without its BEGIN/END lines). */
const BASE64 = /^[A-Za-z0-9+/_\-\s]+={0,2}$/
/** Hex text, as `openssl` and `xxd -p` print DER (line breaks and `:` separators allowed). */
const HEX = /^(?:[0-9A-Fa-f]{2}[\s:]*)+$/
/** An OpenSSH public key line (`ssh-keygen` output, `authorized_keys`, `known_hosts`). */
const SSH_KEY = /(?:^|\s)(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-[a-z0-9-]+@openssh\.com) AAAA/
/** PEM armour, or something meant as one (any case, any dashes): no run of repeats, so linear. */
const ARMOUR = /BEGIN [A-Z0-9 ]{0,40}(?:KEY|CERTIFICATE)/i
/** A value in matching single or double quotes. */
const QUOTED = /^(["'])[^]*\1$/
/** Text a JWK or a JWKS document holds, even one that does not parse. */
const JWK_TEXT = /"(?:kty|keys)"\s*:/
/** Characters `trim()` keeps that a pasted key can start with: zero-width space and joiners, BOM. */
const INVISIBLE = /^[\u200b-\u200d\u2060\ufeff]+|[\u200b-\u200d\u2060\ufeff]+$/g

/**
 * Classifies and prepares a verification key, or says (without the key) why it cannot be used.
 * A key that is (or looks like) a public key or a JWK is never taken as an HMAC secret, whatever
 * the token's `alg` says: that is the algorithm-confusion forgery. Empty or short secrets and
 * private keys are refused.
 */
export function prepareKey (key: JwtKey): PreparedKey | string {
  try {
    switch (kindOf(key)) {
      case 'keyObject': return fromKeyObject(key as KeyObject, false)
      case 'string':
      case 'bytes': return fromText(key as string | Uint8Array)
      case 'object': if (typeof (key as JsonWebKey).kty === 'string') return fromJwk(key as JsonWebKey)
    }
  } catch {
    return 'the key cannot be parsed'
  }
  return 'a key must be a string, bytes, a KeyObject or a JWK'
}

/**
 * What a key value is, told without trusting it: `util.types`, not `instanceof`, and a Proxy is
 * `'none'` (it can answer `instanceof` and `util.types` alike and hand back other bytes).
 * `'object'` may be a JWK.
 */
export function kindOf (key: unknown): 'string' | 'keyObject' | 'bytes' | 'object' | 'none' {
  if (typeof key === 'string') return 'string'
  if (key === null || typeof key !== 'object' || isProxy(key)) return 'none'
  if (isKeyObject(key)) return 'keyObject'
  return isUint8Array(key) ? 'bytes' : 'object'
}

/** Why a secret is refused for its length; the CLI tells it apart from other refusals. */
export const SHORT_SECRET = `the HMAC secret is too short: ${HMAC_LENGTH_RULE}`

/**
 * A string or bytes key: a public key in one of the forms read here, a JWK as JSON, or else an
 * HMAC secret (`unmarked`: it is one only because no public-key form fits, so it is used only
 * where `algorithms` pins HMAC). Text that is unmistakably key material but cannot be read (PEM
 * armour, a JWK, an SSH public key) is refused outright. Forms read as public keys: PEM (a
 * public key or a certificate; escaped `\\n` line breaks, a byte order mark or CRLF are fine),
 * SPKI, PKCS#1 or certificate DER as bytes, base64 or hex, base64 of a PEM or a JWK (a Kubernetes
 * Secret's `data:`), a JWK as JSON, and UTF-16LE text of any of these.
 */
function fromText (key: string | Uint8Array): PreparedKey | string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.copyBytesFrom(key)
  if (bytes.toString('latin1').trim() === '') return 'the key is empty'
  const candidates = [bytes]
  // A string of latin1 characters may hold DER bytes one per character.
  if (typeof key === 'string' && /^[\0-\xff]*$/.test(key)) candidates.push(Buffer.from(key, 'latin1'))
  const structured = asPublic(textOf(bytes), candidates)
  if (structured !== undefined) return structured
  // Text is trimmed, as configured tokens and the CLI's secrets are: a Secret file or an env var
  // ending in a newline is the secret without it. Bytes are the secret as they are.
  return fromKeyObject(createSecretKey(typeof key === 'string' ? Buffer.from(key.trim(), 'utf8') : bytes), true)
}

/** The bytes as text to classify: UTF-8 (or UTF-16LE with its mark), without a byte order mark, invisible edges or escaped line breaks. */
function textOf (bytes: Buffer): string {
  // UTF-16LE, as PowerShell's `>` writes it, starts with its byte order mark.
  const text = bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.subarray(2).toString('utf16le') : bytes.toString('utf8')
  return unescapeNewlines(text.replace(INVISIBLE, '')).trim()
}

/** A public key, a refusal, or `undefined` when nothing here says the text is key material. */
function asPublic (text: string, candidates: Buffer[]): PreparedKey | string | undefined {
  // Quotes kept around a value (`jq` output, a Docker env file) are no part of it.
  if (QUOTED.test(text)) return asPublic(text.slice(1, -1).trim(), [])
  const direct = asStructured(text, candidates)
  if (direct !== undefined) return direct
  // One layer of base64 around text: a Kubernetes Secret's `data:` holds a PEM or a JWK that way.
  const inner = wrapped(text)
  return inner === '' ? undefined : asStructured(inner, [])
}

function asStructured (text: string, candidates: Buffer[]): PreparedKey | string | undefined {
  if (SSH_KEY.test(text)) return 'the key is an SSH public key: convert it to PEM (ssh-keygen -e -m PKCS8 -f key.pub)'
  return asPem(text) ?? asJson(text) ?? asDer(candidates, text)
}

function wrapped (text: string): string {
  const inner = base64Bytes(text)?.toString('latin1') ?? ''
  return /^[\t\n\r\x20-\x7e]+$/.test(inner) ? unescapeNewlines(inner).trim() : ''
}

/** PEM armour, even a damaged one: a public key, or a refusal. */
function asPem (text: string): PreparedKey | string | undefined {
  if (!ARMOUR.test(text)) return undefined
  // Private keys do not belong in a verifier; refusing them also catches a swapped config.
  if (/BEGIN [A-Z ]*PRIVATE KEY/i.test(text)) return PRIVATE
  try {
    return fromKeyObject(createPublicKey(text), false)
  } catch {
    return 'the key looks like PEM but cannot be read as a public key or certificate'
  }
}

/**
 * JSON text: a JWK, or a refusal when it is a JWKS document, other JSON with a key in it, or text
 * that names `kty` or `keys` without parsing. Other text that merely starts with a brace (a
 * password) is no JSON key and is left to be a secret.
 */
function asJson (text: string): PreparedKey | string | undefined {
  const first = text.charCodeAt(0)
  const bracketed = first === 0x7b /* { */ || first === 0x5b /* [ */
  if (!bracketed && !JWK_TEXT.test(text)) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return JWK_TEXT.test(text) ? 'the key looks like a JWK but does not parse as JSON' : undefined
  }
  if (parsed !== null && typeof parsed === 'object' && typeof (parsed as JsonWebKey).kty === 'string') return fromJwk(parsed as JsonWebKey)
  if (parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)) {
    return 'a JWKS document (`{ keys: [...] }`) was given where one key is needed: pass one of its keys, or use fromJwks'
  }
  return 'the key is JSON but not a JWK'
}

/**
 * The key DER holds (as bytes, or as base64 or hex text): a public key (SPKI, PKCS#1, a
 * certificate's), or a refusal of a private key.
 */
function asDer (candidates: Buffer[], text: string): PreparedKey | string | undefined {
  const hex = text.replace(/^0x/i, '')
  if (HEX.test(hex)) candidates.push(Buffer.from(hex.replace(/[\s:]+/g, ''), 'hex'))
  const base64 = base64Bytes(text)
  if (base64 !== undefined) candidates.push(base64)
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
      return fromKeyObject(createPublicKey({ key: der, format: 'der', type }), false)
    } catch {}
  }
  try {
    return fromKeyObject(new X509Certificate(der).publicKey, false)
  } catch {}
  return undefined
}

/** The bytes base64 or base64url text holds (line breaks allowed), or `undefined` for other text. */
function base64Bytes (text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined
  return Buffer.from(text.replace(/\s+/g, ''), text.includes('-') || text.includes('_') ? 'base64url' : 'base64')
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
    prepared = fromKeyObject(createSecretKey(secret), false)
  } else {
    prepared = fromKeyObject(createPublicKey({ key: jwk, format: 'jwk' }), false)
  }
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') return 'the JWK\'s `alg` must be a string'
  if (typeof prepared === 'string' || jwk.alg === undefined) return prepared
  const own = jwk.alg as JwtAlgorithm
  return { ...prepared, algorithms: prepared.algorithms.includes(own) ? [own] : [] }
}

function fromKeyObject (key: KeyObject, unmarked: boolean): PreparedKey | string {
  if (key.type === 'private') return PRIVATE
  if (key.type === 'secret') {
    if (key.symmetricKeySize === 0) return 'the key is empty'
    const algorithms = algorithmsForKey(key)
    if (algorithms.length === 0) return SHORT_SECRET
    return { hmac: true, unmarked, key, algorithms }
  }
  // RFC 7518 section 3.3: RSA keys of 2048 bits or more.
  if ((key.asymmetricKeyDetails?.modulusLength ?? 2048) < 2048) return 'RSA keys shorter than 2048 bits are refused'
  const algorithms = algorithmsForKey(key)
  if (algorithms.length === 0) return 'the key type or curve is not supported'
  return { hmac: false, unmarked: false, key, algorithms }
}
