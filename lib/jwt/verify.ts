import type { KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { DaprTokenKeySourceUnavailableError } from '../errors.js'
import { mayBeJoined, sentMoreThanOnce } from '../extract.js'
import { isThenable } from '../thenable.js'
import type { TokenVerifier, VerifyOutcome } from '../verifier.js'
import { VerifiedCache, type CacheEntry } from './cache.js'
import { checkClaims } from './claims.js'
import { decodeObject, HeaderDecoder } from './decode.js'
import { kindOf, prepareKey } from './keys.js'
import { resolveJwtOptions, type ResolvedJwtOptions } from './options.js'
import { signatureCheck, type SignatureCheck } from './signature.js'
import { checkShape } from './structure.js'
import type { DaprJwtOptions, DecodedJwt, JwtAlgorithm, JwtClaims, JwtHeader, JwtKey, JwtTokenCredential } from './types.js'

/** One key's signature check for each algorithm it may verify (the pinned ones that fit the key). */
type KeyChecks = ReadonlyMap<string, SignatureCheck>

/** A resolver's answer made usable: its signature checks, or why it cannot verify anything. */
type KeyVerifier = KeyChecks | 'unusableKey' | 'algorithm'

/**
 * A resolver's key with its verifier, and the key as it was when that verifier was made: bytes and
 * a JWK's members are copied, so a key the resolver changes in place (`buffer.set(next)`,
 * `Object.assign(jwk, next)`) is seen as the new key it now is, never verified with the old one.
 */
interface KnownKey {
  readonly verifier: KeyVerifier
  readonly snapshot: JwtKey
}

/** Distinct keys a resolver hands out as strings, remembered with their checks (an object key lives in a WeakMap). */
const STRING_KEYS_REMEMBERED = 64

type Resolved = JwtKey | null | undefined

/**
 * The JWT mode's `TokenVerifier`. Per request: a cache lookup by the token string (with a static key
 * a hit is the whole cost; with a resolver, the resolver is asked again and the hit counts only if it
 * names the key that verified the token), else a shape check with no crypto, then in one pass:
 * decode the header (remembered per header part) and payload, pin the algorithm, ask the resolver
 * (once) for a key, check the signature with node:crypto and a KeyObject made once per key, then the
 * `crit` header and the claims. Only successes are cached.
 */
export function jwtVerifier (options: DaprJwtOptions, header: string): TokenVerifier {
  const config = resolveJwtOptions(options)
  const { resolver, algorithms, resolverTimeoutMs } = config
  const pinned = algorithms as readonly string[]
  const issuers = config.resolverIssuers
  const cache = config.cache === null ? null : new VerifiedCache(config.cache.max)
  const ttlMs = config.cache === null ? 0 : config.cache.ttlMs
  const headers = new HeaderDecoder()
  const staticChecks = config.staticKey === undefined ? undefined : keyChecks(algorithms, config.staticKey.key)
  const byString = new Map<string, KnownKey>()
  const byObject = new WeakMap<object, KnownKey>()

  function accept (token: string, claims: JwtClaims, version: number | undefined, key: JwtKey | undefined, decoded: DecodedJwt | undefined): JwtTokenCredential {
    // The claims came deeply frozen from decodeObject.
    const credential: JwtTokenCredential = Object.freeze({ kind: 'jwt' as const, claims })
    if (cache !== null) cache.set(token, credential, lifetimeEnd(claims, config, Date.now() + ttlMs), version, key, decoded)
    return credential
  }

  /**
   * The signature, then `crit`, then the claims: the order fast-jwt checked them in before, so a
   * token with several faults is refused for the same one.
   */
  function finish (check: SignatureCheck, token: string, lastDot: number, bytes: Buffer | undefined, header: JwtHeader, payload: JwtClaims, version: number | undefined, key: JwtKey | undefined, decoded: DecodedJwt | undefined): VerifyOutcome {
    if (!check(token, lastDot, bytes)) return 'signature'
    // RFC 7515 section 4.1.11: `crit` names extensions the recipient must understand; this one understands none.
    if (header.crit !== undefined) return 'malformed'
    const refusal = checkClaims(payload, config, Date.now())
    return refusal === undefined ? accept(token, payload, version, key, decoded) : refusal
  }

  function knownKey (key: JwtKey): KnownKey {
    if (typeof key === 'string') {
      let known = byString.get(key)
      if (known === undefined) {
        known = { verifier: keyVerifier(config, key), snapshot: key }
        // Bounded: a resolver cannot grow this without limit.
        if (byString.size >= STRING_KEYS_REMEMBERED) byString.clear()
        byString.set(key, known)
      }
      return known
    }
    // A Proxy or another non-key is never remembered: lib/jwt/keys.ts refuses it.
    if (kindOf(key) === 'none') return UNREADABLE
    let known = byObject.get(key)
    try {
      if (known === undefined || !unchanged(key, known.snapshot)) {
        // Verified from the snapshot itself: what is checked on later calls is exactly what verifies
        // (a getter answering differently on each read cannot split the two).
        const snapshot = snapshotOf(key)
        known = { verifier: keyVerifier(config, snapshot), snapshot }
        byObject.set(key, known)
      }
    } catch {
      // A member that throws when read: no key can be made of it (as lib/jwt/keys.ts says of any key it cannot read).
      return UNREADABLE
    }
    return known
  }

  function withKey (key: Resolved, token: string, lastDot: number, bytes: Buffer | undefined, decoded: DecodedJwt, version: number | undefined): VerifyOutcome {
    // Nothing, or something that is no key at all (false, 0, a number): no key is known for the token.
    if (typeof key !== 'string' && (key === null || typeof key !== 'object')) return 'unknownKey'
    const { verifier, snapshot } = knownKey(key)
    if (typeof verifier === 'string') return verifier
    const { header, payload } = decoded
    const check = verifier.get(header.alg as string)
    // The cache keeps the snapshot: a hit is checked against the key as it verified the token.
    return check === undefined ? 'algorithm' : finish(check, token, lastDot, bytes, header, payload, version, snapshot, decoded)
  }

  /**
   * Waits for an asynchronous resolver, at most `resolverTimeoutMs`: a key source that never answers
   * is a 503, not a hung request. The timer is cleared on settle and never keeps the process alive.
   */
  async function bounded (pending: PromiseLike<Resolved>, then: (key: Resolved) => VerifyOutcome): Promise<VerifyOutcome> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new DaprTokenKeySourceUnavailableError()) }, resolverTimeoutMs)
      timer.unref()
    })
    const outcome = Promise.resolve(pending).then(key => {
      clearTimeout(timer)
      return then(key)
    }, (error: unknown) => {
      clearTimeout(timer)
      throw error
    })
    return await Promise.race([outcome, timeout])
  }

  /** Shows the resolver the decoded token (frozen: it cannot change what is verified or cached) and verifies with its key. */
  function viaResolver (token: string, lastDot: number, bytes: Buffer | undefined, request: FastifyRequest, header: JwtHeader, payload: JwtClaims, version: number | undefined): VerifyOutcome | PromiseLike<VerifyOutcome> {
    // The shape check's buffer is written over by the next token checked, which may come while the
    // resolver runs (or from inside it): copied before any of the caller's code runs.
    const signature = bytes === undefined ? undefined : Buffer.from(bytes)
    // A resolver that names its issuers has no key for any other `iss`: refused as `jwt.issuer` would
    // refuse it (no `iss` at all is a missing claim, any other a mismatch).
    if (issuers !== undefined && (typeof payload.iss !== 'string' || !issuers.includes(payload.iss))) return payload.iss === undefined ? 'missingClaim' : 'claim'
    const decoded: DecodedJwt = Object.freeze({ header, payload })
    // Called once per verification; its answer is final (no retry, no re-entry).
    const key = (resolver as NonNullable<typeof resolver>)(request, decoded)
    if (isThenable<Resolved>(key)) return bounded(key, resolved => withKey(resolved, token, lastDot, signature, decoded, version))
    return withKey(key, token, lastDot, signature, decoded, version)
  }

  /**
   * A cache hit in resolver mode: the resolver may pick keys by request (tenant by host), so it is
   * asked again with the cached decoded token; the hit counts only if it names the key that verified
   * the token (the same value, or equal key material). Otherwise its answer is verified in full.
   */
  function recheck (hit: CacheEntry, token: string, request: FastifyRequest, version: number | undefined, now: number): VerifyOutcome | PromiseLike<VerifyOutcome> {
    const key = (resolver as NonNullable<typeof resolver>)(request, hit.decoded as DecodedJwt)
    // The clock is read again once an asynchronous resolver answers: that may be after the entry's
    // end (the token's `exp`, `iat + maxAge` or the TTL), and the token is then verified in full.
    if (isThenable<Resolved>(key)) return bounded(key, resolved => reuse(hit, resolved, token, version, Date.now()))
    return reuse(hit, key, token, version, now)
  }

  /** The cached success, if the resolver named the key that verified it and the entry is still current at `now`. */
  function reuse (hit: CacheEntry, key: Resolved, token: string, version: number | undefined, now: number): VerifyOutcome {
    if (now < hit.until && sameKeyOrUnreadable(key, hit.key)) return hit.credential
    // A token in the cache passed the shape check: the check decodes its signature part itself.
    return withKey(key, token, token.indexOf('.', token.indexOf('.') + 1), undefined, hit.decoded as DecodedJwt, version)
  }

  return {
    verify (token, request) {
      const version = resolver?.keysVersion
      if (cache !== null) {
        const now = Date.now()
        const hit = cache.get(token, now, version)
        if (hit !== undefined) return hit.key === undefined ? hit.credential : recheck(hit, token, request, version, now)
      }
      const shape = checkShape(token)
      if (typeof shape === 'string') {
        // Two header lines reach Node joined as `a, b`: say so rather than "malformed".
        return shape === 'malformed' && mayBeJoined(token) && sentMoreThanOnce(request, header) ? 'duplicate' : shape
      }
      // The shape check found exactly two dots. Forward scans only: the signature part is the longest.
      const firstDot = token.indexOf('.')
      let lastDot = shape as number
      let bytes: Buffer | undefined
      if (typeof shape !== 'number') {
        lastDot = token.indexOf('.', firstDot + 1)
        bytes = shape
      }
      const decodedHeader = headers.decode(token.slice(0, firstDot))
      if (decodedHeader === undefined) return 'malformed'
      const payload = decodeObject(token.slice(firstDot + 1, lastDot))
      if (payload === undefined) return 'malformed'
      const algorithm = decodedHeader.alg
      if (typeof algorithm !== 'string' || !pinned.includes(algorithm)) return isNone(algorithm) ? 'unsigned' : 'algorithm'
      if (staticChecks !== undefined) {
        return finish(staticChecks.get(algorithm) as SignatureCheck, token, lastDot, bytes, decodedHeader, payload, undefined, undefined, undefined)
      }
      return viaResolver(token, lastDot, bytes, request, decodedHeader, payload, version)
    }
  }
}

/** `alg: none` in any spelling: an unsigned token. */
function isNone (algorithm: unknown): boolean {
  return typeof algorithm === 'string' && algorithm.toLowerCase() === 'none'
}

/** No key could be read from the resolver's answer: nothing verifies with it. */
const UNREADABLE: KnownKey = Object.freeze({ verifier: 'unusableKey', snapshot: Object.freeze({}) })

/** `sameKey`, with a key whose members throw when read counting as another key (verified in full, and refused). */
function sameKeyOrUnreadable (key: Resolved, cached: JwtKey | undefined): boolean {
  try {
    return sameKey(key, cached)
  } catch {
    return false
  }
}

/**
 * Whether a resolver's answer is the key a cached token verified with (`cached`, as snapshotted
 * then): the same string or KeyObject, or equal key material (bytes, a KeyObject, a JWK's members).
 */
function sameKey (key: Resolved, cached: JwtKey | undefined): boolean {
  if (key === cached) return true
  const kind = kindOf(key)
  if (kind !== kindOf(cached)) return false
  if (kind === 'keyObject') return (key as KeyObject).equals(cached as KeyObject)
  if (kind === 'bytes') return Buffer.compare(key as Uint8Array, cached as Uint8Array) === 0
  return kind === 'object' && sameMembers(key as object, cached as object)
}

/**
 * The members a JWK's key is made from (lib/jwt/keys.ts reads no others). Read by name, as
 * node:crypto reads them: a member that is inherited, not enumerable or a getter counts as well.
 */
const JWK_MEMBERS = ['kty', 'k', 'n', 'e', 'crv', 'x', 'y', 'd', 'alg', 'use'] as const

/** A key object as it is now, each member read once: bytes and JWKs copied (a KeyObject cannot change). */
function snapshotOf (key: Exclude<JwtKey, string>): JwtKey {
  const kind = kindOf(key)
  if (kind === 'keyObject') return key
  // Copied from the view itself (not through `valueOf`, which `Buffer.from` would follow).
  if (kind === 'bytes') return Buffer.copyBytesFrom(key as Uint8Array)
  const copy: Record<string, unknown> = {}
  for (const member of JWK_MEMBERS) {
    const value = (key as Record<string, unknown>)[member]
    if (value !== undefined) copy[member] = value
  }
  return Object.freeze(copy)
}

/** Whether a key object still holds what its snapshot does. */
function unchanged (key: Exclude<JwtKey, string>, snapshot: JwtKey): boolean {
  const kind = kindOf(key)
  if (kind === 'keyObject') return true
  if (kind === 'bytes') return Buffer.compare(key as Uint8Array, snapshot as Uint8Array) === 0
  return sameMembers(key, snapshot as object)
}

/** Whether a JWK's key members are those of a snapshot (key material is strings: `===` compares it). */
function sameMembers (key: object, snapshot: object): boolean {
  for (const member of JWK_MEMBERS) {
    if ((key as Record<string, unknown>)[member] !== (snapshot as Record<string, unknown>)[member]) return false
  }
  return true
}

/** A resolver's key checked and bound once: unusable, fitting none of the pinned algorithms, or its checks. */
function keyVerifier (config: ResolvedJwtOptions, key: JwtKey): KeyVerifier {
  const prepared = prepareKey(key)
  if (typeof prepared === 'string') return 'unusableKey'
  const usable = config.algorithms.filter(algorithm => prepared.algorithms.includes(algorithm))
  if (usable.length === 0) return 'algorithm'
  return keyChecks(usable, prepared.key)
}

/** One signature check per algorithm, all bound to the same KeyObject. */
function keyChecks (algorithms: readonly JwtAlgorithm[], key: KeyObject): KeyChecks {
  return new Map(algorithms.map(algorithm => [algorithm, signatureCheck(algorithm, key)]))
}

/** When a cached success stops counting: the cache TTL, the token's `exp`, or `iat + maxAge`, whichever comes first. */
function lifetimeEnd (claims: JwtClaims, config: ResolvedJwtOptions, ttlEnd: number): number {
  let end = ttlEnd
  if (typeof claims.exp === 'number') end = Math.min(end, claims.exp * 1000 + config.toleranceMs)
  if (config.maxAgeMs !== undefined && typeof claims.iat === 'number') end = Math.min(end, claims.iat * 1000 + config.maxAgeMs)
  return end
}
