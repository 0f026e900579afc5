import { DaprTokenOptionsError } from './errors.js'

/** How an options object is named in the message: `fromJwks: unknown option \`timeout\``, `unknown option \`jwt.audiance\``. */
export interface OptionNaming {
  /** The function the options belong to, put before the message (`fromJwks`). */
  readonly source?: string
  /** Put before each option name (`jwt.`). */
  readonly prefix?: string
  /** Names read by someone else from the same object (Fastify's `register()` options): accepted, never suggested. */
  readonly also?: ReadonlySet<string>
}

/**
 * Refuses an options object with a name that is not one of `known` (`FST_DAPR_TOKEN_OPTIONS`, with
 * the nearest known name). A misspelt option would otherwise be ignored in silence, leaving a
 * default in force: the env var instead of the intended tokens, no `aud` check instead of
 * `audience`, HS256 instead of `algorithms`. Plain JavaScript and options built at run time get no
 * help from the types.
 */
export function checkOptionNames (options: object, known: readonly string[], { source, prefix = '', also }: OptionNaming = {}): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name) || also?.has(name) === true) continue
    const near = known.find(candidate => candidate.toLowerCase().startsWith(name.toLowerCase().slice(0, 4)))
    const message = `unknown option \`${prefix}${name}\`${near === undefined ? '' : ` (did you mean \`${prefix}${near}\`?)`}; the options are ${known.map(candidate => `\`${prefix}${candidate}\``).join(', ')}`
    throw new DaprTokenOptionsError(source === undefined ? message : `${source}: ${message}`)
  }
}
