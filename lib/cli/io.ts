import { createReadStream } from 'node:fs'

/** Everything a command touches outside itself, so that tests drive the CLI in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /**
   * The whole of standard input, as UTF-8. Only read when a command is told to take its input there.
   * Rejects with `InputTooLargeError` past `MAX_INPUT_BYTES`.
   */
  readonly readStdin: () => Promise<string>
  /** Whether standard input is a terminal (then a command that would read it explains how to pipe instead). */
  readonly stdinIsTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
  /** A file's text, as UTF-8. Rejects with `InputTooLargeError` past `MAX_INPUT_BYTES`. */
  readonly readFile: (path: string) => Promise<string>
}

/** Exit codes, the same for every command (stated in each `--help`). */
export const EXIT = {
  ok: 0,
  /** `verify`: the token was refused. */
  refused: 1,
  /** Bad usage or unusable input: unknown option, unreadable file, wrong key type. */
  usage: 2,
  /** Standard output could not be written (a full disk, a closed pipe): the result never arrived. */
  output: 3
} as const

/**
 * The most read from standard input or a file: a token is one header value, a secret, a PEM key or
 * a JWKS a few kilobytes. `yes | fastify-dapr-token-auth fingerprint` must end, not fill memory.
 */
export const MAX_INPUT_BYTES = 1024 * 1024

/** How `MAX_INPUT_BYTES` is said in messages. */
export const MAX_INPUT_TEXT = '1 MiB'

/** A read that stopped at `MAX_INPUT_BYTES`; the command says what it was reading. */
export class InputTooLargeError extends Error {
  constructor () {
    super(`input larger than ${MAX_INPUT_TEXT}`)
    this.name = 'InputTooLargeError'
  }
}

/** A failure the user can act on: printed as one sentence, never with a stack. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode: number = EXIT.usage) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A stream's bytes as UTF-8, read no further than `MAX_INPUT_BYTES`. */
async function readBounded (stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    total += (chunk as Buffer).length
    // Leaving the loop destroys the stream: whatever is still to come is never read.
    if (total > MAX_INPUT_BYTES) throw new InputTooLargeError()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The real process's streams, environment and files. */
export function processIo (proc: NodeJS.Process): CliIo {
  return {
    stdout: text => { proc.stdout.write(text) },
    stderr: text => { proc.stderr.write(text) },
    readStdin: async () => await readBounded(proc.stdin),
    stdinIsTTY: proc.stdin.isTTY === true,
    env: proc.env,
    // A stream, not readFile: `--file /dev/zero` or a FIFO that never ends must stop at the limit too.
    readFile: async path => await readBounded(createReadStream(path))
  }
}
