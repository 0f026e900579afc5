import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseTokenLines } from '../keys/file.js'
import { CliError, InputTooLargeError, MAX_INPUT_TEXT, type CliIo } from './io.js'

/**
 * What someone running a command on a terminal is told to do instead of typing at it: each
 * command reads its input through options of its own (`sign --secret-file`, `verify --file`).
 */
export interface PipeHint {
  /** A variable to show in the `printenv NAME | ...` example. */
  readonly variable: string
  /** The command's options that name a file or a variable for this input. */
  readonly flags: string
}

/** The token `verify` and `fingerprint` read: `--file` or `--env`. */
export const TOKEN_PIPE: PipeHint = { variable: 'APP_API_TOKEN', flags: '--file or --env' }

/**
 * Where a secret comes from on the command line. Never from argv itself: arguments are visible to
 * every user of the machine in `ps` and `/proc/<pid>/cmdline`, and they land in shell history.
 */
export interface SecretSource {
  /** A file holding the secret (a mounted Kubernetes Secret, for one). */
  file?: string | undefined
  /** An environment variable holding the secret. */
  env?: string | undefined
  /** With neither: read from standard input, and what to say when that is a terminal. */
  pipe?: PipeHint
}

/** Shared help text: why secrets are never read from arguments. */
export const ARGV_WARNING = 'Secrets are never taken as arguments: arguments show in `ps` and /proc/<pid>/cmdline to every\n' +
  'user of the machine, and in shell history. Pipe them in, or name a file or an environment variable.'

/** What a shell accepts as a variable's name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/*
 * Errors name the variable or file they read, except where the name may be a secret pasted in its
 * place: a variable's name is shown when written as names are by convention (upper case, digits,
 * `_`), which a random token almost never is; a path when it has a `/` and names a directory
 * other than the root that exists, which a token (a JWT has no `/`, base64 may) almost never does.
 */
function envWhere (name: string): string {
  return /^[A-Z_][A-Z0-9_]{0,63}$/.test(name) ? `environment variable ${name}` : 'the environment variable named (its name not shown: it may be a secret)'
}

function fileWhere (path: string): string {
  const directory = dirname(path)
  return path.includes('/') && directory !== '/' && existsSync(directory) ? `file ${path}` : 'the file named (its path not shown: it may be a secret)'
}

/** Input past the limit: reading stopped there, and nothing of it is used. */
function tooLarge (label: string, where: string): CliError {
  return new CliError(`the ${label} from ${where} is larger than ${MAX_INPUT_TEXT}: reading stopped there (a token, secret, PEM key or JWKS is far smaller)`)
}

/** Reads a file through `io`, a failure told as a usage error naming it. */
async function readFileOrFail (io: CliIo, file: string, label: string): Promise<string> {
  try {
    return await io.readFile(file)
  } catch (error) {
    if (error instanceof InputTooLargeError) throw tooLarge(label, fileWhere(file))
    throw new CliError(`cannot read the ${label} from ${fileWhere(file)}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
}

async function readStdinOrFail (io: CliIo, label: string): Promise<string> {
  try {
    return await io.readStdin()
  } catch (error) {
    // Any other failure is unexpected, and reported as such.
    if (error instanceof InputTooLargeError) throw tooLarge(label, 'standard input')
    throw error
  }
}

/**
 * Reads one secret, trimmed the way the plugin trims configured tokens (a Secret written with
 * `echo` ends in a newline). `label` names it in errors; the value never appears in one. `multiline` is for PEM keys; a token or
 * secret must be one line, as a header value cannot hold a line break. A source that may name
 * neither a file nor a variable must say how to give it on a terminal (`pipe`), in the words of
 * the command's own options.
 */
export async function readSecret (io: CliIo, source: { file: string } | { env: string }, label: string, options?: { multiline?: boolean }): Promise<string>
export async function readSecret (io: CliIo, source: SecretSource & { pipe: PipeHint }, label: string, options?: { multiline?: boolean }): Promise<string>
export async function readSecret (io: CliIo, source: SecretSource, label: string, { multiline = false } = {}): Promise<string> {
  if (source.file !== undefined && source.env !== undefined) {
    throw new CliError(`give the ${label} as a file or an environment variable, not both`)
  }
  let raw: string
  let where: string
  if (source.file !== undefined) {
    where = fileWhere(source.file)
    raw = await readFileOrFail(io, source.file, label)
  } else if (source.env !== undefined) {
    // A secret pasted where its variable's name belongs must not be printed back.
    if (!ENV_NAME.test(source.env)) throw new CliError(`the ${label}: the environment variable name given is not a name (not shown: it may be a secret)`)
    where = envWhere(source.env)
    const set = io.env[source.env]
    if (set === undefined) throw new CliError(`the ${label} from ${where} is not set`)
    raw = set
  } else {
    if (io.stdinIsTTY) {
      // The overloads make `pipe` present whenever neither a file nor a variable may be.
      const { variable, flags } = source.pipe as PipeHint
      throw new CliError(`pipe the ${label} into standard input (for example \`printenv ${variable} | ...\`), or use ${flags}`)
    }
    where = 'standard input'
    raw = await readStdinOrFail(io, label)
  }
  const value = raw.trim()
  if (value === '') throw new CliError(`the ${label} from ${where} is empty`)
  if (!multiline && /[\r\n]/.test(value)) {
    // A token travels in a header; a secret is one line too, and a PEM key has a flag of its own.
    const why = label.includes('token') ? 'a header value cannot contain a line break' : 'a secret is one line (a PEM key goes in a key file: --jwt-key-file, --key-file)'
    throw new CliError(`the ${label} from ${where} holds more than one line; ${why}`)
  }
  return value
}

/** The token `verify` checks: `--file`, `--env`, or standard input. */
export async function readPresentedToken (io: CliIo, file: string | undefined, env: string | undefined): Promise<string> {
  return await readSecret(io, { file, env, pipe: TOKEN_PIPE }, 'token to verify')
}

/**
 * The tokens in a file read exactly as `fromFile` reads it (its own parser): one per line, blank
 * lines, surrounding whitespace, CRLF and a BOM ignored. At least one, else a usage error.
 * `label` names what the file holds (`token`, `configured tokens`).
 */
export async function readTokenFile (io: CliIo, file: string, label: string): Promise<string[]> {
  const tokens = parseTokenLines(await readFileOrFail(io, file, label))
  if (tokens.length === 0) throw new CliError(`${fileWhere(file)} holds no ${label}: it is empty or blank`)
  return tokens
}
