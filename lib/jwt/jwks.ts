import { KeyObject, type webcrypto } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { DaprTokenKeySourceUnavailableError, DaprTokenOptionsError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { DecodedJwt, JwtHeader, JwtKeyResolver } from './types.js'

/**
 * JWKS as a key resolver, built on `jose` (panva): it validates the fetched set, picks the key for
 * a token (`kid`, and a key type and curve that fit `alg`, `use`/`key_ops`) and imports it. The
 * fetch policy is ours, because a verifier in front of every request needs more than jose's
 * `createRemoteJWKSet` gives: it re-throws once its cache is stale and the endpoint is down, and its
 * cooldown counts only successful fetches, so during an outage each unknown-`kid` token would cost
 * a fetch. Here: fetches only from the configured URLs, at most one in flight per URL, at most one
 * per `cooldownMs` to look for an unknown `kid`, each bounded by `timeoutMs`; cached keys keep
 * working while the endpoint is down, and a `kid` that cannot be looked up because it is down is a
 * 503 (a rollover during an outage), never an "unknown key" 401.
 */

/** One trusted issuer: tokens whose `iss` equals `issuer` exactly are checked against `jwksUri`. */
export interface JwksIssuer {
  issuer: string
  /** Default: `<issuer>/.well-known/jwks.json` (the issuer must then be an https URL). */
  jwksUri?: string | URL
}

export interface FromJwksOptions {
  /** The one JWKS endpoint every token is checked against. */
  url?: string | URL
  /**
   * Several issuers, each with its endpoint: a token's `iss` only selects among these (exact match),
   * it never makes the resolver fetch from anywhere else. A token from another issuer (or with an
   * array `iss`): 401 `FST_DAPR_TOKEN_CLAIM_MISMATCH`.
   */
  issuers?: ReadonlyArray<string | JwksIssuer>
  /** Abort a fetch after this long. Default 5000. */
  timeoutMs?: number
  /** At most one fetch per endpoint per this long to look for an unknown `kid`. Default 30000. */
  cooldownMs?: number
  /** Refresh the keys in the background once they are this old (a failure keeps the old keys). Default 600000. */
  maxAgeMs?: number
  /** With no keys cached yet, wait this long after a failed fetch before trying again (503 meanwhile). Default 1000. */
  retryMs?: number
  /** Allow `http:` endpoints that are not on the loopback interface (default: https only, http on 127.0.0.1/localhost/::1). */
  allowHttp?: boolean
  /** Extra request headers for the endpoint. */
  headers?: Record<string, string>
}

/** The resolver `fromJwks` returns: pass it as `jwt.key`. */
export interface JwksResolver extends JwtKeyResolver {
  (request: FastifyRequest, decoded: DecodedJwt): Promise<KeyObject | undefined>
  /** Increases whenever a fetched key set differs from the one before (cached verifications are then dropped). */
  readonly keysVersion: number
  /** With `issuers`: the configured issuers (a token naming another is refused before any lookup). */
  readonly issuers: readonly string[] | undefined
  /** Aborts fetches in flight; afterwards every lookup that needs a fetch fails with a 503. */
  close (): void
}

/** A JWKS document larger than this is refused: a key set is a few kilobytes. */
const MAX_JWKS_BYTES = 1024 * 1024
const JWKS_OPTION_NAMES = ['url', 'issuers', 'timeoutMs', 'cooldownMs', 'maxAgeMs', 'retryMs', 'allowHttp', 'headers'] as const satisfies ReadonlyArray<keyof FromJwksOptions>

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } })
type LocalSet = (header: { alg: string, kid?: string }) => Promise<unknown>

let jose: Promise<Jose> | undefined
/** jose is ESM only: loaded on first use, so the shared-token mode never pays for it. */
async function loadJose (): Promise<Jose> {
  jose ??= import('jose')
  return await jose
}

function fail (message: string): never {
  throw new DaprTokenOptionsError(`fromJwks: ${message}`)
}

function unavailable (cause?: unknown): Error {
  const error = new DaprTokenKeySourceUnavailableError()
  if (cause !== undefined) error.cause = cause
  return error
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

function checkUrl (value: unknown, allowHttp: boolean): string {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    // Not echoed: what was given where the URL belongs may be a secret.
    fail('a value given as a URL is not a URL (not shown: it may be a secret)')
  }
  // fetch refuses such a URL, and an error naming it would show the password.
  if (url.username !== '' || url.password !== '') fail('a JWKS or issuer URL must not carry credentials (not shown): send them with `headers`')
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname)))) {
    // Not echoed either: a path or a query string may carry an API key.
    fail('a JWKS or issuer URL must be https (http only on the loopback interface, or with allowHttp)')
  }
  return url.href
}

function duration (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`\`${name}\` must be a non-negative number of milliseconds`)
  return value
}

/** Why a key set has no key for a token: none fits it, or several do and its `kid` does not tell them apart. */
export type JwksMiss = 'none' | 'several'

/**
 * A parsed JWKS document and the one way this library picks a key from it for a token: jose's
 * `createLocalJWKSet` (`kid`, a key type and curve that fit `alg`, `use`, `key_ops`, the key's own
 * `alg`). `fromJwks` uses it for every set it fetches and the CLI's `verify --jwt-key-file` for a
 * JWKS file, so that both pick the same key, or none, for the same token. Internal, not exported
 * from the package.
 */
export class JwksKeySet {
  readonly #local: LocalSet
  /** jose hands out one CryptoKey per key and algorithm: each becomes a KeyObject once. */
  readonly #objects = new WeakMap<object, KeyObject>()

  private constructor (local: LocalSet) {
    this.#local = local
  }

  /** Throws jose's own error for a document that is no key set (`ERR_JWKS_INVALID`). */
  static async from (document: unknown): Promise<JwksKeySet> {
    const { createLocalJWKSet } = await loadJose()
    return new JwksKeySet(createLocalJWKSet(document as Parameters<typeof createLocalJWKSet>[0]) as unknown as LocalSet)
  }

  /** The key for a token's header, or why there is none; a picked key that cannot be imported throws the 503 error. */
  async find (header: JwtHeader): Promise<KeyObject | JwksMiss> {
    let key: unknown
    try {
      key = await this.#local(header as { alg: string })
    } catch (error) {
      const code = (error as { code?: unknown }).code
      // No key (or an `alg` jose takes none for from a set, HS*), or several (a set with more than
      // one fitting key needs a `kid`): the token's doing.
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JOSE_NOT_SUPPORTED') return 'none'
      if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return 'several'
      // A key in the set that cannot be imported: the key source's fault.
      throw unavailable(error)
    }
    let object = this.#objects.get(key as object)
    if (object === undefined) {
      object = KeyObject.from(key as webcrypto.CryptoKey)
      this.#objects.set(key as object, object)
    }
    return object
  }
}

interface Settings {
  readonly timeoutMs: number
  readonly cooldownMs: number
  readonly maxAgeMs: number
  readonly retryMs: number
  readonly headers: Record<string, string>
  readonly closed: AbortController
  /** Bumped when any endpoint's key set changes. */
  version: number
}

/** One endpoint: its current key set and when it was last fetched or tried. */
class JwksEndpoint {
  #keys: JwksKeySet | undefined
  #text: string | undefined
  #loadedAt = -Infinity
  #triedAt = -Infinity
  #pending: Promise<void> | undefined
  /** Whether the last fetch failed: an unknown `kid` is then a 503 until a fetch succeeds. */
  #failed = false

  constructor (readonly url: string, readonly settings: Settings) {}

  async key (header: JwtHeader, request: FastifyRequest): Promise<KeyObject | undefined> {
    const { cooldownMs, maxAgeMs, retryMs } = this.settings
    const now = Date.now()
    if (this.#keys === undefined) {
      // Nothing cached: a fetch must succeed, but not more often than `retryMs` after a failure.
      if (this.#pending === undefined && now - this.#triedAt < retryMs) throw unavailable()
      try {
        await this.#refresh()
      } catch (error) {
        throw unavailable(error)
      }
    } else if (now - this.#loadedAt >= maxAgeMs && this.#pending === undefined && now - this.#triedAt >= cooldownMs) {
      // Old keys still answer this request; the refresh runs beside it.
      this.#refresh().catch(error => request.log.warn({ err: error, jwks: this.url }, 'JWKS refresh failed: verifying with the cached keys'))
    }
    let found = await (this.#keys as JwksKeySet).find(header)
    if (typeof found === 'string') {
      if (this.#pending !== undefined || Date.now() - this.#triedAt >= cooldownMs) {
        // An unknown `kid` may be a key the issuer just added (a rollover): look again, at a bounded rate.
        try {
          await this.#refresh()
        } catch (error) {
          // Whether the key exists cannot be known while the endpoint is down: the source's failure, not the token's.
          throw unavailable(error)
        }
        found = await (this.#keys as JwksKeySet).find(header)
      } else if (this.#failed) {
        // Within the cooldown after a failed look: still unknowable, and no new fetch.
        throw unavailable()
      }
    }
    return typeof found === 'string' ? undefined : found
  }

  async #refresh (): Promise<void> {
    this.#pending ??= this.#load().then(() => { this.#failed = false }, error => {
      this.#failed = true
      throw error
    }).finally(() => { this.#pending = undefined })
    await this.#pending
  }

  async #load (): Promise<void> {
    const { settings } = this
    this.#triedAt = Date.now()
    if (settings.closed.signal.aborted) throw new Error('fromJwks resolver closed')
    const response = await fetch(this.url, {
      headers: { accept: 'application/jwk-set+json, application/json', ...settings.headers },
      // The allowlist is the URL itself: a redirect elsewhere is refused, not followed.
      redirect: 'error',
      signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), settings.closed.signal])
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new Error(`JWKS endpoint answered HTTP ${response.status}`)
    }
    if (Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
      await response.body?.cancel()
      throw new Error('JWKS document too large')
    }
    const text = await boundedText(response, MAX_JWKS_BYTES)
    const keys = await JwksKeySet.from(JSON.parse(text))
    if (text !== this.#text) {
      if (this.#text !== undefined) settings.version++
      this.#text = text
    }
    this.#keys = keys
    this.#loadedAt = Date.now()
  }
}

/**
 * The body as UTF-8 text, read no further than `limit` bytes: a body sent without a length (chunked)
 * that runs past it is refused as soon as it does, before it fills memory.
 */
async function boundedText (response: Response, limit: number): Promise<string> {
  const chunks: Uint8Array[] = []
  let total = 0
  // A 200 answer to a GET always has a body stream, if an empty one.
  for await (const chunk of response.body as ReadableStream<Uint8Array>) {
    total += chunk.byteLength
    if (total > limit) throw new Error('JWKS document too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total).toString('utf8')
}

/** The resolvers `fromJwks` made: they serve public keys only (a JWKS is public, so a secret in one is no secret). */
const JWKS_RESOLVERS = new WeakSet<object>()

/** Whether `resolver` came from `fromJwks`, whose keys can never verify an HMAC (HS*) token. */
export function isJwksResolver (resolver: object): boolean {
  return JWKS_RESOLVERS.has(resolver)
}

/**
 * A key resolver for `jwt.key` that takes keys from JWKS endpoints, only ever from the ones given
 * here: `url` (one endpoint) or `issuers` (the token's `iss` selects one, by exact match). Use with
 * `jwt.algorithms` set to the public-key algorithms your issuer signs with.
 */
export function fromJwks (options: FromJwksOptions): JwksResolver {
  if (options === null || typeof options !== 'object') fail('options must be an object { url } or { issuers }')
  checkOptionNames(options, JWKS_OPTION_NAMES, { source: 'fromJwks' })
  const allowHttp = options.allowHttp === true
  const settings: Settings = {
    timeoutMs: duration('timeoutMs', options.timeoutMs, 5000),
    cooldownMs: duration('cooldownMs', options.cooldownMs, 30_000),
    maxAgeMs: duration('maxAgeMs', options.maxAgeMs, 600_000),
    retryMs: duration('retryMs', options.retryMs, 1000),
    headers: { ...options.headers },
    closed: new AbortController(),
    version: 0
  }

  let resolve: (request: FastifyRequest, decoded: DecodedJwt) => Promise<KeyObject | undefined>
  let issuers: readonly string[] | undefined
  if (options.url !== undefined) {
    if (options.issuers !== undefined) fail('pass either `url` or `issuers`, not both')
    const endpoint = new JwksEndpoint(checkUrl(options.url, allowHttp), settings)
    resolve = async (request, decoded) => await endpoint.key(decoded.header, request)
  } else {
    if (!Array.isArray(options.issuers) || options.issuers.length === 0) fail('pass `url`, or `issuers` as a non-empty array')
    const byIssuer = new Map<string, JwksEndpoint>()
    for (const [index, entry] of options.issuers.entries()) {
      if (typeof entry === 'object' && entry !== null) checkOptionNames(entry, ['issuer', 'jwksUri'], { source: 'fromJwks', prefix: `issuers[${index}].` })
      const { issuer, jwksUri } = typeof entry === 'string' ? { issuer: entry, jwksUri: undefined } : entry
      if (typeof issuer !== 'string' || issuer === '') fail('each issuer must be a non-empty string')
      const url = jwksUri ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`
      byIssuer.set(issuer, new JwksEndpoint(checkUrl(url, allowHttp), settings))
    }
    issuers = Object.freeze([...byIssuer.keys()])
    resolve = async (request, decoded) => {
      const issuer = decoded.payload.iss
      // The unverified `iss` only picks among the configured issuers; the signature decides the rest.
      const endpoint = typeof issuer === 'string' ? byIssuer.get(issuer) : undefined
      return endpoint === undefined ? undefined : await endpoint.key(decoded.header, request)
    }
  }

  JWKS_RESOLVERS.add(resolve)
  return Object.defineProperties(resolve, {
    keysVersion: { get: () => settings.version, enumerable: true },
    issuers: { value: issuers, enumerable: true },
    close: { value: () => settings.closed.abort(), enumerable: true }
  }) as JwksResolver
}
