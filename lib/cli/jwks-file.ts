import type { JsonWebKey } from 'node:crypto'
import { prepareKey } from '../jwt/keys.js'
import type { DecodedJwt, JwtAlgorithm, JwtKeyResolver } from '../jwt/types.js'
import { byKid } from '../keys/jwt.js'
import { CliError } from './io.js'

/**
 * A JWKS document read from `--jwt-key-file`: a resolver picking its keys by the token's `kid`
 * with the library's own selector (`byKid`, as `jwtKeyFrom(fromFile(path, { parse }))` does for a
 * JWKS file the plugin follows), and what the CLI needs to explain a refusal.
 */
export interface JwksFile {
  readonly resolver: JwtKeyResolver
  /** The algorithm each key implies (its `alg`, or the first its type fits), as one key's default is. */
  readonly algorithms: readonly JwtAlgorithm[]
  /** Why a token's `kid` found no key: which ids the file has, or why the key it names cannot verify. */
  readonly explainUnknown: (decoded: Pick<DecodedJwt, 'header'>) => string
}

/** Whether parsed JSON is a JWKS document (`{ "keys": [...] }`) rather than one JWK. */
export function isJwks (parsed: unknown): parsed is { keys: unknown[] } {
  return parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)
}

const PREFIX = 'the --jwt-key-file JWKS'

/**
 * The signature keys of a JWKS document. Keys that cannot verify a token here (an encryption key,
 * a curve not supported) are left out, as fromJwks leaves them out, and named when a token picks
 * one. A private key or an HMAC secret is refused outright: a JWKS is published, so either is a
 * leak, and a secret has a flag of its own.
 */
export function readJwks (document: { keys: unknown[] }): JwksFile {
  const usable: JsonWebKey[] = []
  const algorithms = new Set<JwtAlgorithm>()
  /** Why each left-out key cannot verify, by its kid. */
  const left = new Map<unknown, string>()
  document.keys.forEach((entry, index) => {
    const jwk = entry as JsonWebKey
    if (entry === null || typeof entry !== 'object' || typeof jwk.kty !== 'string') throw new CliError(`${PREFIX}: key ${index} is not a JWK (an object with a "kty")`)
    if (jwk.d !== undefined || jwk.kty === 'oct') {
      throw new CliError(`${PREFIX}: key ${index} is ${jwk.kty === 'oct' ? 'an HMAC secret (for one, use --jwt-secret-file)' : 'a private key (publish only its public part)'}`)
    }
    const prepared = prepareKey(jwk)
    if (typeof prepared === 'string' || prepared.algorithms.length === 0) {
      left.set(jwk.kid, typeof prepared === 'string' ? prepared : 'its "alg" does not fit its key type')
      return
    }
    usable.push(jwk)
    algorithms.add(prepared.algorithms[0] as JwtAlgorithm)
  })
  if (usable.length === 0) throw new CliError(`${PREFIX} holds no key that can verify a signature`)
  const kids = usable.map(jwk => jwk.kid)
  // byKid picks by kid, or takes the first key when none has one: in a set of several, a key
  // without a kid would never be picked.
  if (usable.length > 1 && !kids.every(kid => typeof kid === 'string')) {
    throw new CliError(`${PREFIX}: give every key a "kid", so that a token can pick each one (some have none)`)
  }
  const known = kids.map(kid => JSON.stringify(kid)).join(', ')
  return {
    resolver: (_request, decoded) => byKid(usable, decoded),
    algorithms: [...algorithms],
    explainUnknown: ({ header }) => {
      if (typeof header.kid !== 'string') return `the token has no kid, and the file's keys are picked by kid (${known})`
      const reason = left.get(header.kid)
      const named = `the token's kid ${JSON.stringify(header.kid)}`
      return reason === undefined ? `${named} is none of the file's (${known})` : `${named} names a key in the file that cannot verify a signature: ${reason}`
    }
  }
}
