import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../../support/kernel.ts';
import { decodeOffcpu, offcpu, OFFCPU_KEY_SIZE, OFFCPU_VAL_SIZE } from '../../../src/probes/deep/offcpu.ts';
import { budget, compileC, probeContext, sleep } from './support.ts';

// Sleeps in nanosleep and syncs a file with fsync, from named functions so the stacks say which is which.
const BLOCKER = `
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) void tripline_nap(void) { struct timespec ts = {0, 30 * 1000 * 1000}; nanosleep(&ts, 0); }
__attribute__((noinline)) void tripline_sync(int fd) { write(fd, "x", 1); fsync(fd); }
int main(int argc, char **argv) { int fd = open(argv[1], O_CREAT | O_WRONLY, 0600); for (;;) { tripline_nap(); tripline_sync(fd); } }
`;

test('offcpu decoder reads the C layout and rejects other sizes', () => {
  const k = Buffer.alloc(OFFCPU_KEY_SIZE);
  k.writeUInt32LE(7, 0);
  k.writeUInt32LE(8, 4);
  k.writeInt32LE(1, 8);
  k.writeInt32LE(2, 12);
  k.writeUInt32LE(2, 16);
  k.write('db', 20);
  const v = Buffer.alloc(OFFCPU_VAL_SIZE);
  v.writeBigUInt64LE(1500n, 0);
  v.writeBigUInt64LE(3n, 8);
  assert.deepEqual(decodeOffcpu(k, v), {
    tgid: 7,
    pid: 8,
    kstack: 1,
    ustack: 2,
    reason: 'runnable',
    comm: 'db',
    totalNs: 1500n,
    count: 3,
  });
  assert.throws(() => decodeOffcpu(Buffer.alloc(32), v), RangeError);
});

const w = compileC(BLOCKER);
const dir = mkdtempSync(join(tmpdir(), 'tripline-offcpu-'));
after(() => {
  w.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

kernelTest("offcpu attributes a sleeper's time to its nanosleep stack, blocked", async () => {
  const child = spawn(w.bin, [join(dir, 'f')], { stdio: 'ignore' });
  try {
    await sleep(100);
    const running = offcpu.prepare(probeContext()).start({ pids: [child.pid!] }, budget());
    await sleep(2000);
    const r = await running.stop();
    assert.ok(r.events > 10, `spells ${r.events}`);
    const blocked = r.summary.blockedSeconds as number;
    assert.ok(blocked > 1.0 && blocked < 2.5, `blocked ${blocked}s of a 2 s window`);
    // libc's nanosleep keeps no frame pointer, so frame-pointer unwinding skips its caller (tripline_nap): the stack
    // is main → clock_nanosleep → the kernel's nanosleep path.
    const nap = r.stacks!.filter((s) => s.frames.includes('hrtimer_nanosleep') || s.frames.includes('tripline_nap'));
    const napSeconds = nap.reduce((s, x) => s + x.weight, 0);
    assert.ok(napSeconds > 0.5 * blocked, `nanosleep stacks hold ${napSeconds}s of ${blocked}s`);
    assert.ok(nap.every((s) => s.reason === 'blocked'));
    const top = nap[0].frames;
    assert.equal(top[top.length - 1], '__schedule', `leaf is the scheduler, BPF frames dropped: ${top.join(';')}`);
    assert.ok(top.includes('main') && top.indexOf('main') < top.indexOf('hrtimer_nanosleep'), top.join(';'));
    assert.ok(
      r.stacks!.some((s) => s.frames.includes('__x64_sys_fsync') && s.reason === 'blocked'),
      'fsync is seen too',
    );
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('offcpu stops at its deadline with nobody calling stop', async () => {
  const child = spawn(w.bin, [join(dir, 'g')], { stdio: 'ignore' });
  try {
    const running = offcpu.prepare(probeContext()).start({ pids: [child.pid!] }, budget({ durationMs: 500 }));
    await sleep(1500);
    const r = await running.stop();
    assert.ok(r.endedAt - r.startedAt < 900, `detached after ${r.endedAt - r.startedAt} ms`);
    assert.ok((r.summary.blockedSeconds as number) < 0.9);
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('offcpu reports a CPU-bound task sharing its CPU as runnable, targeted by cgroup', async () => {
  const { createCgroup } = await import('../../../src/demo/cgroup-admin.ts');
  const { uniqueName } = await import('./support.ts');
  const spin = compileC('int main(void) { volatile unsigned long x = 0; for (;;) x++; }');
  const cg = createCgroup({ name: uniqueName() });
  // Two spinners pinned to one CPU: each is preempted for the other, never blocked.
  const kids = [
    spawn('taskset', ['-c', '0', spin.bin], { stdio: 'ignore' }),
    spawn('taskset', ['-c', '0', spin.bin], { stdio: 'ignore' }),
  ];
  try {
    cg.addPid(kids[0].pid!);
    await sleep(100);
    const running = offcpu.prepare(probeContext()).start({ cgroupId: BigInt(cg.id), cgroupPath: cg.path }, budget());
    await sleep(1500);
    const r = await running.stop();
    const s = offcpu.summary.parse(r.summary);
    assert.ok(s.runnableSeconds > 0.3, `runnable ${s.runnableSeconds}s`);
    assert.ok(s.runnableSeconds > 5 * s.blockedSeconds, JSON.stringify(s));
    assert.ok(
      r.stacks!.every((x) => x.comm === 'w'),
      "only the cgroup's task",
    );
    assert.ok(
      r.stacks!.some((x) => x.reason === 'runnable' && x.frames.includes('main')),
      "the spinner's user stack",
    );
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    await sleep(100);
    cg.destroy();
    spin.cleanup();
  }
});

kernelTest('offcpu counts a spell still in progress at stop (a long sleep that began during the capture)', async () => {
  const child = spawn('sh', ['-c', 'sleep 0.3; exec sleep 30'], { stdio: 'ignore' });
  try {
    const running = offcpu.prepare(probeContext()).start({ pids: [child.pid!] }, budget());
    await sleep(1500);
    const r = await running.stop();
    const s = offcpu.summary.parse(r.summary);
    assert.ok(s.inProgressSeconds > 0.8 && s.inProgressSeconds < 1.6, JSON.stringify(s));
    const top = r.stacks![0];
    assert.equal(top.comm, 'sleep');
    assert.equal(top.reason, 'blocked');
    assert.ok(top.frames.includes('hrtimer_nanosleep'), top.frames.join(';'));
  } finally {
    child.kill('SIGKILL');
  }
});
