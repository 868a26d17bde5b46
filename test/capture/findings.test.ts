import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFindings } from '../../src/capture/findings.ts';
import { compareWindows } from '../../src/capture/compare.ts';
import type { ProbeResult } from '../../src/probes/deep/types.ts';
import type { HistoryPoint } from '../../src/sampler/history.ts';

const T0 = 1_700_000_000_000;
function ticks(from: number, n: number, v: (i: number) => Record<string, number>): HistoryPoint[] {
  return Array.from({ length: n }, (_, i) => ({ at: from + i * 1000, values: v(i) }));
}
// 5 minutes of a calm cgroup, then 10 s of capture while a neighbour takes the CPU.
const before = ticks(T0 - 300_000, 300, (i) => ({
  cpu_usage_seconds: 0.6 + (i % 7) * 0.01,
  runq_delay_seconds_sum: 0.004,
  runq_delay_seconds_count: 400,
  tcp_retransmits: 0,
}));
const during = ticks(T0, 10, (i) => ({
  cpu_usage_seconds: 0.55 + (i % 3) * 0.01,
  runq_delay_seconds_sum: 0.34,
  runq_delay_seconds_count: 420,
  tcp_retransmits: 0,
}));

function result(probe: string, over: Partial<ProbeResult>): ProbeResult {
  return {
    probe,
    startedAt: T0,
    endedAt: T0 + 10_000,
    partial: false,
    events: 10,
    dropped: 0,
    errors: [],
    summary: {},
    redactions: [],
    ...over,
  };
}
const results: ProbeResult[] = [
  result('runqslower', {
    summary: {
      delays: 57,
      totalDelaySeconds: 3.4,
      maxDelaySeconds: 0.2,
      thresholdMs: 1,
      neighbours: [
        { pid: 4800, comm: 'gzip', cgroupId: 9001, cgroupPath: '/other', count: 16, delaySeconds: 0.8 },
        { pid: 4711, comm: 'backup.sh', cgroupId: '9001', cgroupPath: '/other', count: 41, delaySeconds: 2.6 },
      ],
    },
  }),
  result('profile', {
    summary: { samples: 1000, frequencyHz: 99 },
    stacks: [
      { frames: ['main', 'handle', 'json_parse', 'memcpy'], weight: 420, unit: 'samples', comm: 'api' },
      { frames: ['main', 'gc'], weight: 580, unit: 'samples', comm: 'api' },
    ],
  }),
  result('offcpu', {
    dropped: 12,
    summary: { blockedSeconds: 0.2, runnableSeconds: 3.5 },
    stacks: [
      { frames: ['main', 'read_body', 'recv'], weight: 0.2, unit: 'seconds', reason: 'blocked' },
      { frames: ['main', 'handle', 'json_parse'], weight: 3.3, unit: 'seconds', reason: 'runnable' },
    ],
  }),
  result('syscalls', {
    summary: {
      slowest: [
        { syscall: 'read', pid: 812, comm: 'api', seconds: 0.004, args: 'fd=5 size=4096' },
        { syscall: 'fsync', pid: 812, comm: 'api', seconds: 0.212, args: 'fd=7' },
      ],
    },
  }),
  result('pg', {
    summary: {
      slowest: [
        { query: 'SELECT pg_sleep(?)', seconds: 0.2013, pid: 9 },
        { query: 'SELECT ?', seconds: 0.0004, pid: 9 },
      ],
    },
  }),
];

test('findings: headlines name the waiting share, the neighbour, hot stacks, slowest syscall and query', () => {
  const { findings: f, errors } = buildFindings({
    results,
    cgroupId: '4242',
    before,
    during,
    captureSeconds: 10,
  });
  assert.deepEqual(errors, []);
  assert.equal(f.diagnosis?.cause, 'contention');
  assert.equal(
    f.headlines[0],
    // The capture's own probes (offcpu vs profile: 3.5 s vs 10.1 s) come before the sampler's run-queue share (38%),
    // which counts task-based throttling as waiting; runqslower's neighbours held the CPU for 3.4 of those 3.5 s.
    "contention: pid 4711 (backup.sh) and 1 other task in /other ran for 97% of the target's wait (waiting for a CPU 26% of the time)",
  );
  assert.equal(f.headlines[1], 'hottest on-CPU stack (58% of samples): gc ← main');
  assert.equal(f.headlines[2], 'most off-CPU time (3.3 s, runnable): json_parse ← handle ← main');
  assert.equal(f.headlines[3], 'slowest syscall: fsync took 212 ms in pid 812 (api)');
  assert.equal(f.headlines[4], 'slowest query: 201 ms for SELECT pg_sleep(?)');
  assert.match(f.headlines[5], /^moved against the window before the trip: runq_delay_seconds/);
  assert.equal(f.headlines[6], 'offcpu dropped 12 events (budget or full buffers): its numbers are a lower bound');
  assert.deepEqual(
    f.neighbours.map((n) => [n.pid, n.cgroupId]),
    [
      [4711, '9001'],
      [4800, '9001'],
    ],
  );
  assert.equal(f.topOnCpu[0].weight, 580);
  assert.equal(f.slowSyscalls[0].syscall, 'fsync');
  assert.equal(f.slowQueries[0].query, 'SELECT pg_sleep(?)');
});

test('findings: before/after shifts report the run-queue jump and leave steady signals out', () => {
  const { findings: f } = buildFindings({ results: [], before, during, captureSeconds: 10 });
  // Every capture is diagnosed; waiting without runqslower names nobody.
  assert.equal(f.diagnosis?.cause, 'unknown');
  assert.match(f.diagnosis?.lead ?? '', /^unknown: runnable but waiting 38% .*without runqslower/);
  const mean = f.shifts['runq_delay_seconds_mean.p99'];
  assert.ok(mean.before < 0.00002 && mean.during > 0.0007, JSON.stringify(mean));
  assert.ok(f.shifts['cpu_usage_seconds.p50'], 'core CPU keys are always reported');
  assert.equal(f.shifts['tcp_retransmits.p50'], undefined, 'a signal that stayed at 0 did not move');
  const cmp = compareWindows(before, during);
  assert.ok(
    cmp.moved.every((s) => !s.key.startsWith('cpu_usage')),
    'usage 0.6 → 0.55 is not a move',
  );
});

test('findings: without sampler data, offcpu runnable time vs profile samples gives the waiting share', () => {
  const { findings: f, errors } = buildFindings({
    results,
    cgroupId: '4242',
    before: [],
    during: [],
    captureSeconds: 10,
  });
  assert.deepEqual(errors, []);
  // 3.5 s runnable vs 1000 samples / 99 Hz = 10.1 s on CPU → 26% waiting, behind /other.
  assert.equal(f.diagnosis?.cause, 'contention');
  assert.equal(f.diagnosis?.evidence.wait_share_from, 'offcpu+profile');
  assert.ok(Math.abs((f.diagnosis?.evidence.wait_share as number) - 3.5 / (3.5 + 1000 / 99)) < 1e-9);
  assert.match(f.headlines[0], /^contention: pid 4711 \(backup\.sh\) .* \(waiting for a CPU 26% of the time\)$/);
});

test('findings: a summary shaped differently is reported, not fatal; empty input gives empty findings', () => {
  const { findings: f, errors } = buildFindings({
    results: [result('runqslower', { summary: { neighbours: 'x' } })],
    before: [],
    during: [],
    captureSeconds: 10,
  });
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^runqslower: summary not understood/);
  assert.equal(f.diagnosis?.cause, 'unknown');
  assert.deepEqual(f.headlines, []);
});

test("findings: the http probe's route lines become headlines, a summary without them an error", () => {
  const line = 'p99 812 ms on POST /api/orders/{id} (31 requests): 64 % of their time blocked';
  const { findings: f, errors } = buildFindings({
    results: [result('http', { summary: { findings: [line, 'second', 'third', 'fourth'] } })],
    before: [],
    during: [],
    captureSeconds: 10,
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(f.headlines, [line, 'second', 'third']);
  const bad = buildFindings({
    results: [result('http', { summary: { findings: 'nope' } })],
    before: [],
    during: [],
    captureSeconds: 10,
  });
  assert.match(bad.errors[0], /^http: summary not understood/);
});
