import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { buildHook, type DaprTokenHook } from './hook.js'
import { DaprTokenOptionsError } from './errors.js'
import { lifecycleOf } from './keys/source.js'
import { resolveOptions, type DaprTokenAuthOptions } from './options.js'
import type { DaprTokenCredential } from './verifier.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Which credential the request presented, once verified; `null` before, on exempt routes, or when auth is off. */
    daprToken: DaprTokenCredential | null
  }
  interface FastifyInstance {
    /** The verification step alone, for a route's `onRequest` or `@fastify/auth`: calls `done(error)`, never replies. */
    verifyDaprToken: DaprTokenHook
  }
  interface FastifyContextConfig {
    /** `false` exempts this route from the Dapr API token check. */
    daprTokenAuth?: boolean
  }
}

const plugin: FastifyPluginCallback<DaprTokenAuthOptions> = function daprTokenAuthPlugin (fastify, options, done) {
  // Thrown synchronously from a callback plugin, an error escapes avvio as an uncaught exception and
  // crashes the process; through done() it rejects register()/ready() as it should.
  try {
    setup(fastify, options)
  } catch (error) {
    return done(error as Error)
  }
  done()
}

function setup (fastify: FastifyInstance, options: DaprTokenAuthOptions): void {
  if (fastify.hasRequestDecorator('daprToken')) {
    throw new DaprTokenOptionsError('the plugin is already registered on this instance or a parent of it: register it once per encapsulation context (sibling plugins may each have their own)')
  }
  const resolved = resolveOptions(options)
  const verifier = resolved.verifier

  fastify.decorateRequest('daprToken', null)

  // A key source with a lifecycle (fromFile, fromEnv, jwtKeyFrom, fromJwks, your own) gets the
  // plugin's logger, fails registration when it has no keys, and is released when the instance closes.
  const lifecycle = lifecycleOf(options.keyResolver ?? options.jwt?.key)
  if (lifecycle !== null) {
    fastify.addHook('onClose', (_instance, next) => { lifecycle.close(); next() })
    lifecycle.open(fastify.log)
  }

  if (verifier === null) {
    // `unconfigured` is set whenever no verifier could be built.
    const notConfigured = resolved.unconfigured as Error
    if (resolved.whenUnconfigured === 'fail') throw notConfigured
    fastify.log.warn('fastify-dapr-token-auth: no Dapr API token configured and whenUnconfigured is \'allow\': every request passes unauthenticated')
    fastify.decorate('verifyDaprToken', function verifyDaprTokenDisabled (_request, _reply, next) { next() } satisfies DaprTokenHook)
    return
  }

  fastify.decorate('verifyDaprToken', buildHook(resolved, verifier, true))
  if (resolved.addHook) fastify.addHook('onRequest', buildHook(resolved, verifier, false))
}

/** The plugin: `fastify.register(daprTokenAuth, options)`. */
export const daprTokenAuth = fp(plugin, { fastify: '5.x', name: 'fastify-dapr-token-auth' })
export default daprTokenAuth

export type { DaprTokenAuthOptions, DaprTokenRole, DaprTokenLogLevel } from './options.js'
export type { ExemptOption, ExemptRoute, ExemptRouteInfo, ExemptPredicate } from './exempt.js'
export type { ErrorResponse, ErrorResponseFunction } from './refusal.js'
export type { KeyResolver, TokenList } from './keys/static.js'
export type { StaticTokenCredential } from './compare.js'
export type { DaprTokenCredential, TokenVerifier, VerifyOutcome } from './verifier.js'
export type { DaprTokenHook } from './hook.js'
export {
  DaprTokenMissingError,
  DaprTokenInvalidError,
  DaprTokenDuplicateError,
  DaprTokenNotConfiguredError,
  DaprTokenOptionsError,
  DaprTokenNoKeysError,
  DaprTokenResolverError,
  DaprTokenKeySourceError,
  DaprTokenMalformedError,
  DaprTokenUnsignedError,
  DaprTokenAlgorithmError,
  DaprTokenBadSignatureError,
  DaprTokenExpiredError,
  DaprTokenNotYetValidError,
  DaprTokenClaimMismatchError,
  DaprTokenMissingClaimError,
  DaprTokenUnknownKeyError,
  DaprTokenUnusableKeyError,
  DaprTokenKeySourceUnavailableError,
  type DaprTokenRefusalError,
  type RefusalReason
} from './errors.js'
export { DAPRD_REFUSAL_BODY } from './refusal.js'
export { fingerprint } from './fingerprint.js'
export { fromEnv, type EnvSourceOptions } from './keys/env.js'
export { fromFile, parseTokenLines, type FileSourceOptions } from './keys/file.js'
export { DEFAULT_GRACE_MS } from './keys/state.js'
export { jwtKeyFrom, byKid, type JwtKeySelector } from './keys/jwt.js'
export type { KeySource, KeySourceState, KeySourceLogger, KeySourceLifecycle, KeySourceOptions } from './keys/source.js'
export type {
  DaprJwtOptions,
  DaprJwtClaims,
  JwtClaims,
  JwtHeader,
  DecodedJwt,
  JwtKey,
  JwtKeyResolver,
  JwtAlgorithm,
  JwtTokenCredential,
  ClaimMatch
} from './jwt/types.js'
export { fromJwks, type FromJwksOptions, type JwksIssuer, type JwksResolver } from './jwt/jwks.js'
export { signDaprJwt, type SignDaprJwtOptions } from './jwt/sign.js'
export type { GrpcOption, GrpcOptions } from './grpc.js'
export { replyDaprTokenGrpcError, GRPC_DETAIL_MISSING, GRPC_DETAIL_MISMATCH } from './grpc.js'
