import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTest, skipOrFail } from '../../support/kernel.ts';
import { pgMissing, startPgCluster, type PgCluster } from '../../support/pg-cluster.ts';
import { decodePgQuery, pg, PG_EVENT_SIZE } from '../../../src/probes/deep/pg.ts';
import { budget, probeContext, sleep } from './support.ts';

test('pg event decoder reads the C layout', () => {
  const b = Buffer.alloc(PG_EVENT_SIZE);
  b.writeBigUInt64LE(200_000_000n, 0);
  b.writeUInt32LE(42, 8);
  b.writeUInt32LE(0, 12);
  const q = 'SELECT pg_sleep(0.2);';
  b.writeUInt32LE(q.length + 1, 16);
  b.write(q, 24);
  assert.deepEqual(decodePgQuery(b), { durationNs: 200_000_000n, pid: 42, kind: 'SELECT', text: q });
  assert.throws(() => decodePgQuery(Buffer.alloc(PG_EVENT_SIZE - 1)), RangeError);
});

// A throwaway cluster owned by nobody (postgres refuses to run as root), reached over a unix socket in its dir.
let pgc: PgCluster | undefined;
const skipWhy = pgMissing() ?? '';
before(() => {
  if (!skipWhy) pgc = startPgCluster('pg-deep');
});
after(() => pgc?.stop());

kernelTest(
  'pg: a pg_sleep(0.2) among fast queries is the slowest query, literals stripped',
  async (t) => {
    if (skipWhy) {
      skipOrFail(t, skipWhy);
      return;
    }
    const postmaster = pgc!.postmaster;
    const running = pg.prepare(probeContext({ threshold_ms: 0 })).start({ pids: [postmaster] }, budget());
    const sql = [
      'CREATE TABLE t (id int, name text);',
      ...Array.from({ length: 20 }, (_, i) => `INSERT INTO t VALUES (${i}, 'secret-${i}');`),
      "SELECT * FROM t WHERE name = 'secret-3';",
      'SELECT pg_sleep(0.2);',
      "UPDATE t SET name = 'x' WHERE id IN (1, 2, 3);",
      'DELETE FROM t WHERE id = 7;',
    ].join('\n');
    pgc!.psql(sql);
    await sleep(200);
    const r = await running.stop();
    const s = pg.summary.parse(r.summary);
    assert.ok(s.slowest.length >= 20, `queries seen: ${s.slowest.length}`);
    assert.equal(s.slowest[0].query, 'SELECT pg_sleep(?);');
    assert.ok(s.slowest[0].seconds >= 0.19 && s.slowest[0].seconds < 2, `${s.slowest[0].seconds}`);
    assert.ok(s.slowest[0].pid !== postmaster, 'ran in a backend, a child of the postmaster');
    assert.ok(s.perKind.INSERT.count >= 20, JSON.stringify(s.perKind));
    assert.ok(s.perKind.SELECT.count >= 2 && s.perKind.UPDATE.count >= 1 && s.perKind.DELETE.count >= 1);
    assert.ok(s.perKind.SELECT.seconds >= 0.19);
    const json = JSON.stringify(r);
    assert.ok(!json.includes('secret-'), 'no literal leaks into the result');
    assert.ok(r.records!.some((x) => x.query === 'UPDATE t SET name = ? WHERE id IN (?);'));
    assert.deepEqual(r.redactions, ['sql literals']);
  },
  { timeout: 120_000 },
);
