import type { FastifyRequest } from 'fastify'
import { refusalError } from '../errors.js'
import { isHmac } from '../jwt/algorithms.js'
import { decodeObject } from '../jwt/decode.js'
import { fromJwks } from '../jwt/jwks.js'
import { prepareKey, SHORT_SECRET } from '../jwt/keys.js'
import type { DaprJwtOptions, JwtAlgorithm, JwtKey } from '../jwt/types.js'
import { resolveOptions } from '../options.js'
import type { TokenVerifier } from '../verifier.js'
import { ALGORITHMS, checkChoice, listOption, stringOption, type OptionValues, type VerifyMode } from './command.js'
import { CliError, EXIT, type CliIo } from './io.js'
import { isJwks, readJwks, type JwksFile } from './jwks-file.js'
import { readPresentedToken, readSecret } from './secret-input.js'

const KEY_OPTIONS = ['jwt-secret-file', 'jwt-secret-env', 'jwt-key-file', 'jwks-url'] as const

/** A request as the verifier sees it: no headers beyond the token, which it is handed directly. */
const CLI_REQUEST = { headers: {}, raw: { rawHeaders: [] }, method: 'GET', url: '/', routeOptions: { config: {} } } as unknown as FastifyRequest

/** The key a token is checked against, from whichever key option was given. */
interface KeyChoice {
  readonly key: DaprJwtOptions['key']
  /** The algorithms allowed without --alg; none: the one the key implies. */
  readonly defaults?: readonly JwtAlgorithm[]
  /** A JWKS, whose public keys never verify an HMAC token. */
  readonly jwks?: boolean
  /** Explains an unknown `kid` (a JWKS file knows its ids). */
  readonly explainUnknown?: JwksFile['explainUnknown']
  /** Aborts a JWKS fetch still in flight once the check is done. */
  readonly release?: () => void
}

/**
 * `--jwt-key-file`: a PEM public key, a JWK or a JWKS document as JSON. Anything else would reach
 * the plugin as text and be taken as an HMAC secret: an HMAC secret has its own flag, so here it is
 * a mistake. `algorithmsGiven`: whether --alg was, which a JWKS with no usable key needs.
 */
async function parseKeyFile (text: string, algorithmsGiven: boolean): Promise<KeyChoice> {
  let key: JwtKey = text
  if (text.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CliError('the --jwt-key-file holds neither a PEM key nor a JWK or JWKS in JSON')
    }
    if (isJwks(parsed)) {
      const jwks = await readJwks(parsed, algorithmsGiven)
      return { key: jwks.resolver, defaults: jwks.algorithms, jwks: true, explainUnknown: jwks.explainUnknown }
    }
    key = parsed as JwtKey
  }
  // A secret (an `oct` JWK, or text that is no key and would become one, however short): not here.
  const prepared = prepareKey(key)
  if (typeof prepared === 'string' ? prepared === SHORT_SECRET : prepared.hmac) {
    throw new CliError('the --jwt-key-file holds no public key (PEM, base64 or hex DER), public JWK or JWKS; for an HMAC secret use --jwt-secret-file')
  }
  return { key }
}

async function keyChoice (values: OptionValues, io: CliIo): Promise<KeyChoice> {
  const url = stringOption(values, 'jwks-url')
  if (url !== undefined) {
    const jwks = fromJwksOrFail(url)
    return { key: jwks, jwks: true, release: () => jwks.close() }
  }
  const keyFile = stringOption(values, 'jwt-key-file')
  if (keyFile !== undefined) return await parseKeyFile(await readSecret(io, { file: keyFile }, 'JWT key', { multiline: true }), values.alg !== undefined)
  // This mode runs only with one of the key options: here, --jwt-secret-file or --jwt-secret-env.
  const file = stringOption(values, 'jwt-secret-file')
  const secret = await readSecret(io, file === undefined ? { env: stringOption(values, 'jwt-secret-env') as string } : { file }, 'JWT secret')
  // A secret is one only when pinned to HMAC (the plugin's rule): HS256 unless --alg says otherwise.
  return { key: secret, defaults: ['HS256'] }
}

/** --alg, each one of the algorithms there are (never shown back: it may be a secret). */
function algorithmsOption (values: OptionValues): JwtAlgorithm[] {
  const algorithms = listOption(values, 'alg')
  for (const algorithm of algorithms) checkChoice('alg', algorithm, ALGORITHMS)
  return algorithms as JwtAlgorithm[]
}

/** JWT verification with the plugin's `jwt` option: a secret, a public key, JWK or JWKS file, or a JWKS endpoint. */
export const jwtMode: VerifyMode = {
  name: 'jwt',
  options: {
    'jwt-secret-file': { type: 'string' },
    'jwt-secret-env': { type: 'string' },
    'jwt-key-file': { type: 'string' },
    'jwks-url': { type: 'string' },
    alg: { type: 'string', multiple: true },
    iss: { type: 'string' },
    aud: { type: 'string' },
    sub: { type: 'string' }
  },
  help: `JWT (the plugin's \`jwt\` option), with one of:
      --jwt-secret-file PATH  an HMAC secret in a file
      --jwt-secret-env NAME   an HMAC secret in an environment variable
      --jwt-key-file PATH     a PEM public key, a JWK as JSON, or a JWKS document ({"keys": [...]}):
                              its key is picked by the token's kid (default --alg: what its keys imply)
      --jwks-url URL          a JWKS endpoint (https, or http on the loopback interface)
    and, to check as your plugin options do:
      --alg ALG               allowed algorithm (repeatable; default: what the key implies)
      --iss ISSUER, --aud AUDIENCE, --sub SUBJECT   required claim values`,
  selects: values => KEY_OPTIONS.some(name => values[name] !== undefined),
  async run (values, io) {
    const given = KEY_OPTIONS.filter(name => values[name] !== undefined)
    if (given.length > 1) throw new CliError(`give one JWT key source, not ${given.map(name => `--${name}`).join(' and ')}`)
    const algorithms = algorithmsOption(values)
    const token = await readPresentedToken(io, stringOption(values, 'file'), stringOption(values, 'env'))
    const choice = await keyChoice(values, io)
    const { release = () => {} } = choice
    const hmac = algorithms.find(isHmac)
    if (choice.jwks === true && hmac !== undefined) {
      release()
      throw new CliError(`--alg ${hmac}: a JWKS holds public keys, which never verify an HMAC (HS*) token; name the algorithm(s) your issuer signs with, for example --alg RS256`)
    }
    const jwt: DaprJwtOptions = {
      key: choice.key,
      ...(algorithms.length > 0 ? { algorithms } : choice.defaults === undefined ? {} : { algorithms: choice.defaults }),
      ...optionalClaim('issuer', stringOption(values, 'iss')),
      ...optionalClaim('audience', stringOption(values, 'aud')),
      ...optionalClaim('subject', stringOption(values, 'sub'))
    }
    let outcome: Awaited<ReturnType<TokenVerifier['verify']>>
    try {
      outcome = await optionsOrFail(jwt).verify(token, CLI_REQUEST)
    } catch (error) {
      release()
      if (error instanceof CliError) throw error
      // The key source's own failure (a JWKS endpoint out of reach). The plugin answers it with a
      // generic 503; the operator running this command needs the cause to act on it.
      throw new CliError(`the key source failed: ${(error as Error).message}${causeOf(error)}`)
    }
    release()
    if (typeof outcome === 'string') {
      const error = refusalError(outcome)
      io.stdout(`refused: ${error.message} (${error.code})${hint(outcome, token, jwt, algorithms.length > 0, choice.explainUnknown)}\n`)
      return EXIT.refused
    }
    io.stdout(`valid: JWT accepted; claims ${JSON.stringify((outcome as { claims: unknown }).claims)}\n`)
    return EXIT.ok
  }
}

/**
 * For the operator, what a refusal was about: the token's `alg` against the allowed ones, or which
 * of `iss`/`aud`/`sub` did not match. From the token's claims as sent (the signature has been
 * checked by then for a claim refusal); never the token itself.
 */
function hint (reason: string, token: string, jwt: DaprJwtOptions, algGiven: boolean, explainUnknown: KeyChoice['explainUnknown']): string {
  // A refusal for the algorithm, the key or a claim comes after both parts decoded.
  const [header, payload] = token.split('.', 2).map(part => decodeObject(part) as Record<string, unknown>) as [Record<string, unknown>, Record<string, unknown>]
  if (reason === 'unknownKey') return explainUnknown === undefined ? '' : `: ${explainUnknown({ header })}`
  if (reason === 'algorithm') {
    const allowed = algGiven ? (jwt.algorithms as readonly string[]).join(', ') : `${jwt.algorithms?.join(', ') ?? 'the one the key implies'} by default (pass --alg to allow another the key fits)`
    return `: the token says alg ${JSON.stringify(header.alg)}; allowed: ${allowed}`
  }
  const claims = ['issuer', 'audience', 'subject'] as const
  if (reason === 'missingClaim') {
    // Only --iss, --aud and --sub make a claim required here.
    const absent = claims.filter(option => jwt[option] !== undefined && payload[option.slice(0, 3)] === undefined)
    return `: the token has no ${absent.map(option => option.slice(0, 3)).join(', ')} (asked for by ${absent.map(option => `--${option.slice(0, 3)}`).join(', ')})`
  }
  if (reason !== 'claim') return ''
  const wrong = claims.filter(option => {
    const expected = jwt[option]
    const claim = payload[option.slice(0, 3)]
    return expected !== undefined && !(Array.isArray(claim) && option === 'audience' ? claim.includes(expected) : claim === expected)
  })
  const said = (option: typeof wrong[number]): string => {
    const claim = option.slice(0, 3)
    return `${claim} is ${JSON.stringify(payload[claim])}, not --${claim} ${JSON.stringify(jwt[option])}`
  }
  return wrong.length === 0 ? ': a claim has the wrong type (exp, nbf and iat are numbers, iss and sub strings, aud a string or strings)' : `: ${wrong.map(said).join('; ')}`
}

/** `(cause: ...)` for an error's chain: a refused connection, a timeout, an HTTP status. */
export function causeOf (error: unknown): string {
  const causes: string[] = []
  let cause = (error as { cause?: unknown }).cause
  for (let depth = 0; cause !== undefined && cause !== null && depth < 4; depth++) {
    const { code, name, message } = cause as { code?: unknown, name?: unknown, message?: unknown }
    const text = typeof code === 'string' ? code : name === 'TimeoutError' ? 'timed out' : typeof message === 'string' ? message : String(cause)
    if (text !== '' && !causes.includes(text)) causes.push(text)
    cause = (cause as { cause?: unknown }).cause
  }
  return causes.length === 0 ? '' : ` (cause: ${causes.join(': ')})`
}

function optionalClaim<K extends string> (name: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : { [name]: value } as Record<K, string>
}

/**
 * The plugin's option names in its messages, told as this command's flags, and hints about options
 * the command does not have (`allowHttp`, `headers`) dropped.
 */
const CLI_WORDING: ReadonlyArray<readonly [string, string]> = [
  ['`algorithms: [\'HS256\']`', '--alg HS256'],
  ['`jwt.algorithms`', '--alg'],
  [', or with allowHttp)', ')'],
  [': send them with `headers`', '']
]

function cliWording (message: string): string {
  return CLI_WORDING.reduce((text, [plugin, cli]) => text.replace(plugin, cli), message)
}

function fromJwksOrFail (url: string): ReturnType<typeof fromJwks> {
  try {
    return fromJwks({ url })
  } catch (error) {
    throw new CliError(cliWording((error as Error).message))
  }
}

function optionsOrFail (jwt: DaprJwtOptions): TokenVerifier {
  try {
    return resolveOptions({ jwt }, {}).verifier as TokenVerifier
  } catch (error) {
    const message = (error as Error).message
    // The plugin's option names, told as this command's flags.
    if (message.includes('`jwt.algorithms` is required')) {
      throw new CliError('--jwks-url needs --alg: name the algorithm(s) your issuer signs with, for example --alg RS256')
    }
    throw new CliError(cliWording(message))
  }
}
