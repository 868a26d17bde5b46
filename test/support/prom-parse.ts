/**
 * A small parser of the Prometheus text exposition format (0.0.4), strict enough to catch malformed output:
 * HELP/TYPE lines, samples with escaped label values, histogram families (_bucket/_sum/_count).
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
export interface PromFamily {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string, line: number): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return v;
}

function parseLabels(s: string, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  while (s[i] !== '}') {
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!m) throw new Error(`line ${line}: bad label name at ${i}`);
    const key = m[0];
    i += key.length;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new Error(`line ${line}: expected =" after ${key}`);
    i += 2;
    let val = '';
    for (;;) {
      const c = s[i++];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i++];
        val +=
          e === 'n'
            ? '\n'
            : e === '\\'
              ? '\\'
              : e === '"'
                ? '"'
                : (() => {
                    throw new Error(`line ${line}: bad escape \\${e}`);
                  })();
      } else val += c;
    }
    if (key in labels) throw new Error(`line ${line}: duplicate label ${key}`);
    labels[key] = val;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${key}`);
  }
  return [labels, i + 1];
}

/** The family a sample belongs to: histogram/summary suffixes map to their declared family. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  if (families.has(name)) return families.get(name);
  for (const suf of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suf)) {
      const f = families.get(name.slice(0, -suf.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

/** Parses exposition text into families by name; throws with the line number on anything malformed. */
export function parseProm(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(raw);
      if (!m) return; // plain comment
      const f = families.get(m[2]) ?? { name: m[2], type: 'untyped', help: '', samples: [] };
      families.set(m[2], f);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]))
          throw new Error(`line ${line}: bad type ${m[3]}`);
        f.type = m[3];
      } else f.help = m[3];
      return;
    }
    const nm = NAME.exec(raw);
    if (!nm) throw new Error(`line ${line}: bad metric name in ${JSON.stringify(raw)}`);
    let rest = raw.slice(nm[0].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const [l, end] = parseLabels(rest, line);
      labels = l;
      rest = rest.slice(end);
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected value [timestamp]`);
    const f = familyOf(nm[0], families);
    if (!f) throw new Error(`line ${line}: sample ${nm[0]} without a TYPE line`);
    f.samples.push({ name: nm[0], labels, value: parseValue(parts[0], line) });
  });
  return families;
}

/** Samples of a family whose labels include `match`. */
export function samplesOf(
  families: Map<string, PromFamily>,
  name: string,
  match: Record<string, string> = {},
): PromSample[] {
  // `name` may be a family or one sample name of a histogram family (x_bucket, x_sum, x_count).
  const fam = families.get(name);
  const samples = fam ? fam.samples : (familyOf(name, families)?.samples.filter((s) => s.name === name) ?? []);
  return samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
