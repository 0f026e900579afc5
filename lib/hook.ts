import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { DaprTokenResolverError, refusalErrors, type RefusalReason } from './errors.js'
import { canonicalHeaderName, extractToken, linesUnparsed, mayBeJoined, SEVERAL, sentMoreThanOnce, stripTokenHeader } from './extract.js'
import { grpcCallOf, sendGrpcFailure } from './grpc.js'
import { isThenable } from './thenable.js'
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

  // Node keeps only the first line of these headers and drops the rest in silence, so a second line
  // can only be seen in rawHeaders; for every other name it shows as a joined `a, b` that never
  // matches, except Cookie, whose lines Node joins by `; `, which a key may hold: count its lines.
  const keptOnceByNode = NODE_SINGLE_VALUE_HEADERS.has(header)
  const countLines = keptOnceByNode || header === 'cookie'
  const canonical = canonicalHeaderName(header)

  /**
   * Whether the token header may have come on more than one line. `joined`: the presented value
   * could be lines Node joined (`mayBeJoined`). Past the server's maxHeadersCount Node 20 keeps
   * some lines in rawHeaders only and drops others unseen (later Node answers 431): a second token
   * line cannot be ruled out there.
   */
  function sentTwice (request: FastifyRequest, joined: boolean): boolean {
    return linesUnparsed(request) || ((countLines || joined) && sentMoreThanOnce(request, header))
  }

  function accept (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, credential: DaprTokenCredential): void {
    // A key that joined lines could spell was checked by the verifier, which knows the key.
    if (sentTwice(request, false)) return reject(request, reply, done, 'duplicate')
    // By now a header Node keeps once has been seen on one line, so its parsed value is every line of it.
    if (stripHeader) stripTokenHeader(request, header, canonical, true)
    request.daprToken = credential
    done()
  }

  /** Lets a refused or failed request through on an exempt route, with no token left behind for the handler. */
  function passExempt (request: FastifyRequest, done: HookHandlerDoneFunction): void {
    if (stripHeader && (request.headers[header] !== undefined || linesUnparsed(request))) stripTokenHeader(request, header, canonical, !keptOnceByNode)
    done()
  }

  function reject (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, reason: RefusalReason): void {
    if (!asDecorator && isExempt(request)) return passExempt(request, done)
    if (reason === 'invalid' && sentTwice(request, mayBeJoined(String(request.headers[header])))) reason = 'duplicate'
    if (logLevel !== 'silent') request.log[logLevel](REFUSAL_LOG_FIELDS[reason], 'Dapr API token refused')
    refuse(request, reply, done, reason)
  }

  function failed (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, error: unknown): void {
    if (!asDecorator && isExempt(request)) return passExempt(request, done)
    request.log.error({ err: error }, 'Dapr API token key source failed')
    const answer = isPublicServerError(error) ? error : new DaprTokenResolverError()
    const call = grpc === null ? null : grpcCallOf(request, grpc)
    if (call !== null) return sendGrpcFailure(request, reply, call, answer.statusCode, answer.message)
    done(answer)
  }

  return function verifyDaprToken (request, reply, done) {
    // Behind the global hook the request is already verified and its header stripped: the decorator
    // on a route (or in @fastify/auth) must then let it on rather than find no token.
    if (asDecorator && request.daprToken != null) return done()
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
        settled => typeof settled === 'string' ? reject(request, reply, done, settled) : accept(request, reply, done, settled),
        error => failed(request, reply, done, error))
      return
    }
    accept(request, reply, done, outcome)
  }
}

/** The log line's fields per reason, made once: a flood of refusals allocates none (loggers only read them). */
const REFUSAL_LOG_FIELDS = Object.fromEntries(Object.keys(refusalErrors).map(reason =>
  [reason, Object.freeze({ daprTokenAuth: Object.freeze({ reason }) })])) as Record<RefusalReason, object>

/** Headers of which Node's parser keeps the first line only (IncomingMessage#_addHeaderLine). */
const NODE_SINGLE_VALUE_HEADERS = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag',
  'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location',
  'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent'])

/** Our own 503 (a key source out of reach) already says nothing internal; anything else is masked. */
function isPublicServerError (error: unknown): error is Error & { statusCode: number } {
  const candidate = error as { code?: unknown, statusCode?: unknown } | null
  return candidate !== null && typeof candidate === 'object' && candidate.statusCode === 503 &&
    typeof candidate.code === 'string' && candidate.code.startsWith('FST_DAPR_TOKEN_')
}
