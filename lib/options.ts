import { normaliseTokens } from './compare.js'
import { DaprTokenNotConfiguredError, DaprTokenOptionsError } from './errors.js'
import { buildExemptMatcher, type ExemptMatcher, type ExemptOption } from './exempt.js'
import { jwtVerifier } from './jwt/verify.js'
import { checkOptionNames } from './option-names.js'
import type { DaprJwtOptions } from './jwt/types.js'
import { resolverVerifier, staticVerifier, type KeyResolver, type TokenList } from './keys/static.js'
import { resolveGrpcOption, type GrpcDetection, type GrpcOption } from './grpc.js'
import type { ErrorResponse } from './refusal.js'
import type { TokenVerifier } from './verifier.js'

/**
 * `app`: a server behind a Dapr sidecar, verifying the calls its sidecar makes (`APP_API_TOKEN`).
 * `sidecar`: a Dapr-compatible API verifying its callers exactly as daprd does (`DAPR_API_TOKEN`).
 */
export type DaprTokenRole = 'app' | 'sidecar'

export type DaprTokenLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface DaprTokenAuthOptions {
  /** Default `'app'`. Picks the env var, the default exemptions and the default error response. */
  role?: DaprTokenRole
  /** The valid shared token(s), all accepted (rotation overlap); trimmed. Overrides the env var. */
  token?: TokenList
  /** Where the valid tokens come from instead of `token`/the env var (files, secrets, rotation). */
  keyResolver?: KeyResolver
  /**
   * Verify the header value as a signed JWT (secret, public key, JWK, key resolver or `fromJwks`)
   * instead of a shared token. Excludes `token` and `keyResolver`.
   */
  jwt?: DaprJwtOptions
  /** Env var read when neither `token` nor `keyResolver` is given. Default per role. */
  envVar?: string
  /** Default `'dapr-api-token'`. */
  header?: string
  /**
   * Routes that need no token, as the router sees them. Default: `app` exempts `GET`/`HEAD /healthz`,
   * `sidecar` exactly what daprd exempts. `[]` exempts nothing. Per route, `config: { daprTokenAuth: false }`.
   */
  exempt?: ExemptOption
  /** Default `true`: remove the token header once it is verified, as daprd does. */
  stripHeader?: boolean
  /** Default `true`: protect every route of the instance. `false`: only `fastify.verifyDaprToken` is added. */
  addHook?: boolean
  /** Default `'daprd'` for `sidecar`, `'fastify'` for `app`. */
  errorResponse?: ErrorResponse
  /**
   * What to do when no token is configured. Default `'fail'`: `ready()` rejects. `'allow'` mimics
   * daprd, which silently turns auth off: every request passes, and a warning is logged at start.
   */
  whenUnconfigured?: 'fail' | 'allow'
  /** Level of the log line for each refused request (reason only, never the token). Default `'info'`. */
  logLevel?: DaprTokenLogLevel
  /**
   * Default `true`: a refused native gRPC call (HTTP/2, `application/grpc…`) is answered as daprd
   * answers it, `grpc-status: 16` in a trailers-only response, whatever `errorResponse` says.
   * `{ web: true, connect: true }` also recognises gRPC-Web and Connect; `false` turns this off.
   */
  grpc?: GrpcOption
}

/** Everything the hook needs, resolved once at registration. */
export interface ResolvedOptions {
  header: string
  verifier: TokenVerifier | null
  isExempt: ExemptMatcher
  stripHeader: boolean
  addHook: boolean
  errorResponse: ErrorResponse
  logLevel: DaprTokenLogLevel
  /** Set when no token is configured: what `ready()` rejects with, unless `whenUnconfigured: 'allow'`. */
  unconfigured: InstanceType<typeof DaprTokenNotConfiguredError> | null
  whenUnconfigured: 'fail' | 'allow'
  /** Which gRPC-family calls the hook refuses in their own format; `null`: none. */
  grpc: GrpcDetection | null
}

const ROLE_DEFAULTS = {
  app: {
    envVar: 'APP_API_TOKEN',
    // daprd's app health probe sends no token.
    exempt: [{ method: ['GET', 'HEAD'], url: '/healthz' }],
    errorResponse: 'fastify'
  },
  sidecar: {
    envVar: 'DAPR_API_TOKEN',
    // Exactly daprd's list: GET only, these two paths only.
    exempt: ['GET /v1.0/healthz', 'GET /v1.0/healthz/outbound'],
    errorResponse: 'daprd'
  }
} as const satisfies Record<DaprTokenRole, { envVar: string, exempt: ExemptOption, errorResponse: ErrorResponse }>

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

function fail (message: string): never {
  throw new DaprTokenOptionsError(message)
}

function oneOf<T extends string> (name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) fail(`\`${name}\` must be one of ${allowed.map(a => `'${a}'`).join(', ')}`)
  return value as T
}

function flag (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(`\`${name}\` must be true or false`)
  return value
}

const OPTION_NAMES = ['role', 'token', 'keyResolver', 'jwt', 'envVar', 'header', 'exempt', 'stripHeader',
  'addHook', 'errorResponse', 'whenUnconfigured', 'logLevel', 'grpc'] as const
/** What Fastify's `register()` itself reads from the same object. */
const REGISTER_OPTION_NAMES = new Set(['prefix', 'logSerializers'])

export function resolveOptions (options: DaprTokenAuthOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (options === null || typeof options !== 'object') fail('options must be an object')
  checkOptionNames(options, OPTION_NAMES, { also: REGISTER_OPTION_NAMES })
  const role = oneOf('role', options.role, ['app', 'sidecar'], 'app')
  const defaults = ROLE_DEFAULTS[role]

  const header = options.header === undefined ? 'dapr-api-token' : options.header
  if (typeof header !== 'string' || !HEADER_NAME.test(header.toLowerCase())) fail('`header` must be a valid HTTP header name')

  const errorResponse = options.errorResponse ?? defaults.errorResponse
  if (errorResponse !== 'daprd' && errorResponse !== 'fastify' && typeof errorResponse !== 'function') {
    fail('`errorResponse` must be \'daprd\', \'fastify\' or a function returning the body')
  }
  const logLevel = options.logLevel ?? 'info'
  if (!LOG_LEVELS.has(logLevel)) fail(`\`logLevel\` must be a pino level or 'silent', not ${JSON.stringify(logLevel)}`)

  const envVar = options.envVar ?? defaults.envVar
  if (typeof envVar !== 'string' || envVar === '') fail('`envVar` must be a non-empty string')

  const resolved: ResolvedOptions = {
    header: header.toLowerCase(),
    verifier: null,
    isExempt: buildExemptMatcher(options.exempt ?? defaults.exempt),
    stripHeader: flag('stripHeader', options.stripHeader, true),
    addHook: flag('addHook', options.addHook, true),
    errorResponse,
    logLevel,
    unconfigured: null,
    whenUnconfigured: oneOf('whenUnconfigured', options.whenUnconfigured, ['fail', 'allow'], 'fail'),
    grpc: resolveGrpcOption(options.grpc, fail)
  }

  if (options.jwt !== undefined) {
    if (options.token !== undefined || options.keyResolver !== undefined) fail('pass either `jwt` or `token`/`keyResolver`, not both')
    resolved.verifier = jwtVerifier(options.jwt, resolved.header)
    return resolved
  }

  if (options.keyResolver !== undefined) {
    if (options.token !== undefined) fail('pass either `token` or `keyResolver`, not both')
    if (typeof options.keyResolver !== 'function') fail('`keyResolver` must be a function (request) => token(s)')
    resolved.verifier = resolverVerifier(options.keyResolver, resolved.header)
    return resolved
  }

  let configured: readonly string[]
  if (options.token !== undefined) {
    if (typeof options.token !== 'string' && !Array.isArray(options.token)) fail('`token` must be a string or an array of strings')
    if (Array.isArray(options.token) && !options.token.every(t => typeof t === 'string')) fail('every `token` entry must be a string')
    configured = typeof options.token === 'string' ? [options.token] : options.token
  } else {
    configured = [env[envVar] ?? '']
  }
  if (normaliseTokens(configured).length === 0) resolved.unconfigured = new DaprTokenNotConfiguredError(envVar)
  else resolved.verifier = staticVerifier(configured, resolved.header)
  return resolved
}
