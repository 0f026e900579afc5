import { readFile } from 'node:fs/promises'
import { run, type CliIo } from '../../lib/cli/index.js'

export interface Captured { code: number, stdout: string, stderr: string }

/** Runs the CLI in-process with the given stdin, environment and a fake terminal flag. */
export async function cli (argv: string[], { stdin, env = {}, tty = false, io = {} }: { stdin?: string, env?: Record<string, string>, tty?: boolean, io?: Partial<CliIo> } = {}): Promise<Captured> {
  let stdout = ''
  let stderr = ''
  let stdinReads = 0
  const code = await run(argv, {
    stdout: text => { stdout += text },
    stderr: text => { stderr += text },
    readStdin: async () => {
      stdinReads++
      if (stdin === undefined) throw new Error('stdin read by a command that should not read it')
      return stdin
    },
    stdinIsTTY: tty,
    env,
    readFile: async path => await readFile(path, 'utf8'),
    ...io
  })
  if (stdinReads > 1) throw new Error('stdin read twice')
  return { code, stdout, stderr }
}

/** The line every usage error ends with. */
export const HELP_HINT = (command: string): string => `Run \`fastify-dapr-token-auth ${command} --help\` for usage.\n`
