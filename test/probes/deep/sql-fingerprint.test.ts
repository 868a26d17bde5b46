import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintSql, queryKind } from '../../../src/probes/deep/sql-fingerprint.ts';

test('literals become ?', () => {
  const cases: [string, string][] = [
    ['SELECT pg_sleep(0.2)', 'SELECT pg_sleep(?)'],
    ["SELECT * FROM users WHERE email = 'a@b.c' AND id = 42", 'SELECT * FROM users WHERE email = ? AND id = ?'],
    ["select 'it''s', E'a\\'b', 1e-3, .5, 0x1F", 'select ?, ?, ?, ?, ?'],
    ['SELECT $$secret$$, $t$x$t$, $1', 'SELECT ?, ?, $1'],
    ['SELECT t1.c2 FROM t1 WHERE c3 IN (1, 2,3)', 'SELECT t1.c2 FROM t1 WHERE c3 IN (?)'],
    ["DELETE FROM t WHERE name in ('a','b')", 'DELETE FROM t WHERE name in (?)'],
    ["INSERT INTO t VALUES (1, 'x')  -- note\n", 'INSERT INTO t VALUES (?, ?)'],
    ['UPDATE t /* why */ SET\n\tv = -7', 'UPDATE t SET v = -?'],
    ["SELECT 'cut short by the 128-byte capt", 'SELECT ?'],
    ['SELECT x FROM t WHERE y IN (SELECT 1)', 'SELECT x FROM t WHERE y IN (SELECT ?)'],
  ];
  for (const [sql, want] of cases) assert.equal(fingerprintSql(sql), want, sql);
});

test('query kinds from the first keyword', () => {
  assert.equal(queryKind('  select 1'), 'SELECT');
  assert.equal(queryKind('(SELECT 1) UNION (SELECT 2)'), 'SELECT');
  assert.equal(queryKind('INSERT INTO t VALUES (1)'), 'INSERT');
  assert.equal(queryKind('update t set a = 1'), 'UPDATE');
  assert.equal(queryKind('DELETE FROM t'), 'DELETE');
  assert.equal(queryKind('WITH x AS (SELECT 1) SELECT * FROM x'), 'OTHER');
  assert.equal(queryKind('BEGIN'), 'OTHER');
});
