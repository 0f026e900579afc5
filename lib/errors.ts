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

/**
 * Why a request was refused, and the error each reason is answered with. Modes that verify more
 * (JWT) add their reasons here, so the hook, the logs and the refusal stay one mechanism.
 */
export const refusalErrors = {
  missing: DaprTokenMissingError,
  invalid: DaprTokenInvalidError,
  duplicate: DaprTokenDuplicateError
} as const

export type RefusalReason = keyof typeof refusalErrors

/** The error a refused request carries to `done(err)`, an `errorResponse` function and the error handler. */
export type DaprTokenRefusalError = InstanceType<(typeof refusalErrors)[RefusalReason]>

/**
 * A key source failed (file missing, unreadable, empty, unparsable, its directory unwatchable),
 * naming the source and the cause, never the content. At start it makes `ready()` fail; later the
 * source keeps serving its last good keys and reports this error in its state.
 */
export const DaprTokenKeySourceError = createError<'FST_DAPR_TOKEN_KEY_SOURCE', 500, [string, string]>(
  'FST_DAPR_TOKEN_KEY_SOURCE', 'Dapr API token key source %s failed: %s', 500)
