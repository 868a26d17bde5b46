/**
 * The series notation of rule tests, one value per test interval:
 * `1 2 3` (values), `_` (no sample), `a+bxn` / `a-bxn` (a, a+b, …, a+n·b: n+1 values),
 * `axn` (a repeated n+1 times), `_xn` (n missing). A counter's values are cumulative.
 */
import { TriplineError } from '../../errors.ts';

/** Points one series may expand to: a day of one-second ticks. */
export const MAX_SERIES_POINTS = 86_400;

/** The values of `text`; `null` where the series has no sample. Throws RULE_ERR_TEST on bad notation. */
export function parseSeries(text: string): (number | null)[] {
  const out: (number | null)[] = [];
  const num = '(-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)';
  const re = new RegExp(`^(?:_|${num})(?:([+-])(\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?))?(?:x(\\d+))?$`);
  for (const tok of text.trim().split(/\s+/)) {
    if (tok === '') continue;
    const m = re.exec(tok);
    if (!m || (tok.startsWith('_') && m[2])) {
      throw new TriplineError('RULE_ERR_TEST', `bad series token ${JSON.stringify(tok)}`, {
        hint: "write values like '0+30x60', '1 2 _ 4' or '5x10'",
      });
    }
    const missing = tok.startsWith('_');
    const start = missing ? 0 : Number(m[1]);
    const step = m[3] === undefined ? 0 : (m[2] === '-' ? -1 : 1) * Number(m[3]);
    if (m[3] !== undefined && m[4] === undefined) {
      throw new TriplineError('RULE_ERR_TEST', `series token ${JSON.stringify(tok)} has a step but no count`, {
        hint: `write ${tok}x10 for 11 values`,
      });
    }
    // `_xn` is n gaps; `axn` and `a+bxn` are n+1 values (the start, then n steps).
    const count = m[4] === undefined ? 1 : Number(m[4]) + (missing ? 0 : 1);
    if (out.length + count > MAX_SERIES_POINTS) {
      throw new TriplineError('RULE_ERR_TEST', `series has more than ${MAX_SERIES_POINTS} points`, {
        hint: 'shorten the test or raise its interval',
      });
    }
    for (let i = 0; i < count; i++) out.push(missing ? null : start + step * i);
  }
  if (out.length === 0)
    throw new TriplineError('RULE_ERR_TEST', 'series is empty', { hint: "write values like '0+30x60'" });
  return out;
}
