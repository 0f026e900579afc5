import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { HMAC_MIN_BYTES } from '../jwt/algorithms.js'
import { signDaprJwt, timeClaimProblem, type SignDaprJwtOptions } from '../jwt/sign.js'
import type { JwtAlgorithm } from '../jwt/types.js'
import { ALGORITHMS, choiceOption, listOption, stringOption, type Command, type OptionValues } from './command.js'
import { CliError, EXIT, type CliIo } from './io.js'
import { ARGV_WARNING, readSecret, type PipeHint } from './secret-input.js'

/** Asymmetric algorithms and the private key each needs (`KeyObject.asymmetricKeyType`, and the EC curve). */
const KEY_ALGORITHMS: Readonly<Record<string, { type: readonly string[], curve?: string, describe: string }>> = {
  RS256: { type: ['rsa'], describe: 'an RSA' },
  RS384: { type: ['rsa'], describe: 'an RSA' },
  RS512: { type: ['rsa'], describe: 'an RSA' },
  PS256: { type: ['rsa'], describe: 'an RSA' },
  PS384: { type: ['rsa'], describe: 'an RSA' },
  PS512: { type: ['rsa'], describe: 'an RSA' },
  ES256: { type: ['ec'], curve: 'prime256v1', describe: 'a P-256 EC' },
  ES384: { type: ['ec'], curve: 'secp384r1', describe: 'a P-384 EC' },
  ES512: { type: ['ec'], curve: 'secp521r1', describe: 'a P-521 EC' },
  EdDSA: { type: ['ed25519', 'ed448'], describe: 'an Ed25519 or Ed448' }
}

/** sign's own options for its key, told to someone who runs it on a terminal with nothing piped in. */
const SECRET_PIPE: PipeHint = { variable: 'JWT_SECRET', flags: '--secret-file or --secret-env (a private key: --key-file)' }

/** RSA keys shorter than this are refused by current guidance (NIST SP 800-131A). */
const RSA_MIN_BITS = 2048

const DURATION = /^(\d+)(ms|s|m|h|d)?$/
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `90` (seconds), `30s`, `15m`, `1h`, `7d` to milliseconds; `never` to `undefined`. */
export function parseDuration (text: string): number | undefined {
  if (text === 'never') return undefined
  const match = DURATION.exec(text)
  const ms = match === null ? 0 : Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number)
  // The value is not printed back: it may be a secret pasted in the wrong place.
  if (ms <= 0) throw new CliError('--exp must be a positive duration such as 90, 30s, 15m, 1h or 7d, or \'never\'')
  return ms
}

/** The algorithm a private key signs with when `--alg` is not given. */
function defaultAlgorithm (key: KeyObject): JwtAlgorithm {
  const type = key.asymmetricKeyType as string
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    return (Object.entries(KEY_ALGORITHMS).find(([, need]) => need.curve === curve)?.[0] ?? 'ES256') as JwtAlgorithm
  }
  if (type === 'ed25519' || type === 'ed448') return 'EdDSA'
  // RSA, and anything else, which the RS256 check then names (fast-jwt cannot sign with RSA-PSS-only keys).
  return 'RS256'
}

function checkKeyFits (alg: string, key: KeyObject): void {
  const need = KEY_ALGORITHMS[alg] as { type: readonly string[], curve?: string, describe: string }
  const type = key.asymmetricKeyType as string
  const curve = key.asymmetricKeyDetails?.namedCurve
  if (!need.type.includes(type) || (need.curve !== undefined && need.curve !== curve)) {
    throw new CliError(`${alg} needs ${need.describe} private key; the key file holds a key of type ${type}${curve === undefined ? '' : ` (${curve})`}`)
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (bits !== undefined && bits < RSA_MIN_BITS) throw new CliError(`the RSA key has ${bits} bits; use at least ${RSA_MIN_BITS}`)
}

/**
 * `name=value`: the value as JSON when it parses (numbers, booleans, arrays), else as a string.
 * Errors never show the argument: a secret may have been pasted there.
 */
function parseClaim (text: string): [string, unknown] {
  const equals = text.indexOf('=')
  if (equals <= 0) throw new CliError('--claim must look like name=value')
  const name = text.slice(0, equals)
  const raw = text.slice(equals + 1)
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return [name, raw]
  }
  if (!finiteThroughout(value)) throw new CliError(`--claim ${name} holds a number too large for JSON (it reads as Infinity, which would be signed as null)`)
  return [name, value]
}

/** Whether every number in a parsed JSON value is finite: JSON.parse reads `1e400` as Infinity. */
function finiteThroughout (value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (value === null || typeof value !== 'object') return true
  return Object.values(value).every(finiteThroughout)
}

/** Claims a dedicated option also sets: both given is a conflict, not a silent choice. */
const CLAIM_OPTIONS = ['exp', 'iss', 'aud', 'sub'] as const
/** Options whose value goes into the token as given: an empty one is a mistake (signDaprJwt refuses it too). */
const NON_EMPTY_OPTIONS = ['iss', 'aud', 'sub', 'kid'] as const

/** Refuses a claim given twice (`--claim aud=x --aud y`), registered claims of the wrong type and empty options. */
function checkClaims (values: OptionValues, payload: Record<string, unknown>): void {
  for (const name of CLAIM_OPTIONS) {
    if (name in payload && values[name] !== undefined) {
      throw new CliError(`--claim ${name}=... and --${name} conflict: give the ${name} claim once`)
    }
  }
  for (const name of NON_EMPTY_OPTIONS) {
    const given = values[name]
    if (given === '' || (Array.isArray(given) && given.includes(''))) throw new CliError(`--${name} must not be empty`)
  }
  // The library's own rule, so that the CLI and signDaprJwt refuse the same exp, nbf and iat.
  const time = timeClaimProblem(payload)
  if (time !== undefined) throw new CliError(`--claim ${time}`)
  for (const name of ['iss', 'sub'] as const) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string') throw new CliError(`--claim ${name} must be a string`)
  }
  const aud = payload.aud
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every(entry => typeof entry === 'string'))) {
    throw new CliError('--claim aud must be a string or an array of strings')
  }
}

/** The key `signDaprJwt` signs with, the algorithm, and how errors name the key. */
interface SigningKey {
  readonly key: KeyObject | string
  readonly alg: JwtAlgorithm
  readonly label: string
}

/** `--key-file`: a PEM private key that fits `--alg` (or picks it). */
async function privateKey (io: CliIo, keyFile: string, alg: JwtAlgorithm | undefined): Promise<SigningKey> {
  const text = await readSecret(io, { file: keyFile }, 'private key', { multiline: true })
  let key: KeyObject
  try {
    key = createPrivateKey(text)
  } catch {
    throw new CliError(`${keyFile} ${isPublicKey(text) ? 'holds a public key, which cannot sign: give the private key' : 'holds no readable PEM private key'}`)
  }
  const chosen = alg ?? defaultAlgorithm(key)
  if (HMAC_MIN_BYTES[chosen] !== undefined) throw new CliError(`${chosen} signs with an HMAC secret, not a private key: use --secret-file or --secret-env`)
  checkKeyFits(chosen, key)
  return { key, alg: chosen, label: 'private key' }
}

function isPublicKey (text: string): boolean {
  try {
    createPublicKey(text)
    return true
  } catch {
    return false
  }
}

/** `--secret-file`, `--secret-env` or standard input: an HMAC secret as long as the hash. */
async function hmacSecret (io: CliIo, values: OptionValues, alg: JwtAlgorithm | undefined): Promise<SigningKey> {
  const key = await readSecret(io, { file: stringOption(values, 'secret-file'), env: stringOption(values, 'secret-env'), pipe: SECRET_PIPE }, 'HMAC secret')
  const chosen = alg ?? 'HS256'
  const min = HMAC_MIN_BYTES[chosen]
  if (min === undefined) throw new CliError(`${chosen} signs with a private key: use --key-file`)
  if (Buffer.byteLength(key) < min) throw new CliError(`${chosen} needs a secret of at least ${min} bytes (RFC 7518 section 3.2); this one is shorter`)
  return { key, alg: chosen, label: 'HMAC secret' }
}

/**
 * Signs with the library's own signer. What is left for it to refuse after the checks here is a
 * secret the verifier would read as a key (a public key, a JWK): it could never verify as a secret.
 */
function signOrFail (payload: Record<string, unknown>, options: SignDaprJwtOptions, label: string): string {
  try {
    return signDaprJwt(payload, options)
  } catch (error) {
    // signDaprJwt's messages never hold the key; its prefix names an API the CLI user did not call.
    throw new CliError(`the ${label} is refused (${(error as Error).message.replace(/^[^]*?signDaprJwt: /, '')})`)
  }
}

export const sign: Command = {
  name: 'sign',
  summary: 'print a signed JWT (HS*, RS*, PS*, ES*, EdDSA) for tests and tooling',
  help: `Usage: fastify-dapr-token-auth sign (--key-file PEM | --secret-file PATH | --secret-env NAME | < secret) [options]

Prints a signed JWT, then a newline. Signs with the library's signDaprJwt (fast-jwt, the library
@fastify/jwt uses).

The key:
  -k, --key-file PATH     a PEM private key (RSA, EC P-256/384/521, Ed25519): RS*, PS*, ES* or EdDSA
      --secret-file PATH  an HMAC secret in a file: HS*
      --secret-env NAME   an HMAC secret in an environment variable: HS*
  (none of these)         an HMAC secret from standard input

Claims and header:
  -a, --alg ALG           HS256 (default for secrets), HS384, HS512, RS256 (default for RSA keys), RS384,
                          RS512, PS256, PS384, PS512, ES256, ES384, ES512 (default per curve), EdDSA
      --exp DURATION      expiry, counted from iat (now, unless --claim iat=N sets it): 90 (seconds),
                          30s, 15m, 1h (default), 7d; or 'never'
      --iss ISSUER        the iss claim
      --aud AUDIENCE      the aud claim (repeat for several)
      --sub SUBJECT       the sub claim
      --kid KEY_ID        the kid header, to pick the key out of a JWKS
      --claim NAME=VALUE  another claim; VALUE is parsed as JSON when it can be (repeatable).
                          exp, nbf and iat must be whole numbers of seconds since the epoch, above 0;
                          a claim also set by --exp, --iss, --aud or --sub is a conflict (exit 2);
                          --claim exp=N replaces the default --exp

HMAC secrets must be at least as long as the hash (32, 48 or 64 bytes; RFC 7518 section 3.2).
${ARGV_WARNING}

Example:
  fastify-dapr-token-auth sign --key-file key.pem --iss https://issuer.example --aud my-app --kid k1`,
  options: {
    'key-file': { type: 'string', short: 'k' },
    'secret-file': { type: 'string' },
    'secret-env': { type: 'string' },
    alg: { type: 'string', short: 'a' },
    exp: { type: 'string' },
    iss: { type: 'string' },
    aud: { type: 'string', multiple: true },
    sub: { type: 'string' },
    kid: { type: 'string' },
    claim: { type: 'string', multiple: true }
  },
  async run (values, io) {
    const keyFile = stringOption(values, 'key-file')
    const alg = choiceOption(values, 'alg', ALGORITHMS)
    if (keyFile !== undefined && (values['secret-file'] !== undefined || values['secret-env'] !== undefined)) {
      throw new CliError('give either --key-file or an HMAC secret, not both')
    }
    const { key, alg: algorithm, label } = keyFile === undefined ? await hmacSecret(io, values, alg) : await privateKey(io, keyFile, alg)

    const aud = listOption(values, 'aud')
    const payload = Object.fromEntries(listOption(values, 'claim').map(parseClaim))
    checkClaims(values, payload)
    // A `--claim exp=` is the expiry: the default `--exp` does not override it.
    const expiresMs = 'exp' in payload ? undefined : parseDuration(stringOption(values, 'exp') ?? '1h')
    const options: SignDaprJwtOptions = {
      key,
      algorithm,
      expiresIn: expiresMs === undefined ? null : expiresMs / 1000,
      ...(aud.length > 0 && { audience: aud.length === 1 ? aud[0] as string : aud }),
      ...optional('issuer', stringOption(values, 'iss')),
      ...optional('subject', stringOption(values, 'sub')),
      ...optional('kid', stringOption(values, 'kid'))
    }
    io.stdout(signOrFail(payload, options, label) + '\n')
    return EXIT.ok
  }
}

function optional<K extends string> (name: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : { [name]: value } as Record<K, string>
}
