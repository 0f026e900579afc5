import type { FastifyRequest } from 'fastify'
import { buildKeySet, matchToken, normaliseTokens, type KeySet } from '../compare.js'
import { DaprTokenNoKeysError } from '../errors.js'
import { sentMoreThanOnce } from '../extract.js'
import { isThenable } from '../thenable.js'
import type { TokenVerifier, VerifyOutcome } from '../verifier.js'

/** The tokens valid now: one, several (rotation overlap), or a promise of them. */
export type TokenList = string | readonly string[]

/**
 * The pluggable key source of the shared-token mode: returns the tokens valid now. The `token`
 * option and the env var are the built-in static resolver. The prepared key set is reused while the
 * returned tokens equal the last ones (compared element by element, so an array changed in place is
 * noticed) and rebuilt when they change; a synchronous answer keeps the hot path free of promises.
 */
export type KeyResolver = (request: FastifyRequest) => TokenList | PromiseLike<TokenList>

function verifyAgainst (set: KeySet, token: string, request: FastifyRequest, header: string): VerifyOutcome {
  const index = matchToken(token, set)
  if (index === -1) return 'invalid'
  // Only a key with `, ` in it, or ending in `,`, can be spelled by two joined header lines.
  if (set.joinable[index] === true && sentMoreThanOnce(request, header)) return 'duplicate'
  return set.credentials[index] as VerifyOutcome
}

export function staticVerifier (tokens: readonly string[], header: string): TokenVerifier {
  const set = buildKeySet(tokens)
  return {
    verify (token, request) {
      return verifyAgainst(set, token, request, header)
    }
  }
}

export function resolverVerifier (resolver: KeyResolver, header: string): TokenVerifier {
  let lastInput: TokenList | undefined
  let lastSet: KeySet | undefined

  function keySetFor (input: TokenList): KeySet {
    if (lastSet !== undefined && sameTokens(input, lastInput as TokenList)) return lastSet
    const tokens = typeof input === 'string' ? [input] : input
    if (normaliseTokens(tokens).length === 0) throw new DaprTokenNoKeysError()
    // A copy: a resolver may change the array it returns in place, and must then be seen changing.
    lastInput = typeof input === 'string' ? input : [...input]
    lastSet = buildKeySet(tokens)
    return lastSet
  }

  return {
    verify (token, request) {
      const input = resolver(request)
      if (isThenable(input)) {
        return Promise.resolve(input).then(resolved => verifyAgainst(keySetFor(resolved), token, request, header))
      }
      return verifyAgainst(keySetFor(input), token, request, header)
    }
  }
}

function sameTokens (a: TokenList, b: TokenList): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
