import type { JsonWebKey, KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

/** The registered claims (RFC 7519 section 4.1) plus whatever else the issuer put in. */
export interface JwtClaims {
  iss?: string
  sub?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  jti?: string
  [claim: string]: unknown
}

/**
 * The claims `request.daprToken.claims` is typed with. Add your own by module augmentation:
 *
 *     declare module 'fastify-dapr-token-auth' {
 *       interface DaprJwtClaims { tenant: string }
 *     }
 */
export interface DaprJwtClaims extends JwtClaims {}

/** What `request.daprToken` holds after a JWT verified: its claims (deeply frozen), never the token. */
export interface JwtTokenCredential<Claims extends object = DaprJwtClaims> {
  readonly kind: 'jwt'
  readonly claims: Readonly<Claims>
}

/** The JOSE header of a token; unverified when a key resolver sees it. */
export interface JwtHeader {
  alg?: unknown
  kid?: unknown
  typ?: unknown
  [parameter: string]: unknown
}

/** A token decoded but NOT verified yet: pick a key from it, trust nothing else in it. */
export interface DecodedJwt {
  header: JwtHeader
  payload: JwtClaims
}

/**
 * A verification key: an HMAC secret (string or bytes), a public key (PEM, bare base64 SPKI, DER
 * bytes or an X.509 certificate: never taken as an HMAC secret), a JWK (public, or `kty: 'oct'`), or
 * a `KeyObject` (secret or public). Private keys are refused.
 */
export type JwtKey = string | Uint8Array | KeyObject | JsonWebKey

/**
 * Picks the key for one token, typically by `decoded.header.kid` (and, for several issuers, by
 * `decoded.payload.iss`, matched against your own list). Called once per verification, and again
 * on each cache hit (with the cached decoded token): the hit counts only if it names the same key,
 * so a resolver may pick keys by request (tenant by host). Return nothing (or any non-key value)
 * for an unknown key (401 `FST_DAPR_TOKEN_UNKNOWN_KID`); throw or reject only when the key source
 * itself fails (a clean 5xx). A promise is awaited at most `resolverTimeoutMs` (then a 503).
 */
export interface JwtKeyResolver {
  (request: FastifyRequest, decoded: DecodedJwt): JwtKey | null | undefined | PromiseLike<JwtKey | null | undefined>
  /**
   * Optional: a value that changes whenever the keys the resolver hands out change. Cached
   * verifications made under another value are dropped. `fromJwks` maintains it.
   */
  readonly keysVersion?: number
  /**
   * Optional: the only `iss` values this resolver has keys for. A token with another `iss` (or a
   * non-string one) is refused as a claim mismatch (401 `FST_DAPR_TOKEN_CLAIM_MISMATCH`) without
   * asking the resolver. `fromJwks({ issuers })` sets it. Read and copied once, at registration:
   * a non-empty array of strings, or registration fails with `FST_DAPR_TOKEN_OPTIONS`.
   */
  readonly issuers?: readonly string[]
}

/** JWS algorithms this library verifies. `none` is not one of them. */
export type JwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'

/** A claim must equal this value, or one of these values. */
export type ClaimMatch = string | readonly string[]

/** The `jwt` option: verify the header value as a signed JWT instead of a shared token. */
export interface DaprJwtOptions {
  /** The key, or a resolver picking one per token (by `kid`); see `fromJwks` for a JWKS endpoint. */
  key: JwtKey | JwtKeyResolver
  /**
   * The accepted algorithms, all HMAC or all public-key. Optional with a static key: then the one
   * algorithm its type implies (HS256, RS256, ES256/ES384/ES512 by curve, EdDSA). Required with a resolver.
   */
  algorithms?: readonly JwtAlgorithm[]
  /** Allowed `iss` (a string claim; an array `iss` is refused). */
  issuer?: ClaimMatch
  /** Allowed `aud` (the token's `aud` may be an array: one allowed value in it suffices). */
  audience?: ClaimMatch
  /** Allowed `sub`. */
  subject?: ClaimMatch
  /** Seconds of clock skew tolerated on `exp` and `nbf`. Default 0. */
  clockTolerance?: number
  /** Seconds: refuse tokens whose `iat` is older than this (`iat` becomes required). */
  maxAge?: number
  /** Claims that must be present, such as `['exp']`. */
  requiredClaims?: readonly string[]
  /**
   * Cache of successful verifications, keyed by the token itself (a caller sends the same token on
   * every request). Never past the token's `exp`, dropped when the resolver's keys change.
   * Default `{ max: 1000, ttl: 60 }` (entries, seconds). `false` turns it off.
   */
  cache?: boolean | { max?: number, ttl?: number }
  /**
   * Milliseconds to wait for a key resolver's promise; past it the request gets a 503
   * `FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE`, logged at error. Default 10000.
   */
  resolverTimeoutMs?: number
}
