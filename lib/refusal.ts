import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { refusalError, type DaprTokenRefusalError, type RefusalReason } from './errors.js'
import { isThenable } from './thenable.js'
import { grpcCallOf, grpcRefusalFor, sendGrpcRefusal, type GrpcDetection } from './grpc.js'

/**
 * How a refused request is answered:
 * - `'daprd'`: daprd's reply byte for byte (401, `text/plain; charset=utf-8`, `nosniff`,
 *   `invalid api token\n`), the same for every reason, as Dapr-compatible APIs need;
 * - `'fastify'`: `done(error)` with a `FST_DAPR_TOKEN_*` error, so the error handler answers
 *   (by default Fastify's JSON `{ statusCode, code, error, message }`);
 * - a function: gets the error with the status already set to 401 and returns the body to send
 *   (or a promise of it); it may also send the reply itself.
 *
 * These shape HTTP refusals. A gRPC-family call (see lib/grpc.ts) is always refused in its own
 * format, whatever the mode: its client can read nothing else.
 */
export type ErrorResponse = 'daprd' | 'fastify' | ErrorResponseFunction

export type ErrorResponseFunction = (error: DaprTokenRefusalError, request: FastifyRequest, reply: FastifyReply) => unknown

export type Refuse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, reason: RefusalReason) => void

/** daprd's exact refusal body (pkg/http/... `invalid api token`, newline included). */
export const DAPRD_REFUSAL_BODY = 'invalid api token\n'

function refuseLikeDaprd (_request: FastifyRequest, reply: FastifyReply): void {
  reply.code(401)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(DAPRD_REFUSAL_BODY)
}

function refuseWithError (_request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction, reason: RefusalReason): void {
  done(refusalError(reason))
}

function buildHttpRefusal (mode: ErrorResponse): Refuse {
  if (mode === 'daprd') return refuseLikeDaprd
  if (mode === 'fastify') return refuseWithError
  return function refuseWithCustomBody (request, reply, _done, reason) {
    reply.code(401)
    const body = mode(refusalError(reason), request, reply)
    // An async function's promise is its body's promise: sending the promise itself serialised `{}`.
    if (isThenable(body)) {
      body.then(value => { if (!reply.sent) reply.send(value) }, error => { if (!reply.sent) reply.send(error) })
      return
    }
    if (!reply.sent) reply.send(body)
  }
}

/**
 * The refusal for a hook. With gRPC detection on, a refused request's content type is looked at
 * (only here, never on the accepted path) and gRPC-family calls get daprd's gRPC answer.
 */
export function buildRefusal (mode: ErrorResponse, grpc: GrpcDetection | null = null): Refuse {
  const refuseHttp = buildHttpRefusal(mode)
  if (grpc === null) return refuseHttp
  return function refuseGrpcAware (request, reply, done, reason) {
    const call = grpcCallOf(request, grpc)
    if (call === null) return refuseHttp(request, reply, done, reason)
    sendGrpcRefusal(request, reply, call, grpcRefusalFor(reason))
  }
}
