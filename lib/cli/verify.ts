import { buildKeySet, matchToken } from '../compare.js'
import { fingerprint } from '../fingerprint.js'
import { choiceOption, listOption, stringOption, type Command, type OptionSpecs, type OptionValues, type VerifyMode } from './command.js'
import { CliError, EXIT, type CliIo } from './io.js'
import { ARGV_WARNING, readPresentedToken, readSecret, readTokenFile } from './secret-input.js'
import { jwtMode } from './verify-jwt.js'

const ROLE_ENV = { app: 'APP_API_TOKEN', sidecar: 'DAPR_API_TOKEN' } as const
const ROLES = ['app', 'sidecar'] as const

const shared: VerifyMode = {
  name: 'shared',
  options: {
    'expected-file': { type: 'string', multiple: true },
    'expected-env': { type: 'string', multiple: true },
    role: { type: 'string' }
  },
  help: `Shared tokens (the plugin's \`token\` option):
      --expected-file PATH   a file of valid tokens, read as fromFile reads it: one per line
                             (repeatable: rotation)
      --expected-env NAME    an environment variable holding a valid token (repeatable)
      --role app|sidecar     without --expected-*: read APP_API_TOKEN (app, default) or DAPR_API_TOKEN
                             (beside --expected-* it would be ignored, so it is a usage error)`,
  selects: () => true,
  async run (values, io) {
    // Options are checked before any input is read: a usage error first, whatever stdin holds.
    const sources = expectedSources(values)
    const presented = await readPresentedToken(io, stringOption(values, 'file'), stringOption(values, 'env'))
    const expected = await readExpected(sources, io)
    const set = buildKeySet(expected)
    const index = matchToken(presented, set)
    if (index !== -1) {
      io.stdout(`valid: matches configured token ${index} (fingerprint ${fingerprint(expected[index] as string)})\n`)
      return EXIT.ok
    }
    const fingerprints = expected.map(token => fingerprint(token)).join(', ')
    io.stdout(`refused: the token (fingerprint ${fingerprint(presented)}) matches none of the ${expected.length} configured token(s) (${fingerprints})\n`)
    for (const hint of explainMismatch(presented, expected)) io.stdout(`  hint: ${hint}\n`)
    return EXIT.refused
  }
}

/** Verification modes in order of precedence: the first whose options are present runs; `shared` is the fallback. */
export const VERIFY_MODES: readonly VerifyMode[] = [jwtMode, shared]

/** Where the configured tokens are read from: the --expected-* options, or the role's variable. */
function expectedSources (values: OptionValues): { files: string[], envs: string[] } {
  const files = listOption(values, 'expected-file')
  const envs = listOption(values, 'expected-env')
  const role = choiceOption(values, 'role', ROLES)
  if (files.length === 0 && envs.length === 0) return { files, envs: [ROLE_ENV[role ?? 'app']] }
  if (role !== undefined) {
    // It only picks the variable read when no token is named: beside --expected-* it would be ignored.
    throw new CliError(`--role has no effect with --expected-${files.length > 0 ? 'file' : 'env'}: it only picks the variable read without them (${ROLE_ENV.app} or ${ROLE_ENV.sidecar})`)
  }
  return { files, envs }
}

async function readExpected ({ files, envs }: { files: string[], envs: string[] }, io: CliIo): Promise<string[]> {
  const tokens: string[] = []
  for (const file of files) tokens.push(...await readTokenFile(io, file, 'configured tokens'))
  for (const env of envs) tokens.push(await readSecret(io, { env }, 'configured token'))
  return tokens
}

/**
 * Why a token that matches nothing was probably meant to match: the classic mistakes, told
 * without printing either token.
 */
export function explainMismatch (presented: string, expected: readonly string[]): string[] {
  const hints: string[] = []
  expected.forEach((token, index) => {
    if (presented.toLowerCase() === token.toLowerCase()) {
      hints.push(`it equals configured token ${index} except for letter case: tokens are case-sensitive`)
    } else if (isBase64Of(presented, token) || isBase64Of(token, presented)) {
      hints.push(`one of it and configured token ${index} is the base64 encoding of the other: a Kubernetes Secret's ` +
        '`data` values are base64, give the decoded value (secretKeyRef and secret volumes decode it)')
    }
  })
  if (presented.includes(', ')) {
    hints.push('it contains ", ": two header lines joined into one? A token header sent twice is always refused')
  }
  const length = Buffer.byteLength(presented)
  const lengths = expected.map(token => Buffer.byteLength(token))
  if (!lengths.includes(length)) {
    hints.push(`its length (${length} bytes) is that of no configured token (${lengths.join(', ')} bytes)`)
  }
  return hints
}

function isBase64Of (encoded: string, plain: string): boolean {
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded) && Buffer.from(encoded, 'base64').toString('utf8') === plain
}

/** Options of another mode than the one chosen would be ignored: a usage error naming both. */
function conflictsWith (mode: VerifyMode, values: OptionValues): void {
  const chosen = Object.keys(mode.options).filter(name => values[name] !== undefined)
  for (const other of VERIFY_MODES) {
    if (other === mode) continue
    const stray = Object.keys(other.options).find(name => values[name] !== undefined)
    if (stray === undefined) continue
    if (chosen.length === 0) {
      throw new CliError(`--${stray} is for ${other.name} verification, which needs its key option; without one, verify checks shared tokens`)
    }
    throw new CliError(`--${stray} (${other.name} verification) conflicts with --${chosen[0] as string} (${mode.name} verification): give the options of one mode only`)
  }
}

export const verify: Command = {
  name: 'verify',
  summary: 'check a token against the configured token(s), and say why it fails',
  help: `Usage: fastify-dapr-token-auth verify [--file PATH | --env NAME] [options] < token

Checks a token exactly as the plugin does (the plugin's own code) and says which configured token
it matches, or why it is refused. Shared tokens are shown only by their fingerprints; a valid JWT's
claims are printed.

The token to check:
  -f, --file PATH   read it from a file
      --env NAME    read it from an environment variable
  (neither)         read it from standard input

${VERIFY_MODES.map(mode => mode.help).join('\n\n')}

${ARGV_WARNING}

Example:
  printenv TOKEN_FROM_CALLER | fastify-dapr-token-auth verify --expected-file /var/run/secrets/app-api-token/token`,
  options: Object.assign({
    file: { type: 'string', short: 'f' },
    env: { type: 'string' }
  } satisfies OptionSpecs, ...VERIFY_MODES.map(mode => mode.options)),
  async run (values, io) {
    const mode = VERIFY_MODES.find(candidate => candidate.selects(values)) as VerifyMode
    conflictsWith(mode, values)
    return await mode.run(values, io)
  }
}
