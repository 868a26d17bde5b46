import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelTest, skipOrFail } from '../../support/kernel.ts';
import { bpftrace, bpftraceArgs, findBpftrace } from '../../../src/probes/deep/bpftrace.ts';
import { hasCode } from '../../../src/errors.ts';
import { budget, probeContext, sleep } from './support.ts';

/** The config's word: rule programs allowed (they are off by default). */
const ALLOW = { allowBpftracePrograms: true };

test('the target goes in as positional parameters', () => {
  assert.deepEqual(bpftraceArgs({ pids: [42, 43], cgroupId: 7n }), ['42', '7']);
  assert.deepEqual(bpftraceArgs({ cgroupId: 7n }), ['7', '7']);
  assert.deepEqual(bpftraceArgs({ pids: [42] }), ['42', '0']);
});

test('rule programs are off unless the config allows them; the binary comes from the config only', () => {
  assert.throws(
    () => bpftrace.prepare(probeContext({ program: 'BEGIN { exit(); }' })),
    (e) =>
      hasCode(e, 'PROBE_ERR_CONFIG') && /off in this engine/.test(e.message) && /allow_bpftrace_programs/.test(e.hint),
  );
  assert.throws(
    () => bpftrace.prepare(probeContext({ program: 'BEGIN { exit(); }', bpftrace: '/bin/bash' }, true, ALLOW)),
    (e) => hasCode(e, 'PROBE_ERR_CONFIG') && /bpftrace/.test(e.message),
    'a rule cannot name a binary',
  );
});

test('a missing bpftrace is a clear unsupported error; a missing program a config error', () => {
  assert.throws(
    () =>
      bpftrace.prepare(
        probeContext({ program: 'BEGIN { exit(); }' }, true, { ...ALLOW, bpftraceBinary: '/nonexistent/bpftrace' }),
      ),
    (e) =>
      hasCode(e, 'PROBE_ERR_UNSUPPORTED') &&
      /not installed/.test(e.message) &&
      /apt-get install -y bpftrace/.test(e.hint),
  );
  assert.throws(
    () => bpftrace.prepare(probeContext({}, true, ALLOW)),
    (e) => hasCode(e, 'PROBE_ERR_CONFIG') && /program/.test(e.message),
  );
});

kernelTest(
  "bpftrace runs the rule's program with $1 = the target pid and stops at the deadline",
  async (t) => {
    if (!findBpftrace('/usr/bin/bpftrace')) {
      skipOrFail(t, 'bpftrace not installed');
      return;
    }
    const child = spawn('sh', ['-c', 'while :; do sleep 0.05; done'], { stdio: 'ignore' });
    try {
      const program = 'tracepoint:syscalls:sys_enter_wait4 /pid == $1/ { @waits = count(); }';
      const running = bpftrace
        .prepare(probeContext({ program }, true, ALLOW))
        .start({ pids: [child.pid!] }, budget({ durationMs: 6000 }));
      await sleep(8000);
      const r = await running.stop();
      assert.ok(r.endedAt - r.startedAt < 7500, `exited ${r.endedAt - r.startedAt} ms after start (deadline 6000)`);
      const s = bpftrace.summary.parse(r.summary);
      assert.ok(s.attached, s.output);
      const m = /@waits: (\d+)/.exec(s.output);
      assert.ok(m && Number(m[1]) > 5, s.output);
      assert.equal(s.exitCode, 0);
    } finally {
      child.kill('SIGKILL');
    }
  },
  { timeout: 60_000 },
);
