import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFamilies } from '../../../src/probes/counters/start.ts';
import { cpustat } from '../../../src/probes/counters/cpustat.ts';
import { buildConfig } from '../../../src/config.ts';
import { TriplineError } from '../../../src/errors.ts';
import type { CounterFactory } from '../../../src/probes/counters/types.ts';

const failing: CounterFactory = {
  name: 'tcp',
  signals: [],
  bpf: true,
  start() {
    throw new TriplineError('PROBE_ERR_ATTACH', 'cannot attach tcp_probe', {
      hint: 'needs tracepoint sock:inet_sock_set_state',
    });
  },
};
const bpfOnly: CounterFactory = {
  name: 'runq',
  signals: [],
  bpf: true,
  start() {
    throw new Error('must not start with --no-bpf');
  },
};
const registry = { cpustat, tcp: failing, runq: bpfOnly };
const ctx = { config: buildConfig({}, {}), objDir: '/nonexistent' };

test('failures become unavailable families with their reason; the rest start', () => {
  const { families, unavailable } = startFamilies(registry, ctx, { enabled: ['cpustat', 'tcp', 'nope'], noBpf: false });
  try {
    assert.deepEqual(
      families.map((f) => f.name),
      ['cpustat'],
    );
    assert.equal(unavailable[0].family, 'tcp');
    assert.equal(
      unavailable[0].reason,
      'PROBE_ERR_ATTACH: cannot attach tcp_probe (hint: needs tracepoint sock:inet_sock_set_state)',
    );
    assert.equal(unavailable[1].family, 'nope');
    assert.match(unavailable[1].reason, /^CONFIG_ERR_INVALID: counters.enabled: unknown family "nope"/);
  } finally {
    for (const f of families) f.close();
  }
});

test('--no-bpf skips BPF families without starting them', () => {
  const { families, unavailable } = startFamilies(registry, ctx, { enabled: ['runq', 'cpustat'], noBpf: true });
  try {
    assert.deepEqual(
      families.map((f) => f.name),
      ['cpustat'],
    );
    assert.deepEqual(unavailable, [{ family: 'runq', reason: 'needs BPF (--no-bpf)' }]);
  } finally {
    for (const f of families) f.close();
  }
});

test('strict: the first failure is thrown', () => {
  assert.throws(() => startFamilies(registry, ctx, { enabled: ['cpustat', 'tcp'], strict: true }), {
    code: 'PROBE_ERR_ATTACH',
  });
});
