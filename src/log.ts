/** Structured JSON logs (pino). Secrets are redacted by path wherever they could appear. */
import pino, { type Logger } from 'pino';

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

/** The engine's logger: JSON lines on stderr (stdout stays for command output). */
export function createLogger(level: string, dest: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { app: 'tripline' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest as never,
  );
}
