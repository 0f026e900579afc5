import { fingerprint as fingerprintOf } from '../fingerprint.js'
import { stringOption, type Command } from './command.js'
import { EXIT } from './io.js'
import { ARGV_WARNING, readSecret } from './secret-input.js'

export const fingerprint: Command = {
  name: 'fingerprint',
  summary: 'print the short hash of a token that logs and request.daprToken show',
  help: `Usage: fastify-dapr-token-auth fingerprint [--file PATH | --env NAME] < token

Prints the token's fingerprint: the first 12 hex digits of its SHA-256, as request.daprToken.fingerprint
and the logs show it. Use it to tell which token a caller used without ever printing a token.
The token is trimmed first, as the plugin trims configured tokens.

Options:
  -f, --file PATH   read the token from a file (a mounted Kubernetes Secret, for one)
      --env NAME    read the token from an environment variable
  (neither)         read the token from standard input

${ARGV_WARNING}

Example:
  printenv APP_API_TOKEN | fastify-dapr-token-auth fingerprint`,
  options: {
    file: { type: 'string', short: 'f' },
    env: { type: 'string' }
  },
  async run (values, io) {
    const token = await readSecret(io, { file: stringOption(values, 'file'), env: stringOption(values, 'env') }, 'token')
    io.stdout(fingerprintOf(token) + '\n')
    return EXIT.ok
  }
}
