import type { RefusalReason } from '../errors.js'

/** fast-jwt's error codes (its `TokenError.codes`) and the refusal each one is. */
const REASONS: Readonly<Record<string, RefusalReason>> = {
  FAST_JWT_MALFORMED: 'malformed',
  FAST_JWT_INVALID_PAYLOAD: 'malformed',
  FAST_JWT_INVALID_TYPE: 'malformed',
  FAST_JWT_INVALID_CRIT_HEADER: 'malformed',
  FAST_JWT_INVALID_ALGORITHM: 'algorithm',
  FAST_JWT_INVALID_SIGNATURE: 'signature',
  FAST_JWT_VERIFY_ERROR: 'signature',
  FAST_JWT_MISSING_SIGNATURE: 'unsigned',
  FAST_JWT_EXPIRED: 'expired',
  FAST_JWT_INACTIVE: 'notYetValid',
  FAST_JWT_INVALID_CLAIM_VALUE: 'claim',
  FAST_JWT_INVALID_CLAIM_TYPE: 'claim',
  FAST_JWT_MISSING_REQUIRED_CLAIM: 'missingClaim'
}

/**
 * The refusal for an error fast-jwt threw while verifying a token. Anything it throws about the
 * token is the client's doing: a code this table does not know still refuses (401 invalid), it never
 * becomes a 500. Only errors that are not fast-jwt's are re-thrown (a bug, answered as a generic 500).
 */
export function reasonFor (error: unknown): RefusalReason {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !code.startsWith('FAST_JWT_')) throw error
  return REASONS[code] ?? 'invalid'
}
