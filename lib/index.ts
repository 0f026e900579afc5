import type { FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { buildHook, type DaprTokenHook } from './hook.js'
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
  let resolved: ReturnType<typeof resolveOptions>
  try {
    resolved = resolveOptions(options)
  } catch (error) {
    // A throw here would escape avvio as an uncaught exception; through done() it rejects ready().
    return done(error as Error)
  }
  const verifier = resolved.verifier

  fastify.decorateRequest('daprToken', null)

  if (verifier === null) {
    const error = resolved.unconfigured
    if (resolved.whenUnconfigured === 'fail') return done(error ?? undefined)
    fastify.log.warn('fastify-dapr-token-auth: no Dapr API token configured and whenUnconfigured is \'allow\': every request passes unauthenticated')
    fastify.decorate('verifyDaprToken', function verifyDaprTokenDisabled (_request, _reply, next) { next() } satisfies DaprTokenHook)
    return done()
  }

  fastify.decorate('verifyDaprToken', buildHook(resolved, verifier, true))
  if (resolved.addHook) fastify.addHook('onRequest', buildHook(resolved, verifier, false))
  done()
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
