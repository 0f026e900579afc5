import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { DaprTokenResolverError, type RefusalReason } from './errors.js'
import { extractToken, SEVERAL, sentMoreThanOnce, stripTokenHeader } from './extract.js'
import { grpcCallOf, sendGrpcFailure } from './grpc.js'
import { isThenable } from './keys/static.js'
import type { ResolvedOptions } from './options.js'
import { buildRefusal, type Refuse } from './refusal.js'
import type { DaprTokenCredential, TokenVerifier, VerifyOutcome } from './verifier.js'

export type DaprTokenHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

/**
 * Builds the onRequest hook (the hot path). Order: extract, verify, and only when that fails ask
 * whether the route is exempt: a valid token needs no router lookup, and a health probe (no token)
 * gets its answer after one header read. Synchronous unless the key source itself is asynchronous.
 *
 * `asDecorator`: the `fastify.verifyDaprToken` flavour, which applies no exemptions (the user chose
 * where it runs) and always calls `done(error)` so that `@fastify/auth` and route hooks compose.
 */
export function buildHook (options: ResolvedOptions, verifier: TokenVerifier, asDecorator: boolean): DaprTokenHook {
  const { header, stripHeader, isExempt, logLevel } = options
  // The decorator never replies (it hands its error on), so it answers no protocol itself.
  const grpc = asDecorator ? null : options.grpc
  const refuse: Refuse = buildRefusal(asDecorator ? 'fastify' : options.errorResponse, grpc)

  function accept (request: FastifyRequest, done: HookHandlerDoneFunction, credential: DaprTokenCredential): void {
    if (stripHeader) stripTokenHeader(request, header)
    request.daprToken = credential
    done()
  }

  function reject (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, reason: RefusalReason): void {
    if (!asDecorator && isExempt(request)) return done()
    if (reason === 'invalid' && sentMoreThanOnce(request, header)) reason = 'duplicate'
    if (logLevel !== 'silent') request.log[logLevel]({ daprTokenAuth: { reason } }, 'Dapr API token refused')
    refuse(request, reply, done, reason)
  }

  function failed (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, error: unknown): void {
    if (!asDecorator && isExempt(request)) return done()
    request.log.error({ err: error }, 'Dapr API token key source failed')
    const answer = isPublicServerError(error) ? error : new DaprTokenResolverError()
    const call = grpc === null ? null : grpcCallOf(request, grpc)
    if (call !== null) return sendGrpcFailure(request, reply, call, answer.statusCode, answer.message)
    done(answer)
  }

  return function verifyDaprToken (request, reply, done) {
    const token = extractToken(request.headers[header])
    if (token === undefined) return reject(request, reply, done, 'missing')
    if (token === SEVERAL) return reject(request, reply, done, 'duplicate')
    let outcome: VerifyOutcome | PromiseLike<VerifyOutcome>
    try {
      outcome = verifier.verify(token, request)
    } catch (error) {
      return failed(request, reply, done, error)
    }
    if (typeof outcome === 'string') return reject(request, reply, done, outcome)
    if (isThenable<VerifyOutcome>(outcome)) {
      outcome.then(
        settled => typeof settled === 'string' ? reject(request, reply, done, settled) : accept(request, done, settled),
        error => failed(request, reply, done, error))
      return
    }
    accept(request, done, outcome)
  }
}

/** Our own 503 (a key source out of reach) already says nothing internal; anything else is masked. */
function isPublicServerError (error: unknown): error is Error & { statusCode: number } {
  const candidate = error as { code?: unknown, statusCode?: unknown } | null
  return candidate !== null && typeof candidate === 'object' && candidate.statusCode === 503 &&
    typeof candidate.code === 'string' && candidate.code.startsWith('FST_DAPR_TOKEN_')
}
