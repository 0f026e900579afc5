import { randomBytes } from 'node:crypto'
import { choiceOption, stringOption, type Command } from './command.js'
import { CliError, EXIT } from './io.js'

const ENCODINGS = ['base64', 'base64url', 'hex'] as const
type Encoding = typeof ENCODINGS[number]

/** 16 bytes is what the Dapr docs generate (`openssl rand 16 | base64`); fewer is too guessable. */
const MIN_BYTES = 16
const MAX_BYTES = 1024

export const generate: Command = {
  name: 'generate',
  summary: 'print a new random token (CSPRNG)',
  help: `Usage: fastify-dapr-token-auth generate [--bytes N] [--encoding base64|base64url|hex]

Prints a new random token from the operating system's CSPRNG (crypto.randomBytes), then a newline.

Options:
  -b, --bytes N        random bytes before encoding, ${MIN_BYTES} to ${MAX_BYTES} (default 32)
  -e, --encoding ENC   base64url (default: safe in env vars, URLs and headers), base64, or hex

Example (a Kubernetes Secret for dapr.io/app-token-secret):
  kubectl create secret generic app-api-token --from-literal=token="$(fastify-dapr-token-auth generate)"`,
  options: {
    bytes: { type: 'string', short: 'b' },
    encoding: { type: 'string', short: 'e' }
  },
  async run (values, io) {
    const bytesText = stringOption(values, 'bytes') ?? '32'
    const bytes = Number(bytesText)
    // The value is not printed back: it may be a secret pasted in the wrong place.
    if (!/^\d+$/.test(bytesText) || bytes < MIN_BYTES || bytes > MAX_BYTES) {
      throw new CliError(`--bytes must be a whole number from ${MIN_BYTES} to ${MAX_BYTES}`)
    }
    const encoding: Encoding = choiceOption(values, 'encoding', ENCODINGS) ?? 'base64url'
    io.stdout(randomBytes(bytes).toString(encoding) + '\n')
    return EXIT.ok
  }
}
