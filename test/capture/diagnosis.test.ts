import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, neighbourText, topNeighbour, type RunqEvidence } from '../../src/capture/diagnosis.ts';
import { windowStats } from '../../src/capture/window.ts';
import type { HistoryPoint } from '../../src/sampler/history.ts';
import type { Cause } from '../../src/bundle/types.ts';
import { PodDirectory, pathName } from '../../src/probes/pod-directory.ts';

/** n one-second ticks with the same per-second values (with a little deterministic jitter, like real ticks). */
function ticks(n: number, v: Record<string, number>): HistoryPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    at: 1_700_000_000_000 + i * 1000,
    values: Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, k === 'cpu_quota_cores' ? x : x * (1 + ((i % 5) - 2) * 0.01)]),
    ),
  }));
}

const OTHER: RunqEvidence = {
  delays: 57,
  delaySeconds: 3.4,
  neighbours: [
    { pid: 4711, comm: 'backup.sh', cgroupId: '9001', cgroupPath: '/other', count: 41, delaySeconds: 2.6 },
    { pid: 4800, comm: 'gzip', cgroupId: '9001', cgroupPath: '/other', count: 16, delaySeconds: 0.8 },
  ],
};
const OWN: RunqEvidence = {
  delays: 80,
  delaySeconds: 3.0,
  neighbours: [{ pid: 1201, comm: 'worker', cgroupId: '4242', cgroupPath: '/app', count: 80, delaySeconds: 3.0 }],
};

const table: {
  name: string;
  points: HistoryPoint[];
  runq?: RunqEvidence;
  captureSeconds?: number;
  probeWait?: { runnableSeconds: number; throttledSeconds: number; onCpuSeconds: number };
  cause: Cause;
  summary: RegExp;
}[] = [
  {
    name: 'at its 1-core quota, throttled in 80% of 100 ms periods',
    points: ticks(30, {
      cpu_periods: 10,
      cpu_throttled_periods: 8,
      cpu_usage_seconds: 0.98,
      cpu_quota_cores: 1,
      runq_delay_seconds_sum: 0.4,
      runq_delay_seconds_count: 300,
    }),
    cause: 'limit-bound',
    summary: /^throttled in 80% of CFS periods while using 0\.98 of its 1-core quota/,
  },
  {
    name: 'bursts: mean use 0.4 of 1 core but throttled in 60% of periods',
    points: ticks(30, { cpu_periods: 10, cpu_throttled_periods: 6, cpu_usage_seconds: 0.4, cpu_quota_cores: 1 }),
    cause: 'limit-bound',
    summary: /throttled in 60% of CFS periods/,
  },
  {
    name: 'no quota, waiting 38% of its runnable time while /other runs',
    points: ticks(30, { cpu_usage_seconds: 0.55, runq_delay_seconds_sum: 0.337, runq_delay_seconds_count: 900 }),
    runq: OTHER,
    cause: 'contention',
    summary:
      /^runnable but waiting 38% of the time .*other cgroups ran for 100% of that wait, mostly pid 4711 \(backup\.sh\) and 1 other task in \/other \(100% of the wait\)$/,
  },
  {
    name: 'quota 4 cores far from reached, 2% throttled, waiting 30%',
    points: ticks(30, {
      cpu_periods: 10,
      cpu_throttled_periods: 0.2,
      cpu_usage_seconds: 0.7,
      cpu_quota_cores: 4,
      runq_delay_seconds_sum: 0.3,
      runq_delay_seconds_count: 400,
    }),
    runq: OTHER,
    cause: 'contention',
    summary: /little throttling \(2% of periods\)/,
  },
  {
    name: 'only runqslower evidence (no sampler data): 3.4 s of 10 s delayed behind /other',
    points: [],
    runq: OTHER,
    captureSeconds: 10,
    cause: 'contention',
    summary: /waiting 34% of the time/,
  },
  {
    name: 'busy on 0.9 of 2 cores, 3% throttled, 2% waiting',
    points: ticks(30, {
      cpu_periods: 10,
      cpu_throttled_periods: 0.3,
      cpu_usage_seconds: 0.9,
      cpu_quota_cores: 2,
      runq_delay_seconds_sum: 0.018,
      runq_delay_seconds_count: 200,
    }),
    cause: 'app-bound',
    summary: /^neither throttled much \(3% of periods\) nor waiting for a CPU \(2% of runnable time\)/,
  },
  {
    name: 'waiting behind its own threads',
    points: ticks(30, { cpu_usage_seconds: 1.9, runq_delay_seconds_sum: 0.6, runq_delay_seconds_count: 2000 }),
    runq: OWN,
    cause: 'self-contention',
    summary: /^runnable but waiting 24% of the time behind its own threads \(100% of the wait; other cgroups 0%\)/,
  },
  {
    name: 'only deep-probe evidence: 40% of runnable time waiting (offcpu vs profile), neighbours in /other',
    points: [],
    runq: OTHER,
    probeWait: { runnableSeconds: 4, throttledSeconds: 0, onCpuSeconds: 6 },
    captureSeconds: 10,
    cause: 'contention',
    summary: /waiting 40% of the time/,
  },
  {
    name: 'only deep-probe evidence: 3% waiting, no runqslower',
    points: [],
    probeWait: { runnableSeconds: 0.3, throttledSeconds: 0, onCpuSeconds: 9.7 },
    captureSeconds: 10,
    cause: 'app-bound',
    summary: /nor waiting for a CPU \(3% of runnable time\)/,
  },
  { name: 'no evidence at all', points: [], cause: 'unknown', summary: /^no CPU evidence/ },
];

for (const row of table) {
  test(`diagnosis: ${row.name} → ${row.cause}`, () => {
    const d = diagnose({
      window: windowStats(row.points),
      runq: row.runq,
      cgroupId: '4242',
      captureSeconds: row.captureSeconds,
      probeWait: row.probeWait,
    });
    assert.equal(d.cause, row.cause, d.summary);
    assert.match(d.summary, row.summary);
  });
}

test('diagnosis evidence carries the numbers behind the verdict', () => {
  const d = diagnose({ window: windowStats(table[0].points), cgroupId: '4242' });
  assert.ok(Math.abs((d.evidence.throttled_ratio as number) - 0.8) < 0.01);
  assert.ok(Math.abs((d.evidence.usage_cores as number) - 0.98) < 0.01);
  assert.equal(d.evidence.quota_cores, 1);
  assert.equal(d.evidence.window_seconds, 30);
  const c = diagnose({ window: windowStats(table[2].points), runq: OTHER, cgroupId: '4242' });
  assert.equal(c.evidence.top_neighbour, 'pid 4711 (backup.sh) and 1 other task in /other');
  assert.equal(c.evidence.others_share_of_wait, 1);
  assert.equal(c.evidence.top_neighbour_share, 1);
});

test('the top neighbour is the other cgroup that held the CPU longest, not the single heaviest task', () => {
  const runq: RunqEvidence = {
    delays: 300,
    delaySeconds: 2,
    neighbours: [
      { pid: 8238, comm: 'node', cgroupId: '1', cgroupPath: '/', count: 195, delaySeconds: 0.65 },
      { pid: 9686, comm: 'sh', cgroupId: '77', cgroupPath: '/noisy', count: 72, delaySeconds: 0.27 },
      { pid: 9688, comm: 'sh', cgroupId: '77', cgroupPath: '/noisy', count: 68, delaySeconds: 0.25 },
      { pid: 9687, comm: 'sh', cgroupId: '77', cgroupPath: '/noisy', count: 64, delaySeconds: 0.23 },
      { pid: 1201, comm: 'worker', cgroupId: '4242', cgroupPath: '/app', count: 500, delaySeconds: 5 },
    ],
  };
  const top = topNeighbour(runq, '4242')!;
  assert.equal(top.cgroupPath, '/noisy');
  assert.ok(Math.abs(top.delaySeconds - 0.75) < 1e-9);
  assert.equal(neighbourText(top), 'pid 9686 (sh) and 2 other tasks in /noisy');
  assert.equal(neighbourText({ ...top, tasks: top.tasks.slice(0, 1) }), 'pid 9686 (sh) in /noisy');
});

test('a neighbour with names is named by them (pod, workload, unit), else by its path', () => {
  const uid = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
  const cid = 'c'.repeat(64);
  const podPath = `/kubepods/besteffort/pod${uid}/${cid}`;
  const pods = new PodDirectory();
  pods.replace({
    pods: [
      {
        uid,
        namespace: 'batch',
        name: 'backup-28391',
        qos: 'BestEffort',
        workload: { kind: 'CronJob', name: 'backup' },
        containers: [{ id: cid, name: 'dump' }],
      },
    ],
  });
  const runq = (path: string): RunqEvidence => ({
    delays: 10,
    delaySeconds: 1,
    neighbours: [{ pid: 4711, comm: 'pg_dump', cgroupId: '77', cgroupPath: path, count: 10, delaySeconds: 1 }],
  });
  const nameOf = (p: string): string => pathName(pods, p);
  assert.equal(
    neighbourText(topNeighbour(runq(podPath), '4242', nameOf)!),
    'pid 4711 (pg_dump) in batch/backup-28391 (CronJob batch/backup), container dump',
  );
  assert.equal(
    neighbourText(topNeighbour(runq('/system.slice/backup.service'), '4242', nameOf)!),
    'pid 4711 (pg_dump) in backup.service',
  );
  assert.equal(neighbourText(topNeighbour(runq('/noisy'), '4242', nameOf)!), 'pid 4711 (pg_dump) in /noisy');
  const d = diagnose({ window: windowStats([]), runq: runq(podPath), cgroupId: '4242', captureSeconds: 10, nameOf });
  assert.match(String(d.evidence.top_neighbour), /batch\/backup-28391 \(CronJob batch\/backup\)/);
});
