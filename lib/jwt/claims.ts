import type { RefusalReason } from '../errors.js'
import type { ResolvedJwtOptions } from './options.js'

/** The claim rules of the `jwt` option, as lib/jwt/options.ts resolved them (milliseconds). */
export type ClaimRules = Pick<ResolvedJwtOptions, 'toleranceMs' | 'maxAgeMs' | 'issuer' | 'audience' | 'subject' | 'requiredClaims'>

/**
 * Checks a verified token's claims (RFC 7519 section 4.1), in this order, the first fault deciding:
 * 1. every required claim is present (`missingClaim`; an allowed-value option or `maxAge` makes its claim required);
 * 2. `nbf`, then `exp`, each a number, within `clockTolerance` (`notYetValid`, `expired`);
 * 3. with `maxAge`, `iat` a number and `iat + maxAge` not past (`expired`);
 * 4. `aud` (a string, or an array of strings one of which is allowed), `iss`, `sub` (strings) against
 *    the allowed values (`claim`).
 * A claim of the wrong type (a string `exp`, an array `iss`, a date beyond what a double holds) is a `claim` refusal. Claims that no
 * rule names are not looked at. Returns `undefined` when every rule holds.
 */
export function checkClaims (payload: Readonly<Record<string, unknown>>, rules: ClaimRules, now: number): RefusalReason | undefined {
  const required = rules.requiredClaims
  for (let i = 0; i < required.length; i++) {
    if (!Object.hasOwn(payload, required[i] as string)) return 'missingClaim'
  }
  const tolerance = rules.toleranceMs
  const nbf = payload.nbf
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) return 'claim'
    if (now < nbf * 1000 - tolerance) return 'notYetValid'
  }
  const exp = payload.exp
  if (exp !== undefined) {
    if (!isNumericDate(exp)) return 'claim'
    if (now > exp * 1000 + tolerance) return 'expired'
  }
  if (rules.maxAgeMs !== undefined) {
    // Required above, so present: only its type and age are left.
    const iat = payload.iat
    if (!isNumericDate(iat)) return 'claim'
    if (now > iat * 1000 + rules.maxAgeMs) return 'expired'
  }
  if (rules.audience !== undefined && !audienceAllowed(payload.aud, rules.audience)) return 'claim'
  if (rules.issuer !== undefined && !rules.issuer.includes(payload.iss as string)) return 'claim'
  if (rules.subject !== undefined && !rules.subject.includes(payload.sub as string)) return 'claim'
  return undefined
}

/**
 * A NumericDate (RFC 7519 section 2): a finite number of seconds. `1e400` parses as Infinity, an
 * `exp` no clock ever passes: refused rather than taken as "never expires".
 */
function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** One allowed audience in the token's `aud`: a string, or an array of strings only (RFC 7519 section 4.1.3). */
function audienceAllowed (aud: unknown, allowed: readonly string[]): boolean {
  if (typeof aud === 'string') return allowed.includes(aud)
  if (!Array.isArray(aud)) return false
  let found = false
  for (const entry of aud as unknown[]) {
    if (typeof entry !== 'string') return false
    if (allowed.includes(entry)) found = true
  }
  return found
}
