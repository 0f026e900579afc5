import type { FastifyRequest } from 'fastify'
import type { StaticTokenCredential } from './compare.js'
import type { RefusalReason } from './errors.js'
import type { JwtTokenCredential } from './jwt/types.js'

/**
 * Which credential a request presented, set on `request.daprToken` after success; never the raw
 * token. Verification modes add their own kinds to this union.
 */
export type DaprTokenCredential = StaticTokenCredential | JwtTokenCredential

/** A credential on success, or the reason for refusing. Returning (not throwing) keeps refusals cheap. */
export type VerifyOutcome = DaprTokenCredential | RefusalReason

/**
 * Checks one presented token. Returns synchronously whenever it can (the hot path); throws or
 * rejects only for its own failure (a key source that cannot answer), which becomes a clean 5xx.
 */
export interface TokenVerifier {
  verify (token: string, request: FastifyRequest): VerifyOutcome | PromiseLike<VerifyOutcome>
}
