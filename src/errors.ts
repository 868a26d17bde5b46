/** Coded errors: every failure tripline reports has a stable code, a message, a one-line hint and a cause. */

/** Error codes by area. docs/errors.md documents each one (a test keeps them in sync). */
export const ERROR_CODES = [
  'BUILD_ERR_TOOL_MISSING',
  'PROBE_ERR_LIBBPF',
  'PROBE_ERR_OPEN',
  'PROBE_ERR_CONFIG',
  'PROBE_ERR_LOAD',
  'PROBE_ERR_ATTACH',
  'PROBE_ERR_MAP',
  'PROBE_ERR_LAYOUT',
  'PROBE_ERR_UNSUPPORTED',
  'PROBE_ERR_PERMISSION',
  'PROBE_ERR_BUDGET',
  'RULE_ERR_SYNTAX',
  'RULE_ERR_SCHEMA',
  'RULE_ERR_DUPLICATE',
  'RULE_ERR_UNIT',
  'RULE_ERR_SIGNAL',
  'RULE_ERR_REGEX',
  'RULE_ERR_TEMPLATE',
  'RULE_ERR_FILE',
  'RULE_ERR_TEST',
  'RULE_ERR_STATE',
  'CAPTURE_ERR_BUSY',
  'CAPTURE_ERR_TARGET',
  'BUNDLE_ERR_WRITE',
  'BUNDLE_ERR_NOT_FOUND',
  'ACTION_ERR_CONFIG',
  'ACTION_ERR_RETRYABLE',
  'ACTION_ERR_UNRECOVERABLE',
  'ACTION_ERR_RATE_LIMITED',
  'ACTION_ERR_REDIS',
  'CONFIG_ERR_INVALID',
  'CLI_ERR_USAGE',
  'ENGINE_ERR_PRIVILEGE',
  'SERVER_ERR_REQUEST',
  'SERVER_ERR_UNAUTHORIZED',
  'CHANNEL_ERR_MESSAGE',
  'CHANNEL_ERR_CLOSED',
  'CHANNEL_ERR_TIMEOUT',
  'CHANNEL_ERR_REMOTE',
  'CHANNEL_ERR_BUSY',
  'CHANNEL_ERR_UNSAFE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error with a stable code and a hint that tells the user what to do about it. */
export class TriplineError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TriplineError';
    this.code = code;
    this.hint = opts.hint ?? '';
  }

  /** One line for a terminal or a log: `CODE: message (hint)`. */
  describe(): string {
    return `${this.code}: ${this.message}${this.hint ? ` (hint: ${this.hint})` : ''}`;
  }
}

/** True when `err` is a TriplineError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): err is TriplineError {
  return err instanceof TriplineError && err.code === code;
}
