/** Strict flag parsing for the subcommands: unknown flags and missing values are usage errors (exit 2). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TriplineError } from '../errors.ts';

/** Parses `argv` against `options`; throws CLI_ERR_USAGE with the command's usage line as the hint. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  usage: string,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw new TriplineError('CLI_ERR_USAGE', (err as Error).message.split('\n')[0], { hint: `usage: ${usage}` });
  }
}
