import type { JsonWebKey } from 'node:crypto'
import { JwksKeySet, type JwksMiss } from '../jwt/jwks.js'
import { prepareKey } from '../jwt/keys.js'
import type { DecodedJwt, JwtAlgorithm, JwtHeader, JwtKeyResolver } from '../jwt/types.js'
import { CliError } from './io.js'

/**
 * A JWKS document read from `--jwt-key-file`: a resolver picking its key with fromJwks's own
 * selection (`JwksKeySet`), and what the CLI needs to explain a refusal.
 */
export interface JwksFile {
  readonly resolver: JwtKeyResolver
  /** The algorithm each usable key implies (its `alg`, or the first its type fits), as one key's default is. */
  readonly algorithms: readonly JwtAlgorithm[]
  /** Why a token found no key: which ids the file has, or why the key it names cannot verify it. */
  readonly explainUnknown: (decoded: Pick<DecodedJwt, 'header'>) => string
}

/** Whether parsed JSON is a JWKS document (`{ "keys": [...] }`) rather than one JWK. */
export function isJwks (parsed: unknown): parsed is { keys: unknown[] } {
  return parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)
}

const PREFIX = 'the --jwt-key-file JWKS'

/** A key of the file that fromJwks could pick, and the algorithms it verifies. */
interface UsableKey { readonly kid: unknown, readonly algorithms: readonly JwtAlgorithm[] }
/** A key of the file that can verify no token, and why. */
interface LeftOutKey { readonly kid: unknown, readonly reason: string }
type KeyInfo = UsableKey | LeftOutKey

function isUsable (key: KeyInfo): key is UsableKey {
  return 'algorithms' in key
}

/**
 * A JWKS document as fromJwks reads it from a URL: the key for a token is picked by the same
 * `JwksKeySet`, so the file and the URL give every token the same verdict. No rule here changes
 * which key a token gets; the CLI's own checks only refuse the file (exit 2, no verdict), as
 * mistakes to fix: an entry that is not an object (jose refuses the whole set, so fromJwks
 * answers every token with a 503), a private key or an HMAC secret (a JWKS is published, so
 * either is a leak; a secret has a flag of its own). Keys without a `kid` are not refused, as
 * they once were: fromJwks picks one for a token without a `kid` when it is the only key that
 * fits the token's `alg`, so refusing the set would refuse to judge tokens the plugin accepts.
 * `algorithmsGiven`: without `--alg`, a set with no usable key has no default algorithm (exit 2,
 * as `--jwks-url` without `--alg` is); with it, such a set is checked like any other.
 */
export async function readJwks (document: { keys: unknown[] }, algorithmsGiven: boolean): Promise<JwksFile> {
  document.keys.forEach(checkPublishable)
  const set = await JwksKeySet.from(document)
  const keys = await Promise.all((document.keys as JsonWebKey[]).map(describeKey))
  const algorithms = [...new Set(keys.filter(isUsable).map(key => key.algorithms[0] as JwtAlgorithm))]
  if (algorithms.length === 0 && !algorithmsGiven) throw new CliError(`${PREFIX} holds no key that can verify a signature`)
  // The selection's answer for the one token checked, which the explanation of a refusal needs.
  let miss: JwksMiss = 'none'
  return {
    resolver: async (_request, decoded) => {
      const found = await findOrFail(set, decoded.header)
      if (typeof found !== 'string') return found
      miss = found
      return undefined
    },
    algorithms,
    explainUnknown: ({ header }) => explain(header, miss, keys)
  }
}

function checkPublishable (entry: unknown, index: number): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new CliError(`${PREFIX}: key ${index} is not a JWK (an object with a "kty")`)
  const jwk = entry as JsonWebKey
  if (jwk.d !== undefined || jwk.kty === 'oct') {
    throw new CliError(`${PREFIX}: key ${index} is ${jwk.kty === 'oct' ? 'an HMAC secret (for one, use --jwt-secret-file)' : 'a private key (publish only its public part)'}`)
  }
}

/**
 * What one key can verify: what its type and `alg` allow (the library's rule), if fromJwks's
 * selection would also pick it for the first of those (jose skips keys the library takes: an
 * Ed448 key, `key_ops` without "verify"). Only for the default `--alg` and explanations: the
 * token's key is picked from the whole set.
 */
async function describeKey (jwk: JsonWebKey): Promise<KeyInfo> {
  const { kid } = jwk
  if (typeof jwk.kty !== 'string') return { kid, reason: 'it is not a JWK (it has no "kty")' }
  const prepared = prepareKey(jwk)
  if (typeof prepared === 'string') return { kid, reason: prepared }
  const [first] = prepared.algorithms
  if (first === undefined) return { kid, reason: 'its "alg" does not fit its key type' }
  let alone: Awaited<ReturnType<JwksKeySet['find']>>
  try {
    alone = await (await JwksKeySet.from({ keys: [jwk] })).find({ alg: first })
  } catch (error) {
    return { kid, reason: `it cannot be imported (${String((error as Error).cause)})` }
  }
  if (typeof alone !== 'string') return { kid, algorithms: prepared.algorithms }
  return { kid, reason: allowsVerify(jwk.key_ops) ? 'the key type or curve is not supported' : 'its "key_ops" do not allow "verify"' }
}

/** Whether a JWK's `key_ops` let it verify (none given: any use). */
function allowsVerify (keyOps: unknown): boolean {
  return keyOps === undefined || (Array.isArray(keyOps) && keyOps.includes('verify'))
}

/**
 * The set's key for a token. A key the token picks that cannot be imported is the fault of the
 * file, told as such: the same token from a URL gets "the key source failed" (a 503 in the plugin).
 */
async function findOrFail (set: JwksKeySet, header: JwtHeader): ReturnType<JwksKeySet['find']> {
  try {
    return await set.find(header)
  } catch (error) {
    throw new CliError(`${PREFIX}: the key the token picks cannot be imported (${String((error as Error).cause)})`)
  }
}

/** Why the set had no key for the token, from what the selection answered and what each key is. */
function explain (header: JwtHeader, miss: JwksMiss, keys: readonly KeyInfo[]): string {
  const alg = JSON.stringify(header.alg)
  const usable = keys.filter(isUsable)
  if (typeof header.kid !== 'string') {
    return miss === 'several'
      ? `the token has no kid, and several of the file's keys fit its alg ${alg}: a kid must pick one`
      : `the token has no kid, and none of the file's keys fits its alg ${alg} (${known(usable)})`
  }
  const named = `the token's kid ${JSON.stringify(header.kid)}`
  const same = keys.filter(key => key.kid === header.kid)
  if (same.length === 0) return `${named} is none of the file's (${known(usable)})`
  if (miss === 'several') return `${named} picks several of the file's keys that fit its alg ${alg}: give each key a kid of its own`
  const fitting = same.find(isUsable)
  if (fitting !== undefined) return `${named} names a key in the file that does not fit its alg ${alg} (it fits ${fitting.algorithms.join(', ')})`
  return `${named} names a key in the file that cannot verify a signature: ${(same[0] as LeftOutKey).reason}`
}

/** The usable keys by kid, those without one counted: `"e1", "r1", 1 without a kid`. */
function known (usable: readonly UsableKey[]): string {
  if (usable.length === 0) return 'it has no key that can verify a signature'
  const kids = usable.filter(key => typeof key.kid === 'string').map(key => JSON.stringify(key.kid))
  const without = usable.length - kids.length
  return [...kids, ...(without === 0 ? [] : [`${without} without a kid`])].join(', ')
}
