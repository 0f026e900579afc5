import { fingerprint as fingerprintOf } from '../fingerprint.js'
import { stringOption, type Command } from './command.js'
import { EXIT } from './io.js'
import { ARGV_WARNING, readSecret, readTokenFile, TOKEN_PIPE } from './secret-input.js'

export const fingerprint: Command = {
  name: 'fingerprint',
  summary: 'print the short hash of a token that logs and request.daprToken show',
  help: `Usage: fastify-dapr-token-auth fingerprint [--file PATH | --env NAME] < token

Prints the token's fingerprint: the first 12 hex digits of its SHA-256, as request.daprToken.fingerprint
and the logs show it. Use it to tell which token a caller used without ever printing a token.
The token is trimmed first, as the plugin trims configured tokens. A --file is read as fromFile
reads it (one token per line, blank lines ignored): one fingerprint per token, in the file's
order, as fromFile's state().fingerprints lists them.

Options:
  -f, --file PATH   read the token(s) from a file (a mounted Kubernetes Secret, for one)
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
    const file = stringOption(values, 'file')
    const env = stringOption(values, 'env')
    const tokens = file !== undefined && env === undefined
      ? await readTokenFile(io, file, 'token')
      : [await readSecret(io, { file, env, pipe: TOKEN_PIPE }, 'token')]
    io.stdout(tokens.map(token => fingerprintOf(token) + '\n').join(''))
    return EXIT.ok
  }
}
