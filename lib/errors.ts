import createError from '@fastify/error'

/*
 * Every error this library raises or answers with. Client-caused refusals are created without a
 * stack trace: a flood of bad tokens must not pay for stack capture, and their stack says nothing.
 * No message ever interpolates a token.
 */

/** No token header on the request (or an empty one). */
export const DaprTokenMissingError = createError(
  'FST_DAPR_TOKEN_MISSING', 'Missing Dapr API token', 401, Error, false)

/** A token was presented and no valid key accepts it. */
export const DaprTokenInvalidError = createError(
  'FST_DAPR_TOKEN_INVALID', 'Invalid Dapr API token', 401, Error, false)

/** The token header was sent more than once; refused even if one of the values is valid. */
export const DaprTokenDuplicateError = createError(
  'FST_DAPR_TOKEN_DUPLICATE', 'More than one Dapr API token header', 401, Error, false)

/** No token is configured (option empty, env var unset or blank): the plugin fails closed at start. */
export const DaprTokenNotConfiguredError = createError<'FST_DAPR_TOKEN_NOT_CONFIGURED', 500, [string]>(
  'FST_DAPR_TOKEN_NOT_CONFIGURED',
  'No Dapr API token is configured: set the %s environment variable, or pass the `token` or `keyResolver` option',
  500)

/** The plugin options are wrong; thrown at registration with a sentence that says what to change. */
export const DaprTokenOptionsError = createError<'FST_DAPR_TOKEN_OPTIONS', 500, [string]>(
  'FST_DAPR_TOKEN_OPTIONS', 'Invalid fastify-dapr-token-auth options: %s', 500, TypeError)

/** The key resolver answered with no usable token: logged at error, answered as a generic 500. */
export const DaprTokenNoKeysError = createError(
  'FST_DAPR_TOKEN_NO_KEYS', 'The key resolver returned no usable token', 500)

/** The key resolver threw, rejected or returned no keys: a server fault, answered without internals. */
export const DaprTokenResolverError = createError(
  'FST_DAPR_TOKEN_RESOLVER_FAILED', 'Dapr API token verification is unavailable', 500)

/** JWT: not a compact JWS (three base64url parts with JSON header and payload). Rejected before any crypto. */
export const DaprTokenMalformedError = createError(
  'FST_DAPR_TOKEN_MALFORMED', 'Malformed Dapr API token', 401, Error, false)

/** JWT: an unsigned token (`alg: none`, empty signature part). */
export const DaprTokenUnsignedError = createError(
  'FST_DAPR_TOKEN_UNSIGNED', 'Unsigned Dapr API token', 401, Error, false)

/** JWT: the token's `alg` is not one of the pinned algorithms, or does not fit the key it names. */
export const DaprTokenAlgorithmError = createError(
  'FST_DAPR_TOKEN_ALGORITHM', 'Dapr API token algorithm not allowed', 401, Error, false)

/** JWT: the signature does not verify with the key. */
export const DaprTokenBadSignatureError = createError(
  'FST_DAPR_TOKEN_BAD_SIGNATURE', 'Invalid Dapr API token signature', 401, Error, false)

/** JWT: `exp` is past (beyond the clock tolerance), or the token is older than `maxAge`. */
export const DaprTokenExpiredError = createError(
  'FST_DAPR_TOKEN_EXPIRED', 'Expired Dapr API token', 401, Error, false)

/** JWT: `nbf` is in the future (beyond the clock tolerance). */
export const DaprTokenNotYetValidError = createError(
  'FST_DAPR_TOKEN_NOT_YET_VALID', 'Dapr API token not yet valid', 401, Error, false)

/** JWT: `iss`, `aud` or `sub` is not an allowed value (or has the wrong type, such as an array `iss`). */
export const DaprTokenClaimMismatchError = createError(
  'FST_DAPR_TOKEN_CLAIM_MISMATCH', 'Dapr API token claim not allowed', 401, Error, false)

/** JWT: a claim listed in `requiredClaims` is absent. */
export const DaprTokenMissingClaimError = createError(
  'FST_DAPR_TOKEN_MISSING_CLAIM', 'Dapr API token lacks a required claim', 401, Error, false)

/** JWT: no key is known for the token (the resolver or the JWKS has nothing for its `kid`/`iss`). */
export const DaprTokenUnknownKeyError = createError(
  'FST_DAPR_TOKEN_UNKNOWN_KID', 'Unknown Dapr API token key', 401, Error, false)

/** JWT: the key resolver returned an empty or unusable key: refused, never used as an HMAC secret. */
export const DaprTokenUnusableKeyError = createError(
  'FST_DAPR_TOKEN_UNUSABLE_KEY', 'No usable key for the Dapr API token', 401, Error, false)

/** JWT: the key source (a JWKS endpoint) cannot be reached and no key is cached: a generic 503, logged at error. */
export const DaprTokenKeySourceUnavailableError = createError(
  'FST_DAPR_TOKEN_KEY_SOURCE_UNAVAILABLE', 'Dapr API token verification is temporarily unavailable', 503)

/**
 * Why a request was refused, and the error each reason is answered with. Modes that verify more
 * (JWT) add their reasons here, so the hook, the logs and the refusal stay one mechanism.
 */
export const refusalErrors = {
  missing: DaprTokenMissingError,
  invalid: DaprTokenInvalidError,
  duplicate: DaprTokenDuplicateError,
  malformed: DaprTokenMalformedError,
  unsigned: DaprTokenUnsignedError,
  algorithm: DaprTokenAlgorithmError,
  signature: DaprTokenBadSignatureError,
  expired: DaprTokenExpiredError,
  notYetValid: DaprTokenNotYetValidError,
  claim: DaprTokenClaimMismatchError,
  missingClaim: DaprTokenMissingClaimError,
  unknownKey: DaprTokenUnknownKeyError,
  unusableKey: DaprTokenUnusableKeyError
} as const

export type RefusalReason = keyof typeof refusalErrors

/** The error a refused request carries to `done(err)`, an `errorResponse` function and the error handler. */
export type DaprTokenRefusalError = InstanceType<(typeof refusalErrors)[RefusalReason]>

/*
 * A refusal is made the way `new refusalErrors[reason]()` makes it, minus the constructor call:
 * @fastify/error's constructor is one function shared by every error class (it formats the
 * message and gathers its arguments on each call), and in a process that refuses for several
 * reasons it cost about 60 ns a refusal, a third of refusing a request (bench/micro.ts,
 * `app-refuse`). The result is the same: the class's prototype, the same own properties with the
 * same values in the same order, no stack. Should @fastify/error give its errors other own
 * properties, the constructor is used again.
 */
const REFUSAL_FIELDS = ['code', 'name', 'statusCode', 'message'] as const
type RefusalFields = Pick<DaprTokenRefusalError, typeof REFUSAL_FIELDS[number]>
const refusalTemplates = Object.fromEntries(Object.entries(refusalErrors)
  .map(([reason, Refusal]) => [reason, new Refusal() as RefusalFields])) as Record<RefusalReason, RefusalFields>
const copyRefusals = Object.values(refusalTemplates)
  .every(template => Object.getOwnPropertyNames(template).join() === REFUSAL_FIELDS.join())

/** A fresh refusal error for `reason`, as its class's constructor makes one. */
export function refusalError (reason: RefusalReason): DaprTokenRefusalError {
  const Refusal = refusalErrors[reason]
  if (!copyRefusals) return new Refusal()
  const template = refusalTemplates[reason]
  const error = Object.create(Refusal.prototype) as RefusalFields
  error.code = template.code
  error.name = template.name
  error.statusCode = template.statusCode
  error.message = template.message
  return error as DaprTokenRefusalError
}

/**
 * A key source failed (file missing, unreadable, empty, unparsable, its directory unwatchable),
 * naming the source and the cause, never the content. At start it makes `ready()` fail; later the
 * source keeps serving its last good keys and reports this error in its state.
 */
export const DaprTokenKeySourceError = createError<'FST_DAPR_TOKEN_KEY_SOURCE', 500, [string, string]>(
  'FST_DAPR_TOKEN_KEY_SOURCE', 'Dapr API token key source %s failed: %s', 500)
