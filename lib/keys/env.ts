import { normaliseTokens } from '../compare.js'
import { DaprTokenNotConfiguredError, DaprTokenOptionsError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import type { KeySource, KeySourceLogger } from './source.js'
import { KeySourceRecord, withKeysVersion } from './state.js'

export interface EnvSourceOptions {
  /** Where to read from instead of `process.env` (tests, a parsed `.env`). */
  env?: NodeJS.ProcessEnv
  /** Logger when used without the plugin (the plugin hands its own). */
  log?: KeySourceLogger
}

/**
 * A key source reading one token from the environment variable `name`, once, trimmed. An unset or
 * blank variable fails closed: `open()` (so the plugin's `ready()`) and every call throw
 * `FST_DAPR_TOKEN_NOT_CONFIGURED` naming the variable. An env var changes only with a restart, so
 * this source never reloads.
 */
export function fromEnv (name: string, options: EnvSourceOptions = {}): KeySource {
  if (typeof name !== 'string' || name === '') throw new DaprTokenOptionsError('`fromEnv(name)` needs the name of an environment variable')
  if (options === null || typeof options !== 'object') throw new DaprTokenOptionsError('`fromEnv` options must be an object')
  checkOptionNames(options, ['env', 'log'], { source: 'fromEnv' })
  const record = new KeySourceRecord<string>(`env ${name}`, { log: options.log, graceMs: 0 })
  const tokens = normaliseTokens((options.env ?? process.env)[name] ?? '')
  if (tokens.length > 0) record.loaded(tokens)

  function fail (): never {
    const error = new DaprTokenNotConfiguredError(name)
    if (record.lastError === null) record.failed(error)
    throw error
  }

  const resolve = function resolveFromEnv (): readonly string[] {
    const served = record.keys.served
    return served.length > 0 ? served : fail()
  }
  return withKeysVersion(Object.assign(resolve, {
    open (log?: KeySourceLogger): void {
      record.useLogger(log)
      if (record.keys.served.length === 0) fail()
    },
    close (): void {},
    state: () => record.state()
  }), record)
}
