import type { FastifyRequest } from 'fastify'
import { createDecoder, createVerifier } from 'fast-jwt'
import { sentMoreThanOnce } from '../extract.js'
import { isThenable } from '../keys/static.js'
import type { TokenVerifier, VerifyOutcome } from '../verifier.js'
import { VerifiedCache } from './cache.js'
import { prepareKey, type PreparedKey } from './keys.js'
import { resolveJwtOptions, type ResolvedJwtOptions } from './options.js'
import { reasonFor } from './reasons.js'
import { checkShape } from './structure.js'
import type { DaprJwtOptions, JwtClaims, JwtHeader, JwtKey, JwtTokenCredential } from './types.js'

/** A fast-jwt verifier bound to one key, with the algorithms it accepts. */
type Verify = ((token: string) => JwtClaims) & { readonly algorithms: readonly string[] }

/** A resolver's answer made usable: the fast-jwt verifier for it, or why it cannot verify anything. */
type KeyVerifier = Verify | 'unusableKey' | 'algorithm'

/** Distinct keys a resolver hands out as strings, remembered with their verifier (an object key lives in a WeakMap). */
const STRING_KEYS_REMEMBERED = 64

/**
 * The JWT mode's `TokenVerifier`. Per request: a cache lookup by the token string (a hit is the whole
 * cost), else a shape check with no crypto, else fast-jwt with the key (static, or from the resolver,
 * called once). Only successes are cached.
 */
export function jwtVerifier (options: DaprJwtOptions, header: string): TokenVerifier {
  const config = resolveJwtOptions(options)
  const { resolver, algorithms } = config
  const cache = config.cache === null ? null : new VerifiedCache(config.cache.max)
  const ttlMs = config.cache === null ? 0 : config.cache.ttlMs
  const decode = createDecoder({ complete: true }) as (token: string) => { header: JwtHeader, payload: JwtClaims }
  const staticVerify = config.staticKey === undefined ? undefined : buildVerify(config, config.staticKey, algorithms)
  const byString = new Map<string, KeyVerifier>()
  const byObject = new WeakMap<object, KeyVerifier>()

  function accept (token: string, claims: JwtClaims, version: number | undefined): JwtTokenCredential {
    const credential: JwtTokenCredential = Object.freeze({ kind: 'jwt' as const, claims: deepFreeze(claims) })
    if (cache !== null) cache.set(token, credential, lifetimeEnd(claims, config, Date.now() + ttlMs), version)
    return credential
  }

  function run (verify: Verify, token: string, version: number | undefined): VerifyOutcome {
    let claims: JwtClaims
    try {
      claims = verify(token)
    } catch (error) {
      return reasonFor(error)
    }
    return accept(token, claims, version)
  }

  function verifierFor (key: JwtKey, algorithm: string): KeyVerifier {
    let known = typeof key === 'string' ? byString.get(key) : byObject.get(key)
    if (known === undefined) {
      known = keyVerifier(config, prepareKey(key))
      if (typeof key === 'string') {
        // Bounded: a resolver cannot grow this without limit.
        if (byString.size >= STRING_KEYS_REMEMBERED) byString.clear()
        byString.set(key, known)
      } else {
        byObject.set(key, known)
      }
    }
    if (typeof known === 'function' && !known.algorithms.includes(algorithm)) return 'algorithm'
    return known
  }

  function withKey (key: JwtKey | null | undefined, token: string, algorithm: string, version: number | undefined): VerifyOutcome {
    if (key === undefined || key === null) return 'unknownKey'
    const verify = verifierFor(key, algorithm)
    return typeof verify === 'string' ? verify : run(verify, token, version)
  }

  function viaResolver (token: string, request: FastifyRequest, version: number | undefined): VerifyOutcome | PromiseLike<VerifyOutcome> {
    let decoded: { header: JwtHeader, payload: JwtClaims }
    try {
      decoded = decode(token)
    } catch (error) {
      return reasonFor(error)
    }
    const algorithm = decoded.header.alg
    if (typeof algorithm !== 'string' || !algorithms.includes(algorithm as never)) {
      return algorithm === 'none' ? 'unsigned' : 'algorithm'
    }
    // Called once per verification; its answer is final (no retry, no re-entry).
    const key = (resolver as NonNullable<typeof resolver>)(request, { header: decoded.header, payload: decoded.payload })
    if (isThenable<JwtKey | null | undefined>(key)) {
      return Promise.resolve(key).then(resolved => withKey(resolved, token, algorithm, version))
    }
    return withKey(key, token, algorithm, version)
  }

  return {
    verify (token, request) {
      const version = resolver?.keysVersion
      if (cache !== null) {
        const hit = cache.get(token, Date.now(), version)
        if (hit !== undefined) return hit
      }
      const shape = checkShape(token)
      if (shape !== undefined) {
        // Two header lines reach Node joined as `a, b`: say so rather than "malformed".
        return shape === 'malformed' && token.includes(', ') && sentMoreThanOnce(request, header) ? 'duplicate' : shape
      }
      if (staticVerify !== undefined) return run(staticVerify, token, undefined)
      return viaResolver(token, request, version)
    }
  }
}

function keyVerifier (config: ResolvedJwtOptions, prepared: PreparedKey | string): KeyVerifier {
  if (typeof prepared === 'string') return 'unusableKey'
  const usable = config.algorithms.filter(algorithm => prepared.algorithms.includes(algorithm))
  if (usable.length === 0) return 'algorithm'
  try {
    return buildVerify(config, prepared, usable)
  /* c8 ignore next 4 */
  } catch {
    // fast-jwt reading a key differently from us must not turn every token into a 500.
    return 'unusableKey'
  }
}

function buildVerify (config: ResolvedJwtOptions, key: PreparedKey, algorithms: readonly string[]): Verify {
  const verify = createVerifier({
    key: key.material,
    algorithms: [...algorithms] as never,
    cache: false,
    clockTolerance: config.toleranceMs,
    maxAge: config.maxAgeMs,
    allowedIss: config.issuer,
    allowedAud: config.audience,
    allowedSub: config.subject,
    requiredClaims: config.requiredClaims
  }) as (token: string) => JwtClaims
  return Object.assign((token: string) => verify(token), { algorithms })
}

/** When a cached success stops counting: the cache TTL, the token's `exp`, or `iat + maxAge`, whichever comes first. */
function lifetimeEnd (claims: JwtClaims, config: ResolvedJwtOptions, ttlEnd: number): number {
  let end = ttlEnd
  if (typeof claims.exp === 'number') end = Math.min(end, claims.exp * 1000 + config.toleranceMs)
  if (config.maxAgeMs !== undefined && typeof claims.iat === 'number') end = Math.min(end, claims.iat * 1000 + config.maxAgeMs)
  return end
}

/** Cached claims are shared by every request that presents the token: no handler may change them. */
function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
