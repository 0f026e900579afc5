import { createPrivateKey, KeyObject, type JsonWebKey } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { DaprTokenOptionsError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import { ALL_ALGORITHMS, algorithmsForKey, HMAC_LENGTH_RULE, HMAC_MIN_BYTES, hmacAlgorithmsFor } from './algorithms.js'
import { prepareKey, PRIVATE, type PreparedKey } from './keys.js'
import { nonEmptyStrings } from './options.js'
import type { JwtAlgorithm } from './types.js'

/** How `signDaprJwt` signs. Durations are in seconds, as in the claims. */
export interface SignDaprJwtOptions {
  /** An HMAC secret (string or bytes), a private key (PEM, `KeyObject`) or a private JWK. */
  key: string | Uint8Array | KeyObject | JsonWebKey
  /** Default: the one the key implies (HS256, RS256, ES256/384/512 by curve, EdDSA). */
  algorithm?: JwtAlgorithm
  /** The `kid` header, for a verifier that picks keys by id (JWKS). */
  kid?: string
  /** Seconds from `iat` (now, unless the claims set one) to `exp`. Default 300; `null` for no `exp`. */
  expiresIn?: number | null
  /** Seconds from `iat` to `nbf`. */
  notBefore?: number
  issuer?: string
  audience?: string | string[]
  subject?: string
}

/**
 * Mints a signed JWT for tests, docs and tools (`iat` set, `exp` five minutes ahead by default).
 * Not for production issuers: those have their own. Throws `FST_DAPR_TOKEN_OPTIONS` for a key it
 * cannot sign with, an algorithm that does not fit the key, an option it does not know or cannot
 * use, or an `exp`, `nbf` or `iat` claim that is not a whole number of seconds above 0. A secret
 * given as text is trimmed, as the verifier trims it.
 */
export function signDaprJwt (claims: Record<string, unknown>, options: SignDaprJwtOptions): string {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) fail('the claims must be an object, such as { sub: \'me\' }')
  if (options === null || typeof options !== 'object') fail('options must be an object such as { key }')
  checkOptionNames(options, SIGN_OPTION_NAMES, { source: 'signDaprJwt' })
  checkInputs(options)
  checkConflicts(claims, options)
  const problem = timeClaimProblem(claims)
  if (problem !== undefined) fail(`the claims: ${problem}`)
  // An `exp` in the claims is the expiry: the default `expiresIn` does not replace it.
  const { key, algorithm, kid, expiresIn = claims.exp === undefined ? 300 : null, notBefore, issuer, audience, subject } = options
  const [material, fits] = signingKey(key)
  const chosen = algorithm ?? fits[0]
  if (chosen === undefined || !fits.includes(chosen)) {
    if (fits.length === 0) {
      if (typeof material === 'string') fail('this private key fits no JWS algorithm (RSA, EC P-256, P-384 or P-521, Ed25519 or Ed448 do)')
      fail(material.length === 0 ? 'the key is empty' : `the HMAC secret is too short: ${HMAC_LENGTH_RULE}`)
    }
    const secret = typeof material !== 'string' && HMAC_MIN_BYTES[chosen as string] !== undefined
    fail(`algorithm ${String(chosen)} does not fit this key (it fits ${fits.join(', ')})${secret ? `; ${HMAC_LENGTH_RULE}` : ''}`)
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

/** The registered claims that count seconds since the epoch (RFC 7519 section 4.1.4 to 4.1.6). */
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const

/**
 * Why an `exp`, `nbf` or `iat` in `claims` would not mean what it says, or `undefined` when each one
 * present is a whole number of seconds above 0. fast-jwt reads an `exp` or `nbf` of 0 as none (and
 * an `exp` in the claims stops the default expiry), so `exp: 0` would mint a token that never
 * expires. The one rule for `signDaprJwt` and the CLI's `sign`; the value itself is never shown.
 */
export function timeClaimProblem (claims: Readonly<Record<string, unknown>>): string | undefined {
  for (const name of TIME_CLAIMS) {
    const value = claims[name]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
      return `${name} must be a whole number of seconds since the epoch, above 0 (RFC 7519), not ${describeTime(value)}`
    }
  }
  return undefined
}

/** What a refused time claim is, in words that cannot carry a secret. */
function describeTime (value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'a number that is not finite'
    if (!Number.isInteger(value)) return 'a fraction'
    return value === 0 ? '0' : 'a negative number'
  }
  if (value === null) return 'null'
  const type = Array.isArray(value) ? 'array' : typeof value
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`
}

/** Claims that an option also sets: fast-jwt would let the option win in silence. */
const CLAIM_OPTIONS = [['exp', 'expiresIn'], ['nbf', 'notBefore'], ['iss', 'issuer'], ['aud', 'audience'], ['sub', 'subject']] as const

function checkConflicts (claims: Record<string, unknown>, options: SignDaprJwtOptions): void {
  for (const [claim, option] of CLAIM_OPTIONS) {
    // `expiresIn: null` sets nothing: an `exp` of the claims' own then stands.
    if (claims[claim] !== undefined && options[option] !== undefined && options[option] !== null) fail(`\`${claim}\` is set both in the claims and by \`${option}\`: set it in one place`)
  }
}

const SIGN_OPTION_NAMES = ['key', 'algorithm', 'kid', 'expiresIn', 'notBefore', 'issuer', 'audience', 'subject'] as const satisfies ReadonlyArray<keyof SignDaprJwtOptions>

function fail (message: string): never {
  throw new DaprTokenOptionsError(`signDaprJwt: ${message}`)
}

/** The options fast-jwt would otherwise refuse in its own words, or take in a form no verifier reads. */
function checkInputs (options: SignDaprJwtOptions): void {
  const { key, algorithm, kid, expiresIn, notBefore, issuer, audience, subject } = options
  if (key === undefined || key === null) fail('`key` is required: an HMAC secret, a private key (PEM or KeyObject) or a private JWK')
  if (algorithm !== undefined && !ALL_ALGORITHMS.has(algorithm)) fail(`\`algorithm\`: unsupported algorithm ${JSON.stringify(algorithm)}`)
  // A negative `expiresIn` mints a token that has already expired: what a test of the refusal needs.
  if (expiresIn !== undefined && expiresIn !== null && !isSeconds(expiresIn)) fail('`expiresIn` must be a number of seconds (negative: already expired), or null for no `exp`')
  if (notBefore !== undefined && (!isSeconds(notBefore) || notBefore < 0)) fail('`notBefore` must be a non-negative number of seconds')
  for (const [name, value] of [['kid', kid], ['issuer', issuer], ['subject', subject]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) fail(`\`${name}\` must be a non-empty string`)
  }
  if (audience !== undefined && nonEmptyStrings(audience, true) === undefined) fail('`audience` must be a non-empty string or a non-empty array of them')
}

function isSeconds (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** The key as fast-jwt signs with it (a secret's bytes, a private key's PEM), and the algorithms it fits. */
function signingKey (key: SignDaprJwtOptions['key']): [Buffer | string, readonly JwtAlgorithm[]] {
  if (typeof key === 'string' || key instanceof Uint8Array) {
    // Read as the verifier reads it: a private key is signed with as one, and only a secret is left.
    const prepared = prepareKey(key)
    if (prepared !== PRIVATE) return secretOf(prepared)
  } else if (!(key instanceof KeyObject) && key.kty === 'oct') {
    const secret = Buffer.from(String(key.k ?? ''), 'base64url')
    return [secret, hmacAlgorithmsFor(secret.length)]
  }
  const object = keyObjectOf(key)
  if (object.type === 'secret') return [object.export(), algorithmsForKey(object)]
  if (object.type !== 'private') fail('a public key cannot sign: give the private key')
  // RFC 7518 section 3.3, as the verifier holds it: a shorter key's tokens would all be refused.
  const details = object.asymmetricKeyDetails as { modulusLength?: number }
  if ((object.asymmetricKeyType as string).startsWith('rsa') && (details.modulusLength as number) < 2048) fail('RSA keys shorter than 2048 bits are refused')
  return [object.export({ type: 'pkcs8', format: 'pem' }) as string, algorithmsForKey(object)]
}

/**
 * Text or bytes that hold no private key, as the verifier read them (lib/jwt/keys.ts): a public key
 * in any form it knows cannot sign, and what is left is an HMAC secret (text trimmed, as the
 * verifier trims it; bytes as they are).
 */
function secretOf (prepared: PreparedKey | string): [Buffer, readonly JwtAlgorithm[]] {
  if (typeof prepared === 'string') fail(prepared)
  if (!prepared.hmac) fail('a public key cannot sign: give the private key')
  const secret = prepared.key.export()
  return [secret, hmacAlgorithmsFor(secret.length)]
}

function keyObjectOf (key: SignDaprJwtOptions['key']): KeyObject {
  if (key instanceof KeyObject) return key
  const text = typeof key === 'string' || key instanceof Uint8Array
  try {
    return text ? createPrivateKey(Buffer.from(key).toString('utf8')) : createPrivateKey({ key, format: 'jwk' })
  } catch {
    fail(text ? 'the key is a private key that cannot be read: give it as PEM, a KeyObject or a JWK' : 'the key cannot be read as a private key (a JWK with its private members) or an HMAC secret')
  }
}
