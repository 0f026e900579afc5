import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Command, OptionSpecs } from './command.js'
import { fingerprint } from './fingerprint.js'
import { generate } from './generate.js'
import { CliError, EXIT, processIo, type CliIo } from './io.js'
import { sign } from './sign.js'
import { verify } from './verify.js'

export { EXIT, CliError, type CliIo } from './io.js'
export type { Command } from './command.js'

const BIN = 'fastify-dapr-token-auth'

/** Every command, in the order `--help` lists them. A new command is one more entry. */
export const COMMANDS: readonly Command[] = [generate, fingerprint, verify, sign]

const EXIT_HELP = `Exit status: ${EXIT.ok} success, ${EXIT.refused} token refused (verify), ${EXIT.usage} bad usage or unusable input,\n` +
  `${EXIT.output} standard output could not be written.`

function version (): string {
  // dist/cli/index.js and lib/cli/index.ts both sit two levels below package.json.
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version
}

function usage (): string {
  const width = Math.max(...COMMANDS.map(command => command.name.length))
  return `Usage: ${BIN} <command> [options]

Commands:
${COMMANDS.map(command => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Run \`${BIN} <command> --help\` for a command's options.
${EXIT_HELP}
`
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and resolves to the exit code.
 * Never throws for anything the user did: every failure is one line on stderr and a non-zero code.
 */
export async function run (argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...afterFirst] = argv
  // `help generate` is `generate --help`.
  const helpFor = first === 'help' && afterFirst.length > 0
  const name = helpFor ? afterFirst[0] : first
  const rest = helpFor ? ['--help'] : afterFirst
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const text = usage()
    if (name === undefined) {
      io.stderr(text)
      return EXIT.usage
    }
    io.stdout(text)
    return EXIT.ok
  }
  if (name === '--version' || name === '-v') {
    io.stdout(version() + '\n')
    return EXIT.ok
  }
  const command = COMMANDS.find(candidate => candidate.name === name)
  if (command === undefined) {
    const shown = readsAsWord(name) ? ` ${JSON.stringify(name)}` : ' (not shown: it may be a secret)'
    io.stderr(`${BIN}: unknown command${shown}\n\n${usage()}`)
    return EXIT.usage
  }
  const options: OptionSpecs = { ...command.options, help: { type: 'boolean', short: 'h' } }
  try {
    const { values, tokens } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false, tokens: true })
    // parseArgs keeps the last of a repeated single-valued option: `--bytes 16 --bytes 32` would
    // quietly mean 32, and a repeated key or secret file quietly the last one.
    const seen = new Set<string>()
    for (const token of tokens) {
      if (token.kind !== 'option' || options[token.name]?.multiple === true || options[token.name]?.type === 'boolean') continue
      if (seen.has(token.name)) throw new CliError(`--${token.name} given more than once`, EXIT.usage)
      seen.add(token.name)
    }
    if (values.help === true) {
      io.stdout(`${command.help}\n\n${EXIT_HELP}\n`)
      return EXIT.ok
    }
    return await command.run(values, io)
  } catch (error) {
    const message = error instanceof CliError ? error.message : isParseArgsError(error) ? parseArgsMessage(error, rest, options) : undefined
    // Anything else is a bug of ours: say so, without a stack that might echo input.
    io.stderr(`${BIN} ${name}: ${message ?? `unexpected failure (${(error as Error).name})`}\n` +
      `Run \`${BIN} ${name} --help\` for usage.\n`)
    return error instanceof CliError ? error.exitCode : EXIT.usage
  }
}

/**
 * Whether a command or option name the CLI does not know may be printed back: a lower-case word, as
 * a misspelt name is, and not a secret typed in its place (which mixes cases, digits or symbols).
 */
function readsAsWord (text: string): boolean {
  return /^[a-z][a-z-]{0,29}$/.test(text)
}

/** parseArgs's message, except that a positional argument's value is never shown: it may be a secret typed there by mistake. */
function parseArgsMessage (error: Error, args: readonly string[], options: OptionSpecs): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return 'unexpected positional argument (its value is not shown: secrets are read from stdin or --*-file)'
  }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // parseArgs quotes a long option whole, `=value` included: name it ourselves, and only when it
    // reads as a word (a misspelt name). A short option it names by its one letter.
    const unknown = args.find(arg => arg.startsWith('--') && arg !== '--' && !Object.hasOwn(options, arg.slice(2).split('=')[0] as string))
    if (unknown !== undefined) {
      const name = unknown.slice(2).split('=')[0] as string
      return readsAsWord(name) ? `Unknown option '--${name}'` : 'unknown option (not shown: it may be a secret)'
    }
  }
  return error.message
}

function isParseArgsError (error: unknown): error is Error {
  return error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')
}

/** The bin's entry: runs with the real process and sets its exit code (stdout is drained first). */
export async function main (proc: NodeJS.Process = process): Promise<void> {
  const outputFailure = watchOutput(proc)
  const code = await run(proc.argv.slice(2), processIo(proc))
  const failure = await outputFailure()
  if (failure === undefined) {
    proc.exitCode = code
    return
  }
  // The result never arrived (a full disk, a closed pipe): not the command's own outcome. Never
  // what was being written, which may be a token.
  proc.stderr.write(`${BIN}: cannot write to standard output (${failure})\n`)
  proc.exitCode = EXIT.output
}

/**
 * Listens for write errors on stdout and stderr: unheard, one is an uncaught 'error' event, a stack
 * trace and exit code 1, which says "token refused". Returns a function resolving, once every
 * write so far has finished, to the first stdout error's code, or `undefined` when all went out.
 */
function watchOutput (proc: NodeJS.Process): () => Promise<string | undefined> {
  let failure: string | undefined
  const record = (error: NodeJS.ErrnoException): void => { failure ??= error.code ?? error.name }
  proc.stdout.on('error', record)
  // A failing stderr leaves nowhere to report anything: the exit code still says what happened.
  proc.stderr.on('error', () => {})
  return async () => {
    // Writes finish in order: this one's callback comes after every earlier write's outcome, and
    // the turn after it, after the 'error' event a failed one emits.
    await new Promise<void>(resolve => { proc.stdout.write('', () => { setImmediate(resolve) }) })
    return failure
  }
}
