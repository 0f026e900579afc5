import type { ParseArgsConfig } from 'node:util'
import type { CliIo } from './io.js'

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
