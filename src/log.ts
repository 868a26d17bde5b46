/**
 * Logs (pino): JSON lines for machines, or human-readable lines (pino-pretty) for a terminal. Secrets are redacted
 * by path before either format is written, so both show "[redacted]" where a secret was.
 */
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { TriplineError } from './errors.ts';

export type { Logger };

/** Paths pino replaces with "[redacted]" (tokens, auth headers, webhook secrets). */
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
];

/** How log lines are written: one JSON object per line, or human-readable lines. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The format to log in: `requested` (a `--log-format` flag or TRIPLINE_LOG_FORMAT) when given, else pretty on a
 * terminal and JSON elsewhere (files, pipes, journald, container logs). Throws CLI_ERR_USAGE for another value.
 */
export function logFormat(requested: string | undefined, dest: NodeJS.WritableStream = process.stderr): LogFormat {
  if (requested === undefined || requested === '') return (dest as { isTTY?: boolean }).isTTY ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(requested)) return requested as LogFormat;
  throw new TriplineError('CLI_ERR_USAGE', `unknown log format ${JSON.stringify(requested.slice(0, 40))}`, {
    hint: 'use --log-format json or --log-format pretty',
  });
}

/**
 * A destination that turns each JSON line pino writes into a readable line (`12:03:04.512 INFO: stopping
 * signal: "SIGTERM"`) and writes it at once: synchronous, so nothing is lost when the process exits right after.
 * Colours only on a terminal.
 */
function prettyDestination(dest: NodeJS.WritableStream): { write(line: string): void } {
  const pretty = prettyFactory({
    colorize: (dest as { isTTY?: boolean }).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app',
    singleLine: true,
    // tripline logs `err` as a message string, not an Error: keep it on the line like any other field.
    errorLikeObjectKeys: [],
  });
  return { write: (line) => void dest.write(pretty(line)) };
}

/** The engine's logger on stderr (stdout stays for command output), as JSON lines unless `format` is pretty. */
export function createLogger(
  level: string,
  dest: NodeJS.WritableStream = process.stderr,
  format: LogFormat = 'json',
): Logger {
  return pino(
    {
      level,
      base: { app: 'tripline' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (format === 'pretty' ? prettyDestination(dest) : dest) as never,
  );
}
