/**
 * Kernel test of the pg family on a throwaway PostgreSQL cluster (owned by nobody, unix socket in a temp dir) whose
 * postmaster is moved into a fresh cpu cgroup, so every backend it forks runs there: psql's queries show per query
 * kind in that cgroup's histograms (a pg_sleep(0.2) in a slow bucket, the fast ones in fast buckets), nothing shows
 * in this process's cgroup, and through the sampler and the bundled rule rules/pg-query-latency.yaml slow SELECTs
 * become pg_query_latency_seconds samples and an incident.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kernelTest, objDir, skipOrFail } from '../../support/kernel.ts';
import { PG_BIN, POSTGRES, pgMissing, startPgCluster, type PgCluster } from '../../support/pg-cluster.ts';
import { startPg } from '../../../src/probes/counters/pg.ts';
import { COUNTERS } from '../../../src/probes/counters/index.ts';
import { startFamilies } from '../../../src/probes/counters/start.ts';
import { createCgroup, type ManagedCgroup } from '../../../src/demo/cgroup-admin.ts';
import { findCpuMount } from '../../../src/probes/cgroup-mount.ts';
import { CgroupResolver } from '../../../src/probes/cgroups.ts';
import { buildConfig } from '../../../src/config.ts';
import { createSampler } from '../../../src/sampler/sampler.ts';
import { loadRuleSet } from '../../../src/rules/load.ts';
import { ACTIONS } from '../../../src/actions/registry.ts';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import type { Reading } from '../../../src/probes/counters/types.ts';
import type { HistogramSample } from '../../../src/samples.ts';
import { find, histCount, uniqueName } from './fixtures/workload.ts';

const root = join(import.meta.dirname, '..', '..', '..');
let pgc: PgCluster | undefined;
const skipWhy = pgMissing() ?? '';
const psql = (sql: string) => pgc!.psql(sql);
let cg: ManagedCgroup | undefined;
const cleanups: (() => void)[] = [];

before(() => {
  if (skipWhy) return;
  pgc = startPgCluster('pg');
  // Backends fork from the postmaster, so they start in its cgroup: a fresh one gives them an id nothing else has.
  cg = createCgroup({ name: uniqueName('pg') });
  cg.addPid(pgc.postmaster);
});
after(() => {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
  pgc?.stop();
  cg?.destroy();
});

/** Observations of a histogram reading in buckets whose upper bound is at most / above `seconds`. */
function countBelow(r: Reading | undefined, seconds: number): number {
  return r?.kind === 'histogram' ? r.counts.reduce((a, c, i) => a + (r.bounds[i] <= seconds ? c : 0), 0) : 0;
}
function countAbove(r: Reading | undefined, seconds: number): number {
  return r?.kind === 'histogram' ? r.counts.reduce((a, c, i) => a + (r.bounds[i] > seconds ? c : 0), 0) : 0;
}

kernelTest(
  "pg: queries show per kind in the histograms of the backends' cgroup, a pg_sleep(0.2) in a slow bucket",
  (t) => {
    if (skipWhy) {
      skipOrFail(t, skipWhy);
      return;
    }
    // Both paths are one file here (/usr/local/bin/postgres is a symlink): attached once, or every query counts twice.
    const fam = startPg(objDir, {
      binaries: [POSTGRES, join(PG_BIN, 'postgres'), '/nonexistent/postgres'],
      maxCgroups: 10240,
    });
    cleanups.push(() => fam.close());
    assert.equal(fam.binaries.length, 1, `attached to ${fam.binaries.join(', ')}`);
    psql(
      [
        ...Array.from({ length: 20 }, () => 'SELECT 1;'),
        'SELECT pg_sleep(0.2);',
        '  (select 2);', // leading blanks and parentheses, lower case
        '\tSeLeCt 3;',
        'CREATE TABLE t (id int);',
        ...Array.from({ length: 5 }, (_, i) => `INSERT INTO t VALUES (${i});`),
        'update t set id = 9 where id = 1;',
        'DELETE FROM t WHERE id = 2;',
        'WITH x AS (SELECT 1) SELECT * FROM x;',
      ].join('\n'),
    );
    const readings = fam.read();
    const id = cg!.id;
    const kind = (k: string) => find(readings, 'pg_query_latency_seconds', { cgroup_id: id, query_kind: k });
    // The cgroup is this test's alone, and psql -X sends exactly these statements: exact counts per kind.
    assert.deepEqual(
      Object.fromEntries(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'OTHER'].map((k) => [k, histCount(kind(k))])),
      { SELECT: 23, INSERT: 5, UPDATE: 1, DELETE: 1, OTHER: 2 },
    );
    const select = kind('SELECT');
    // Slot bounds are powers of two µs: 0.2 s lands in [0.131, 0.262) s, so the fast ones are those at or below 0.131 s.
    // (A fast query stalled past 131 ms on a loaded host would move up a bucket: allow two.)
    assert.ok(countAbove(select, 0.2) >= 1, 'the pg_sleep(0.2) is in a bucket above 0.2 s');
    assert.ok(
      countBelow(select, 0.131072) >= 20,
      `the other SELECTs are in fast buckets: ${countBelow(select, 0.131072)}`,
    );
    assert.ok(
      select?.kind === 'histogram' && select.sum! >= 0.2 && select.sum! < 5,
      `SELECT sum ${select?.kind === 'histogram' ? select.sum : '-'} s`,
    );
    // Other postgres servers on this host (other tests) may add readings of their own cgroups: only the labels are checked.
    for (const r of readings) assert.deepEqual(Object.keys(r.labels), ['cgroup_id', 'query_kind']);
    assert.equal(fam.stats().dropped, 0);
    assert.equal(fam.stats().programs, 2);
  },
);

kernelTest(
  'pg: through the sampler and the bundled rule, slow SELECTs become pg_query_latency_seconds samples and an incident',
  (t) => {
    if (skipWhy) {
      skipOrFail(t, skipWhy);
      return;
    }
    const config = buildConfig({}, {});
    const { families, unavailable } = startFamilies(COUNTERS, { config, objDir }, { enabled: ['pg'] });
    cleanups.push(() => {
      for (const f of families) f.close();
    });
    assert.deepEqual(unavailable, [], "the default counters.pg_binaries find this host's postgres");
    let now = Date.parse('2026-11-25T12:00:00Z');
    const sampler = createSampler({
      families,
      resolver: new CgroupResolver({ mount: findCpuMount(), minRefreshMs: 0 }),
      config,
      now: () => now,
    });
    const evaluator = new Evaluator(
      loadRuleSet([join(root, 'rules', 'pg-query-latency.yaml')], { actions: ACTIONS }).ruleSet,
      {
        host: 'test',
      },
    );
    const fired: string[] = [];
    const step = () => {
      const tick = sampler.tick();
      // Only this cluster's cgroup: other postgres servers on the host (other tests) may trip the rule too.
      for (const inc of evaluator.tick(tick))
        if (inc.status === 'firing' && inc.labels.cgroup === cg!.path)
          fired.push(`${inc.labels.query_kind} ${inc.labels.cgroup}`);
      now += 1000;
      return tick;
    };
    psql('SELECT 1;'); // the series' first reading is the sampler's baseline (no delta)
    step();
    const slowSamples: HistogramSample[] = [];
    // Slow SELECTs at 0 s and again 40 s (clock of the test) later: the 1 m window holds slow ones for the 1 m `for`.
    for (let s = 0; s < 100 && fired.length === 0; s++) {
      if (s === 0 || s === 40) psql('SELECT pg_sleep(0.15);\nSELECT pg_sleep(0.15);');
      for (const x of step().samples) {
        if (
          x.signal === 'pg_query_latency_seconds' &&
          x.kind === 'histogram' &&
          x.labels.cgroup_id === cg!.id &&
          x.countDelta > 0
        )
          slowSamples.push(x);
      }
    }
    assert.equal(slowSamples.length, 2, 'one sample with deltas per batch of slow queries');
    for (const x of slowSamples) {
      assert.equal(x.labels.query_kind, 'SELECT');
      assert.equal(x.labels.cgroup, cg!.path, 'the sampler adds the cgroup path of the backends');
      assert.equal(x.countDelta, 2);
      assert.equal(
        x.deltas.reduce((a, c, i) => a + (x.bounds[i] > 0.1 ? c : 0), 0),
        2,
        'both in buckets above 100 ms',
      );
    }
    assert.equal(fired.length, 1, `incidents: ${fired.join('; ')}`);
    assert.equal(fired[0], `SELECT ${cg!.path}`);
  },
  { timeout: 180_000 },
);

kernelTest(
  'pg: without a PostgreSQL binary, or with one lacking the probes, the family is unavailable with the reason',
  () => {
    const config = (binaries: string[]) => buildConfig({ counters: { pg_binaries: binaries } }, {});
    const none = startFamilies(
      COUNTERS,
      { config: config(['/nonexistent/bin/postgres']), objDir },
      { enabled: ['pg'] },
    );
    assert.equal(none.families.length, 0);
    assert.match(
      none.unavailable[0].reason,
      /PROBE_ERR_UNSUPPORTED: no PostgreSQL binary with USDT probes found \(set counters\.pg_binaries\)/,
    );
    const noProbes = startFamilies(COUNTERS, { config: config([process.execPath]), objDir }, { enabled: ['pg'] });
    assert.equal(noProbes.families.length, 0);
    assert.match(noProbes.unavailable[0].reason, /has no postgresql:query__start probe/);
  },
);
