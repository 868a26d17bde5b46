import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelTest } from '../../support/kernel.ts';
import { decodeProfileKey, profile, PROFILE_KEY_SIZE } from '../../../src/probes/deep/profile.ts';
import { budget, compileC, probeContext, sleep } from './support.ts';
import { hasCode } from '../../../src/errors.ts';

const HOT = `
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noinline)) void tripline_hot_loop(void) { for (unsigned long i = 0; i < 4000000UL; i++) sink += i * 7; }
int main(void) { for (;;) { tripline_hot_loop(); usleep(2000); } }
`;

test('profile_key decoder reads the C layout and rejects other sizes', () => {
  const b = Buffer.alloc(PROFILE_KEY_SIZE);
  b.writeUInt32LE(10, 0);
  b.writeUInt32LE(11, 4);
  b.writeInt32LE(-14, 8);
  b.writeInt32LE(3, 12);
  b.write('worker', 16);
  assert.deepEqual(decodeProfileKey(b), { tgid: 10, pid: 11, kstack: -14, ustack: 3, comm: 'worker' });
  assert.throws(() => decodeProfileKey(Buffer.alloc(31)), RangeError);
});

test('a bad option is a coded error naming the key', () => {
  assert.throws(
    () => profile.prepare(probeContext({ frequency_hz: 0 })),
    (e) => hasCode(e, 'PROBE_ERR_CONFIG') && /frequency_hz/.test(e.message),
  );
  assert.throws(
    () => profile.prepare(probeContext({ frequency: 99 })),
    (e) => hasCode(e, 'PROBE_ERR_CONFIG'),
  );
});

const w = compileC(HOT);
after(() => w.cleanup());

kernelTest('profile names the hot function at the top of the user stack', async () => {
  const child = spawn(w.bin, { stdio: 'ignore' });
  try {
    const prepared = profile.prepare(probeContext({ frequency_hz: 199 }));
    const running = prepared.start({ pids: [child.pid!] }, budget({ durationMs: 5000 }));
    await sleep(2500);
    const r = await running.stop();
    assert.equal(r.probe, 'profile');
    assert.ok(r.events > 20, `samples: ${r.events}`);
    const top = profile.summary.parse(r.summary).topFunctions[0];
    assert.equal(top.name, 'tripline_hot_loop', JSON.stringify(r.summary.topFunctions));
    const hottest = r.stacks![0];
    assert.equal(hottest.unit, 'samples');
    const i = hottest.frames.indexOf('tripline_hot_loop');
    assert.ok(i > 0 && hottest.frames[i - 1] === 'main', hottest.frames.join(';'));
    assert.ok(
      r.stacks!.every((s) => s.comm === 'w'),
      'only the target was sampled',
    );
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('profile stops at its event budget and reports the drops', async () => {
  const child = spawn(w.bin, { stdio: 'ignore' });
  try {
    const running = profile
      .prepare(probeContext({ frequency_hz: 500 }))
      .start({ pids: [child.pid!] }, budget({ maxEvents: 20 }));
    await sleep(1500);
    const r = await running.stop();
    assert.equal(r.events, 20);
    assert.ok(r.dropped > 0, `dropped ${r.dropped}`);
    assert.equal(r.partial, true);
    assert.equal(
      r.stacks!.reduce((s, x) => s + x.weight, 0),
      20,
    );
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('a prepared probe starts once', async () => {
  const prepared = profile.prepare(probeContext());
  const running = prepared.start({ pids: [process.pid] }, budget({ durationMs: 1000 }));
  assert.throws(
    () => prepared.start({ pids: [process.pid] }, budget()),
    (e) => hasCode(e, 'PROBE_ERR_ATTACH') && /already started/.test(e.message),
  );
  await running.stop();
});

kernelTest('a target with neither cgroup nor pids is refused and the object freed', () => {
  const prepared = profile.prepare(probeContext());
  assert.throws(
    () => prepared.start({}, budget()),
    (e) => hasCode(e, 'CAPTURE_ERR_TARGET'),
  );
});
