/**
 * Checks of a RuleTest beyond its shape: input signals exist and carry the labels given, counters and
 * gauges have `values`, histograms `buckets` with valid upper bounds, every series parses, times are
 * durations. The runner (`tripline test`) then consumes the spec as written (RuleTestSpec).
 */
import { TriplineError } from '../../errors.ts';
import type { RuleTestSpec } from '../parse/schema.ts';
import type { Reporter } from '../compile/compile-when.ts';
import { parseSeries } from './series-notation.ts';
import { checkSignal, parseQuantity } from '../compile/units.ts';
import { didYouMean } from '../parse/suggest.ts';

/** Upper bound of a bucket key in seconds (`5ms`, `0.005`, `+Inf`); throws RULE_ERR_TEST. */
export function parseBucketBound(key: string): number {
  if (key === '+Inf') return Infinity;
  try {
    const v = parseQuantity(key);
    if (/[%/]/.test(key)) throw new Error('not a bound');
    return v;
  } catch {
    throw new TriplineError('RULE_ERR_TEST', `bucket bound ${JSON.stringify(key)} is not a number or a duration`, {
      hint: "write bounds like '5ms', '0.005' or '+Inf'",
    });
  }
}

/** Reports every problem of a RuleTest spec; true when there was none. */
export function checkRuleTest(spec: RuleTestSpec, report: Reporter): boolean {
  let n = 0;
  const r: Reporter = (p, e, k) => {
    n++;
    report(['spec', ...p], e, k);
  };
  const series = (path: (string | number)[], text: string): void => {
    try {
      parseSeries(text);
    } catch (e) {
      r(path, e as TriplineError);
    }
  };
  spec.input.forEach((inp, i) => {
    const at = ['input', i];
    let sig;
    try {
      sig = checkSignal(inp.signal);
    } catch (e) {
      r([...at, 'signal'], e as TriplineError);
    }
    if ((inp.values === undefined) === (inp.buckets === undefined)) {
      r(
        at,
        new TriplineError('RULE_ERR_TEST', 'an input needs exactly one of values or buckets', {
          hint: "counters and gauges take values: '0+30x60'; histograms take buckets: {'5ms': '0+1x60', '+Inf': '0+2x60'}",
        }),
      );
    }
    if (sig && inp.buckets !== undefined && sig.kind !== 'histogram')
      r(
        [...at, 'buckets'],
        new TriplineError('RULE_ERR_TEST', `${sig.name} is a ${sig.kind}: it takes values, not buckets`, {
          hint: "write values: '0+30x60'",
        }),
        true,
      );
    if (sig && inp.values !== undefined && sig.kind === 'histogram')
      r(
        [...at, 'values'],
        new TriplineError('RULE_ERR_TEST', `${sig.name} is a histogram: it takes buckets, not values`, {
          hint: "write buckets: {'5ms': '0+1x60', '+Inf': '0+2x60'} (cumulative counts per upper bound)",
        }),
        true,
      );
    if (sig) {
      for (const l of Object.keys(inp.labels)) {
        if (!sig.labels.includes(l))
          r(
            [...at, 'labels', l],
            new TriplineError('RULE_ERR_TEST', `label ${JSON.stringify(l)} is not a label of ${sig.name}`, {
              hint: didYouMean(l, sig.labels, `its labels are: ${sig.labels.join(', ')}`),
            }),
            true,
          );
      }
    }
    if (inp.values !== undefined) series([...at, 'values'], inp.values);
    if (inp.buckets !== undefined) {
      const keys = Object.keys(inp.buckets);
      for (const k of keys) {
        try {
          parseBucketBound(k);
        } catch (e) {
          r([...at, 'buckets', k], e as TriplineError, true);
        }
        series([...at, 'buckets', k], inp.buckets[k]);
      }
      if (!keys.includes('+Inf'))
        r(
          [...at, 'buckets'],
          new TriplineError('RULE_ERR_TEST', "buckets need a '+Inf' bound (the total count)", {
            hint: "add '+Inf': <series>",
          }),
        );
    }
  });
  spec.expect.forEach((e, i) =>
    e.incidents.forEach((inc, j) => {
      if (typeof inc.value === 'string') {
        try {
          parseQuantity(inc.value);
        } catch (err) {
          r(
            ['expect', i, 'incidents', j, 'value'],
            new TriplineError('RULE_ERR_TEST', (err as TriplineError).message, {
              hint: 'write the value with its unit (30/s, 12ms, 45%) or in base units',
            }),
          );
        }
      }
    }),
  );
  return n === 0;
}
