import { DaprTokenOptionsError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import { ALL_ALGORITHMS, HMAC_LENGTH_RULE, isHmac } from './algorithms.js'
import { isJwksResolver } from './jwks.js'
import { prepareKey, type PreparedKey } from './keys.js'
import type { DaprJwtOptions, JwtAlgorithm, JwtKeyResolver } from './types.js'

/** The `jwt` option checked once at registration, durations in milliseconds (as `Date.now()` counts). */
export interface ResolvedJwtOptions {
  readonly algorithms: readonly JwtAlgorithm[]
  readonly staticKey: PreparedKey | undefined
  readonly resolver: JwtKeyResolver | undefined
  /** The resolver's own `issuers`, copied at registration: a token naming another `iss` never reaches it. */
  readonly resolverIssuers: readonly string[] | undefined
  readonly issuer: string[] | undefined
  readonly audience: string[] | undefined
  readonly subject: string[] | undefined
  readonly toleranceMs: number
  readonly maxAgeMs: number | undefined
  /** `requiredClaims`, plus each claim an allowed-value option names (the claim rules skip absent claims). */
  readonly requiredClaims: string[]
  readonly cache: { readonly max: number, readonly ttlMs: number } | null
  readonly resolverTimeoutMs: number
}

const JWT_OPTION_NAMES = ['key', 'algorithms', 'issuer', 'audience', 'subject', 'clockTolerance', 'maxAge', 'requiredClaims', 'cache', 'resolverTimeoutMs'] as const satisfies ReadonlyArray<keyof DaprJwtOptions>
const DEFAULT_CACHE = { max: 1000, ttl: 60 }
/** Longer than `fromJwks`'s own fetch timeout (5 s), so a slow JWKS fails with its own cause first. */
const DEFAULT_RESOLVER_TIMEOUT_MS = 10_000
/** setTimeout's largest delay: a longer one fires at once. */
const MAX_TIMEOUT_MS = 2_147_483_647

function fail (message: string): never {
  throw new DaprTokenOptionsError(message)
}

function seconds (name: string, value: unknown, positive: boolean): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    fail(`\`jwt.${name}\` must be a ${positive ? 'positive' : 'non-negative'} number of seconds`)
  }
  return value * 1000
}

/**
 * `value` as a plain array of non-empty strings (a string on its own when `single`), or `undefined`
 * when it is not one. A copy: a list is checked once, at registration, and no later change to the
 * caller's array (or an `includes` of its own) can alter what is allowed.
 */
export function nonEmptyStrings (value: unknown, single: boolean): string[] | undefined {
  const list: unknown = single && typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || !list.every(entry => typeof entry === 'string' && entry !== '')) return undefined
  return [...list] as string[]
}

function claimMatch (name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  return nonEmptyStrings(value, true) ?? fail(`\`jwt.${name}\` must be a non-empty string or a non-empty array of them`)
}

/**
 * A resolver's `issuers` (set by `fromJwks({ issuers })`), read once and copied, so that checking a
 * token's `iss` runs none of the caller's code and sees no later change.
 */
function resolverIssuers (resolver: JwtKeyResolver): readonly string[] | undefined {
  const issuers: unknown = resolver.issuers
  if (issuers === undefined) return undefined
  return Object.freeze(nonEmptyStrings(issuers, false) ?? fail('`jwt.key`: the resolver\'s `issuers` must be a non-empty array of issuer strings'))
}

function checkAlgorithms (value: unknown): JwtAlgorithm[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0) fail('`jwt.algorithms` must be a non-empty array, such as [\'RS256\']')
  for (const algorithm of value) {
    if (typeof algorithm === 'string' && algorithm.toLowerCase() === 'none') fail('`jwt.algorithms` must not include \'none\': unsigned tokens are never accepted')
    if (typeof algorithm !== 'string' || !ALL_ALGORITHMS.has(algorithm)) fail(`\`jwt.algorithms\`: unsupported algorithm ${JSON.stringify(algorithm)}`)
  }
  const hmac = value.filter(isHmac).length
  if (hmac !== 0 && hmac !== value.length) {
    fail('`jwt.algorithms` must not mix HMAC (HS*) and public-key algorithms: one key cannot safely serve both')
  }
  return [...new Set(value as JwtAlgorithm[])]
}

function checkCache (value: unknown): ResolvedJwtOptions['cache'] {
  if (value === false) return null
  if (value === undefined || value === true) return { max: DEFAULT_CACHE.max, ttlMs: DEFAULT_CACHE.ttl * 1000 }
  if (value === null || typeof value !== 'object') fail('`jwt.cache` must be true, false or { max, ttl }')
  checkOptionNames(value, ['max', 'ttl'], { prefix: 'jwt.cache.' })
  const { max = DEFAULT_CACHE.max, ttl = DEFAULT_CACHE.ttl } = value as { max?: unknown, ttl?: unknown }
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) fail('`jwt.cache.max` must be a positive integer')
  return { max, ttlMs: seconds('cache.ttl', ttl, true) as number }
}

function checkResolverTimeout (value: unknown): number {
  if (value === undefined) return DEFAULT_RESOLVER_TIMEOUT_MS
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    fail(`\`jwt.resolverTimeoutMs\` must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`)
  }
  return value
}

/** Validates the `jwt` option; every mistake throws `FST_DAPR_TOKEN_OPTIONS` with what to change. */
export function resolveJwtOptions (options: DaprJwtOptions): ResolvedJwtOptions {
  if (options === null || typeof options !== 'object') fail('`jwt` must be an object such as { key, algorithms }')
  checkOptionNames(options, JWT_OPTION_NAMES, { prefix: 'jwt.' })
  const configured = checkAlgorithms(options.algorithms)
  let algorithms: readonly JwtAlgorithm[]
  let staticKey: PreparedKey | undefined
  let resolver: JwtKeyResolver | undefined
  let issuers: readonly string[] | undefined

  if (typeof options.key === 'function') {
    if (configured === undefined) fail('`jwt.algorithms` is required with a key resolver, such as [\'RS256\']')
    resolver = options.key
    issuers = resolverIssuers(resolver)
    if (isJwksResolver(resolver) && configured.some(isHmac)) {
      fail('`jwt.algorithms`: fromJwks serves public keys, which never verify an HMAC (HS*) token: pin the algorithms your issuer signs with, such as [\'RS256\']')
    }
    algorithms = configured
  } else {
    if (options.key === undefined || options.key === null) fail('`jwt.key` is required: a secret, a public key, a JWK or a resolver')
    const prepared = prepareKey(options.key)
    if (typeof prepared === 'string') fail(`\`jwt.key\`: ${prepared}`)
    // Text or bytes that read as no public key are a secret only by elimination: a public key in a
    // form not read here would become one, and HS256 tokens signed with it would pass. Only an
    // explicit HMAC pin says it is meant as a secret.
    if (prepared.unmarked && (configured === undefined || !configured.every(isHmac))) {
      fail('`jwt.key` reads as no public key (PEM, SPKI, PKCS#1 or certificate DER as bytes, base64 or hex, or a JWK), so it would be an HMAC secret: say so with `algorithms: [\'HS256\']` (or HS384, HS512), or give the public key in one of those forms')
    }
    // With no `algorithms`, the single algorithm the key's type implies: never a family.
    algorithms = configured ?? prepared.algorithms.slice(0, 1)
    const unfit = algorithms.filter(algorithm => !prepared.algorithms.includes(algorithm))
    if (unfit.length > 0 || algorithms.length === 0) {
      const rule = prepared.hmac ? `; ${HMAC_LENGTH_RULE}` : ''
      fail(`\`jwt.algorithms\` ${unfit.join(', ')} cannot be verified with this ${prepared.hmac ? 'HMAC secret' : 'public key'} (it fits ${prepared.algorithms.join(', ')})${rule}`)
    }
    staticKey = prepared
  }

  const issuer = claimMatch('issuer', options.issuer)
  if (issuer !== undefined && issuers !== undefined && !issuer.some(name => issuers.includes(name))) {
    fail(`\`jwt.issuer\` allows none of the resolver's issuers (${issuers.join(', ')}): every token would be refused`)
  }
  const audience = claimMatch('audience', options.audience)
  const subject = claimMatch('subject', options.subject)
  const maxAgeMs = seconds('maxAge', options.maxAge, true)
  const requiredClaims = options.requiredClaims ?? []
  if (!Array.isArray(requiredClaims) || !requiredClaims.every(claim => typeof claim === 'string' && claim !== '')) {
    fail('`jwt.requiredClaims` must be an array of claim names')
  }
  const required = new Set(requiredClaims)
  if (issuer !== undefined) required.add('iss')
  if (audience !== undefined) required.add('aud')
  if (subject !== undefined) required.add('sub')
  if (maxAgeMs !== undefined) required.add('iat')

  return {
    algorithms,
    staticKey,
    resolver,
    resolverIssuers: issuers,
    issuer,
    audience,
    subject,
    toleranceMs: seconds('clockTolerance', options.clockTolerance, false) ?? 0,
    maxAgeMs,
    requiredClaims: [...required],
    cache: checkCache(options.cache),
    resolverTimeoutMs: checkResolverTimeout(options.resolverTimeoutMs)
  }
}
