import type { ParseArgsConfig } from 'node:util'
import { ALL_ALGORITHMS } from '../jwt/algorithms.js'
import type { JwtAlgorithm } from '../jwt/types.js'
import { CliError, type CliIo } from './io.js'

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>

/** The parsed option values handed to a command, as `parseArgs` returns them. */
export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>

/** One CLI command: its options (for `parseArgs`), its help text, and what it does. */
export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** The full `--help` text, without the trailing exit-code paragraph (added for every command). */
  readonly help: string
  readonly options: OptionSpecs
  /** Resolves to the exit code; throws `CliError` for bad usage or input. */
  run (values: OptionValues, io: CliIo): Promise<number>
}

/** Every JWS algorithm `--alg` takes (sign and verify), in the order help and errors list them. */
export const ALGORITHMS = [...ALL_ALGORITHMS] as readonly JwtAlgorithm[]

/** Reads an optional string option. */
export function stringOption (values: OptionValues, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

/** Reads a repeatable string option. */
export function listOption (values: OptionValues, name: string): string[] {
  const value = values[name]
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/**
 * One way `verify` checks a token. It picks the first mode whose options are present, so a new
 * verification mode is one more entry in `VERIFY_MODES` (lib/cli/verify.ts).
 */
export interface VerifyMode {
  readonly name: string
  readonly options: OptionSpecs
  /** Its lines in `verify --help`. */
  readonly help: string
  selects (values: OptionValues): boolean
  run (values: OptionValues, io: CliIo): Promise<number>
}

/**
 * An option whose value must be one of `choices`. A wrong value is not printed back: it may be a
 * secret pasted in the wrong place, and the choices say all there is to say.
 */
export function choiceOption<T extends string> (values: OptionValues, name: string, choices: readonly T[]): T | undefined {
  const value = stringOption(values, name)
  if (value !== undefined) checkChoice(name, value, choices)
  return value as T | undefined
}

/** Throws the usage error for a value of `--name` that is none of `choices` (never showing it). */
export function checkChoice<T extends string> (name: string, value: string, choices: readonly T[]): asserts value is T {
  if (!(choices as readonly string[]).includes(value)) throw new CliError(`--${name} must be one of ${choices.join(', ')}`)
}
