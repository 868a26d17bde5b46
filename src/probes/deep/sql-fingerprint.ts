/**
 * SQL fingerprints: literals become `?` so queries group by shape and carry no data. String constants ('..', E'..',
 * $tag$..$tag$), numbers and IN-lists of literals are replaced; comments dropped; whitespace collapsed. Text cut
 * short by the probe's 128-byte capture (an unterminated string) is closed with `?`. Pure, table-tested.
 */

/** Kinds a query is counted under. */
export type QueryKind = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'OTHER';

/** Kind from the first keyword, the same rule as bpf/deep/pg.bpf.c (a leading WITH is OTHER). */
export function queryKind(sql: string): QueryKind {
  const m = /^[\s(]*([A-Za-z]+)/.exec(sql);
  const w = m?.[1].toUpperCase();
  return w === 'SELECT' || w === 'INSERT' || w === 'UPDATE' || w === 'DELETE' ? w : 'OTHER';
}

const isIdent = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_$]/.test(c);

/** The query with every literal replaced by `?`. */
export function fingerprintSql(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    // Comments.
    if (c === '-' && sql[i + 1] === '-') {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e;
      out += ' ';
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      out += ' ';
      continue;
    }
    // Strings: '..' with '' escapes, E'..' with backslash escapes, B'..'/X'..'/N'..' prefixes.
    if (c === "'" || (/[EeBbXxNn]/.test(c) && sql[i + 1] === "'" && !isIdent(sql[i - 1]))) {
      const backslash = c === 'E' || c === 'e';
      let j = c === "'" ? i + 1 : i + 2;
      for (; j < n; j++) {
        if (backslash && sql[j] === '\\') {
          j++;
          continue;
        }
        if (sql[j] === "'") {
          if (sql[j + 1] === "'") {
            j++;
            continue;
          }
          break;
        }
      }
      out += '?';
      i = j + 1;
      continue;
    }
    // Dollar-quoted strings: $$..$$ or $tag$..$tag$ (a $1 parameter is not one).
    if (c === '$' && !isIdent(sql[i - 1])) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        const e = sql.indexOf(m[0], i + m[0].length);
        out += '?';
        i = e < 0 ? n : e + m[0].length;
        continue;
      }
    }
    // Numbers not part of an identifier: 42, 3.14, .5, 1e-3, 0x1F.
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      if (!isIdent(sql[i - 1])) {
        const m = /^(0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/.exec(sql.slice(i))!;
        out += '?';
        i += m[0].length;
        continue;
      }
    }
    if (/\s/.test(c)) {
      if (!out.endsWith(' ')) out += ' ';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  // IN (?, ?, ?) → IN (?): lists of any length group together.
  return out
    .replace(/\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi, (m) => `${m.slice(0, 2)} (?)`)
    .replace(/ +/g, ' ')
    .trim();
}
