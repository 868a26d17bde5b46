import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../../support/kernel.ts';
import { decodeSlowCall, syscalls, SYSCALLS_EVENT_SIZE } from '../../../src/probes/deep/syscalls.ts';
import { budget, compileC, probeContext, sleep } from './support.ts';

test('syscalls event decoder reads the C layout', () => {
  const b = Buffer.alloc(SYSCALLS_EVENT_SIZE);
  b.writeBigUInt64LE(2_000_000n, 0);
  b.writeBigInt64LE(-2n, 8);
  b.writeBigUInt64LE(0xffffff9cn, 16);
  b.writeUInt32LE(257, 40);
  b.writeUInt32LE(11, 44);
  b.writeUInt32LE(10, 48);
  b.writeUInt32LE(1, 52);
  b.write('app', 56);
  b.write('/etc/x', 72);
  const c = decodeSlowCall(b);
  assert.equal(c.id, 257);
  assert.equal(c.ret, -2n);
  assert.equal(c.comm, 'app');
  assert.equal(c.path, '/etc/x');
  assert.equal(c.tgid, 10);
  b.writeUInt32LE(0, 52);
  assert.equal(decodeSlowCall(b).path, undefined);
  assert.throws(() => decodeSlowCall(Buffer.alloc(SYSCALLS_EVENT_SIZE + 8)), RangeError);
});

const dir = mkdtempSync(join(tmpdir(), 'tripline-syscalls-'));
const file = join(dir, 'data-file');
writeFileSync(file, Buffer.alloc(8192));
const io = compileC(`
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char buf[4096]; struct timespec ts = {0, 20 * 1000 * 1000};
  for (;;) { int fd = openat(AT_FDCWD, argv[1], O_RDONLY); read(fd, buf, sizeof buf); close(fd); nanosleep(&ts, 0); }
}`);
const flood = compileC('#include <unistd.h>\nint main(void) { for (;;) getppid(); }');
after(() => {
  io.cleanup();
  flood.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

kernelTest("syscalls counts and times the target's calls; the slowest is the sleep, paths redacted", async () => {
  const child = spawn(io.bin, [file], { stdio: 'ignore' });
  try {
    await sleep(100);
    const running = syscalls.prepare(probeContext({ threshold_ms: 0 })).start({ pids: [child.pid!] }, budget());
    await sleep(1000);
    const r = await running.stop();
    const s = syscalls.summary.parse(r.summary);
    const sleeps = s.perSyscall.clock_nanosleep ?? s.perSyscall.nanosleep;
    assert.ok(sleeps && sleeps.count >= 20 && sleeps.count <= 60, JSON.stringify(s.perSyscall));
    assert.ok(sleeps.seconds > 0.5, `slept ${sleeps.seconds}s`);
    assert.ok(Math.abs(s.perSyscall.openat.count - sleeps.count) <= 2);
    assert.equal(
      Object.keys(s.perSyscall)[0],
      sleeps === s.perSyscall.nanosleep ? 'nanosleep' : 'clock_nanosleep',
      'sorted by time',
    );
    assert.match(s.slowest[0].syscall, /nanosleep/);
    const open = r.records!.find((x) => x.syscall === 'openat')!;
    assert.match(String(open.args), /dirfd=AT_FDCWD path=<redacted>/);
    assert.deepEqual(r.redactions, ['path arguments']);
    const read = r.records!.find((x) => x.syscall === 'read')!;
    assert.match(String(read.args), /^fd=\d+ count=4096$/);
    assert.equal(read.ret, 4096);
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('syscalls shows the openat path when redaction is off', async () => {
  const child = spawn(io.bin, [file], { stdio: 'ignore' });
  try {
    const running = syscalls.prepare(probeContext({ threshold_ms: 0 }, false)).start({ pids: [child.pid!] }, budget());
    await sleep(300);
    const r = await running.stop();
    const open = r.records!.find((x) => x.syscall === 'openat')!;
    assert.equal(open.args, `dirfd=AT_FDCWD path=${JSON.stringify(file)} flags=0x0`);
    assert.deepEqual(r.redactions, []);
  } finally {
    child.kill('SIGKILL');
  }
});

kernelTest('syscalls flooded beyond its event budget stops at the budget and reports the drops', async () => {
  const child = spawn(flood.bin, { stdio: 'ignore' });
  try {
    const running = syscalls
      .prepare(probeContext({ threshold_ms: 0 }))
      .start({ pids: [child.pid!] }, budget({ maxEvents: 100 }));
    await sleep(500);
    const r = await running.stop();
    // The budget check and the count are two steps, so CPUs racing at the boundary may each take the last event:
    // at most one extra event per other CPU (bpf/deep_target.h).
    const slack = availableParallelism() - 1;
    assert.ok(r.events >= 100 && r.events <= 100 + slack, `events ${r.events}`);
    assert.equal(r.records!.length, r.events);
    assert.ok(r.dropped > 1000, `dropped ${r.dropped}`);
    assert.equal(r.partial, true);
    const s = syscalls.summary.parse(r.summary);
    assert.ok(s.perSyscall.getppid.count > r.events, 'the totals keep counting past the event budget');
  } finally {
    child.kill('SIGKILL');
  }
});
