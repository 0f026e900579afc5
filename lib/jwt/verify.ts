import { KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { createDecoder, createVerifier } from 'fast-jwt'
import { DaprTokenKeySourceUnavailableError } from '../errors.js'
import { sentMoreThanOnce } from '../extract.js'
import { isThenable } from '../thenable.js'
import type { TokenVerifier, VerifyOutcome } from '../verifier.js'
import { VerifiedCache, type CacheEntry } from './cache.js'
import { prepareKey, type PreparedKey } from './keys.js'
import { resolveJwtOptions, type ResolvedJwtOptions } from './options.js'
import { reasonFor } from './reasons.js'
import { checkShape } from './structure.js'
import type { DaprJwtOptions, DecodedJwt, JwtClaims, JwtHeader, JwtKey, JwtTokenCredential } from './types.js'

/** A fast-jwt verifier bound to one key, with the algorithms it accepts. */
type Verify = ((token: string) => JwtClaims) & { readonly algorithms: readonly string[] }

/** A resolver's answer made usable: the fast-jwt verifier for it, or why it cannot verify anything. */
type KeyVerifier = Verify | 'unusableKey' | 'algorithm'

/** Distinct keys a resolver hands out as strings, remembered with their verifier (an object key lives in a WeakMap). */
const STRING_KEYS_REMEMBERED = 64

type Resolved = JwtKey | null | undefined

/**
 * The JWT mode's `TokenVerifier`. Per request: a cache lookup by the token string (with a static key
 * a hit is the whole cost; with a resolver, the resolver is asked again and the hit counts only if it
 * names the key that verified the token), else a shape check with no crypto, else fast-jwt with the
 * key (static, or from the resolver, called once). Only successes are cached.
 */
export function jwtVerifier (options: DaprJwtOptions, header: string): TokenVerifier {
  const config = resolveJwtOptions(options)
  const { resolver, algorithms, resolverTimeoutMs } = config
  const issuers = resolver?.issuers
  const cache = config.cache === null ? null : new VerifiedCache(config.cache.max)
  const ttlMs = config.cache === null ? 0 : config.cache.ttlMs
  const decode = createDecoder({ complete: true }) as (token: string) => { header: JwtHeader, payload: JwtClaims }
  const staticVerify = config.staticKey === undefined ? undefined : buildVerify(config, config.staticKey, algorithms)
  const byString = new Map<string, KeyVerifier>()
  const byObject = new WeakMap<object, KeyVerifier>()

  function accept (token: string, claims: JwtClaims, version: number | undefined, key: JwtKey | undefined, header: JwtHeader | undefined): JwtTokenCredential {
    const credential: JwtTokenCredential = Object.freeze({ kind: 'jwt' as const, claims: deepFreeze(claims) })
    if (cache !== null) {
      // The resolver is shown this on later hits: frozen, so it cannot change what the next one sees.
      const decoded = header === undefined ? undefined : Object.freeze({ header: deepFreeze(header), payload: credential.claims as JwtClaims })
      cache.set(token, credential, lifetimeEnd(claims, config, Date.now() + ttlMs), version, key, decoded)
    }
    return credential
  }

  function run (verify: Verify, token: string, version: number | undefined, key?: JwtKey, header?: JwtHeader): VerifyOutcome {
    let claims: JwtClaims
    try {
      claims = verify(token)
    } catch (error) {
      const reason = reasonFor(error)
      // fast-jwt calls `alg: none` with a signature part an algorithm error: it is an unsigned token in every mode.
      return reason === 'algorithm' && isNone(headerOf(token)?.alg) ? 'unsigned' : reason
    }
    return accept(token, claims, version, key, header)
  }

  function headerOf (token: string): JwtHeader | undefined {
    try {
      return decode(token).header
    /* c8 ignore next 4 */
    } catch {
      // fast-jwt decoded the token to find its alg wrong, so this cannot fail; a refusal must never throw.
      return undefined
    }
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

  function withKey (key: Resolved, token: string, header: JwtHeader, version: number | undefined): VerifyOutcome {
    // Nothing, or something that is no key at all (false, 0, a number): no key is known for the token.
    if (typeof key !== 'string' && (key === null || typeof key !== 'object')) return 'unknownKey'
    const verify = verifierFor(key, header.alg as string)
    return typeof verify === 'string' ? verify : run(verify, token, version, key, header)
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

  function ask (request: FastifyRequest, decoded: DecodedJwt, then: (key: Resolved) => VerifyOutcome): VerifyOutcome | PromiseLike<VerifyOutcome> {
    const key = (resolver as NonNullable<typeof resolver>)(request, decoded)
    return isThenable<Resolved>(key) ? bounded(key, then) : then(key)
  }

  function viaResolver (token: string, request: FastifyRequest, version: number | undefined): VerifyOutcome | PromiseLike<VerifyOutcome> {
    let decoded: { header: JwtHeader, payload: JwtClaims }
    try {
      decoded = decode(token)
    } catch (error) {
      return reasonFor(error)
    }
    const { header, payload } = decoded
    const algorithm = header.alg
    if (typeof algorithm !== 'string' || !algorithms.includes(algorithm as never)) {
      return isNone(algorithm) ? 'unsigned' : 'algorithm'
    }
    // A resolver that names its issuers has no key for any other `iss`: the claim is wrong, as with `issuer`.
    if (issuers !== undefined && (typeof payload.iss !== 'string' || !issuers.includes(payload.iss))) return 'claim'
    // Called once per verification; its answer is final (no retry, no re-entry).
    return ask(request, { header, payload }, key => withKey(key, token, header, version))
  }

  /**
   * A cache hit in resolver mode: the resolver may pick keys by request (tenant by host), so it is
   * asked again with the cached decoded token; the hit counts only if it names the key that verified
   * the token (the same value, or equal key material). Otherwise its answer is verified in full.
   */
  function recheck (hit: CacheEntry, token: string, request: FastifyRequest, version: number | undefined): VerifyOutcome | PromiseLike<VerifyOutcome> {
    const decoded = hit.decoded as DecodedJwt
    return ask(request, decoded, key => sameKey(key, hit.key) ? hit.credential : withKey(key, token, decoded.header, version))
  }

  return {
    verify (token, request) {
      const version = resolver?.keysVersion
      if (cache !== null) {
        const hit = cache.get(token, Date.now(), version)
        if (hit !== undefined) return hit.key === undefined ? hit.credential : recheck(hit, token, request, version)
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

/** `alg: none` in any spelling: an unsigned token. */
function isNone (algorithm: unknown): boolean {
  return typeof algorithm === 'string' && algorithm.toLowerCase() === 'none'
}

/** Whether a resolver's answer is the key a cached token verified with: the same value, or the same key material. */
function sameKey (key: Resolved, cached: JwtKey | undefined): boolean {
  if (key === cached) return true
  if (key instanceof KeyObject) return cached instanceof KeyObject && key.equals(cached)
  if (key instanceof Uint8Array) return cached instanceof Uint8Array && Buffer.compare(key, cached) === 0
  return false
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

/**
 * Cached claims are shared by every request that presents the token: no handler may change them.
 * Iterative, so claims nested however deep cannot overflow the stack.
 */
function deepFreeze<T> (value: T): T {
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const next = pending.pop()
    if (next !== null && typeof next === 'object' && !Object.isFrozen(next)) {
      Object.freeze(next)
      for (const inner of Object.values(next)) pending.push(inner)
    }
  }
  return value
}
