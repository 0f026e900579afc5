import { readFile } from 'node:fs/promises'

/** Everything a command touches outside itself, so that tests drive the CLI in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** The whole of standard input, as UTF-8. Only read when a command is told to take its input there. */
  readonly readStdin: () => Promise<string>
  /** Whether standard input is a terminal (then a command that would read it explains how to pipe instead). */
  readonly stdinIsTTY: boolean
  readonly env: Readonly<Record<string, string | undefined>>
  readonly readFile: (path: string) => Promise<string>
}

/** Exit codes, the same for every command (stated in each `--help`). */
export const EXIT = {
  ok: 0,
  /** `verify`: the token was refused. */
  refused: 1,
  /** Bad usage or unusable input: unknown option, unreadable file, wrong key type. */
  usage: 2
} as const

/** A failure the user can act on: printed as one sentence, never with a stack. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode: number = EXIT.usage) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The real process's streams, environment and files. */
export function processIo (proc: NodeJS.Process): CliIo {
  return {
    stdout: text => { proc.stdout.write(text) },
    stderr: text => { proc.stderr.write(text) },
    readStdin: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of proc.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    stdinIsTTY: proc.stdin.isTTY === true,
    env: proc.env,
    readFile: async path => await readFile(path, 'utf8')
  }
}
