// Unit tier: the causes beyond the CPU from probe evidence shaped as the probes produce it (frames root first:
// user then kernel), and the syscalls probe's wait aggregation. The kernel scenarios run the same code on real
// workloads (scenarios-causes-kernel.test.ts); these pin the edges: idle pools are not locks, sockets are not
// files, a slow syscall rate is not a storm, memory pressure from PSI and reclaim stacks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnose, type ProbeEvidence } from '../../src/capture/diagnosis.ts';
import { classifyOffcpu, isLockStack, leafFirst, syscallOfStack } from '../../src/capture/classify.ts';
import { windowStats } from '../../src/capture/window.ts';
import { fileWaits, futexWaits } from '../../src/probes/deep/syscall-waits.ts';
import type { StackWeight } from '../../src/bundle/types.ts';

const KFUTEX = [
  'entry_SYSCALL_64_after_hwframe',
  'do_syscall_64',
  '__x64_sys_futex',
  'do_futex',
  'futex_wait',
  '__futex_wait',
  'futex_do_wait',
  'schedule',
  '__schedule',
];
const off = (frames: string[], weight: number, reason = 'blocked'): StackWeight => ({
  frames,
  weight,
  unit: 'seconds',
  reason,
});
const on = (frames: string[], weight: number): StackWeight => ({ frames, weight, unit: 'samples' });
const window = windowStats([]);
const profile = (stacks: StackWeight[], top: string) => {
  const samples = stacks.reduce((a, s) => a + s.weight, 0);
  return { samples, hz: 99, stacks, topFunctions: [{ name: top, samples: Math.round(samples * 0.9) }] };
};

test('classify: a mutex wait is a lock, a condition variable or an idle pool is not; contended futexes are', () => {
  assert.equal(isLockStack(['start_thread', 'worker', 'hold_lock', '__lll_lock_wait', ...KFUTEX], false), true);
  assert.equal(isLockStack(['start_thread', 'uv_worker', '__futex_abstimed_wait_common64', ...KFUTEX], true), false);
  assert.equal(isLockStack(['start_thread', '[libc.so.6]+0x8612b', ...KFUTEX], false), false);
  assert.equal(isLockStack(['start_thread', '[libc.so.6]+0x8612b', ...KFUTEX], true), true);
  assert.equal(isLockStack(['main', 'read', 'ksys_read', 'pipe_read', 'schedule'], true), false);
  const t = classifyOffcpu(
    [off(['a', '[libc.so.6]+0x1', ...KFUTEX], 2), off(['b', 'epoll_wait', 'ep_poll', 'schedule'], 9)],
    [{ threads: 3, waits: 400, seconds: 2 }],
  );
  assert.equal(t.lock, 2);
  assert.equal(t.blockedTotal, 11);
  assert.equal(leafFirst(t.lockStack!.frames, 3), 'futex_do_wait ← [libc.so.6]+0x1 ← a');
  assert.equal(syscallOfStack(['loop', 'entry_SYSCALL_64', 'do_syscall_64', '__x64_sys_getppid']), 'getppid');
  assert.equal(syscallOfStack(['loop', 'entry_SYSCALL_64', 'do_syscall_64']), '');
  assert.equal(syscallOfStack(['loop', 'compute']), undefined);
});

test('syscall waits: futex waits by address with a holder of the same process; files by fd, sockets left out', () => {
  const call = (syscall: string, tid: number, args: bigint[], seconds: number, holder = 0) => ({
    syscall,
    tgid: 100,
    tid,
    seconds,
    args,
    holder,
  });
  const calls = [
    call('futex', 101, [0x5000n, 128n], 0.003, 102),
    call('futex', 103, [0x5000n, 128n], 0.009, 102),
    call('futex', 104, [0x7000n, 128n], 0.001, 0),
    call('fdatasync', 101, [3n], 0.02),
    call('fdatasync', 101, [3n], 0.03),
    call('read', 101, [7n], 0.5),
  ];
  const fw = futexWaits(calls, (pid, tid) => (pid === 100 && tid === 102 ? { tid, comm: 'holder' } : undefined));
  assert.deepEqual(fw[0], {
    uaddr: '0x5000',
    pid: 100,
    waits: 2,
    seconds: 0.012,
    threads: 2,
    holder: { tid: 102, comm: 'holder' },
  });
  assert.equal(fw[1].holder, undefined);
  const paths: Record<number, string> = { 3: '/data/journal', 7: 'socket:[1234]' };
  const files = fileWaits(calls, false, (_pid, fd) => paths[fd]);
  assert.deepEqual(files, [{ syscall: 'fdatasync', pid: 100, fd: 3, calls: 2, seconds: 0.05, path: '/data/journal' }]);
  assert.equal(fileWaits(calls, true, (_pid, fd) => paths[fd])[0].path, '<redacted>');
});

test('causes: lock contention leads with the waiting stack, the lock and its holder', () => {
  const probes: ProbeEvidence = {
    captureSeconds: 3,
    offcpu: { stacks: [off(['start_thread', 'locker', '__lll_lock_wait', ...KFUTEX], 6)] },
    profile: profile([on(['start_thread', 'locker', 'hold_lock_and_work'], 297)], 'hold_lock_and_work'),
    syscalls: {
      perSyscall: { futex: { count: 900, seconds: 6 } },
      futexWaits: [
        { uaddr: '0x5000', pid: 100, waits: 900, seconds: 6, threads: 3, holder: { tid: 101, comm: 'work' } },
      ],
      fileWaits: [],
    },
  };
  const d = diagnose({ window, probes, captureSeconds: 3 });
  assert.equal(d.cause, 'lock-contention');
  assert.equal(
    d.lead,
    'lock contention: 100% of off-CPU time in futex_do_wait ← __lll_lock_wait ← locker ← start_thread (lock 0x5000 in pid 100: 900 waits by 3 threads, held by tid 101 (work))',
  );
  assert.match(d.advice!, /critical section/);
  assert.equal(d.evidence.lock_share_of_busy, 6 / 9);
});

test('causes: io-bound names the flush, its file and the device', () => {
  const probes: ProbeEvidence = {
    captureSeconds: 3,
    offcpu: {
      stacks: [off(['main', 'fdatasync', 'do_fsync', 'ext4_sync_file', 'jbd2_log_wait_commit', 'schedule'], 2.4)],
    },
    profile: profile([on(['main', 'write'], 30)], 'write'),
    syscalls: {
      perSyscall: { fdatasync: { count: 300, seconds: 2.4 } },
      futexWaits: [],
      fileWaits: [{ syscall: 'fdatasync', pid: 7, fd: 3, calls: 300, seconds: 2.4, path: '/data/journal' }],
    },
    io: { requests: 600, p99Seconds: 0.012, slowest: [{ disk: 'vda', dev: '254:0', seconds: 0.02 }] },
  };
  const d = diagnose({ window, probes, captureSeconds: 3 });
  assert.equal(d.cause, 'io-bound');
  assert.equal(
    d.culprit,
    'fdatasync on fd 3 (/data/journal) in pid 7: 300 slow calls, 2.4 s; device vda (p99 12 ms over 600 requests)',
  );
});

test('causes: a syscall storm needs the rate; the same loop at a low rate is app-bound', () => {
  const stacks = [
    on(['main', 'storm', 'entry_SYSCALL_64', 'do_syscall_64', 'x64_sys_call'], 60),
    on(['main', 'storm'], 40),
  ];
  const probes = (count: number): ProbeEvidence => ({
    captureSeconds: 2,
    offcpu: { stacks: [] },
    profile: profile(stacks, 'storm'),
    syscalls: { perSyscall: { getppid: { count, seconds: 0.2 } }, futexWaits: [], fileWaits: [] },
  });
  const storm = diagnose({ window, probes: probes(2_000_000), captureSeconds: 2 });
  assert.equal(storm.cause, 'syscall-storm');
  assert.equal(storm.culprit, 'getppid at 1000k/s (0.1 µs each in the kernel) from storm ← main');
  // As many calls that each do work in the kernel (a read copying pages): not a storm.
  const busy = probes(2_000_000);
  const costly = {
    ...busy,
    syscalls: { ...busy.syscalls!, perSyscall: { getppid: { count: 2_000_000, seconds: 40 } } },
  };
  assert.notEqual(diagnose({ window, probes: costly, captureSeconds: 2 }).cause, 'syscall-storm');
  const slow = diagnose({ window, probes: probes(100), captureSeconds: 2 });
  assert.equal(slow.cause, 'app-bound');
  assert.equal(slow.culprit, 'storm (90% of samples)');
  assert.ok(slow.checked!.includes('syscalls: busiest getppid at 50/s'), JSON.stringify(slow.checked));
});

test('causes: memory pressure from PSI and reclaim stacks; nothing found lists what was checked', () => {
  const probes: ProbeEvidence = {
    captureSeconds: 3,
    offcpu: {
      stacks: [
        off(
          [
            'main',
            'alloc',
            'asm_exc_page_fault',
            '__alloc_pages_slowpath',
            'try_to_free_pages',
            'shrink_node',
            'schedule',
          ],
          0.9,
        ),
      ],
    },
    profile: profile([on(['main', 'compute'], 200)], 'compute'),
    memoryPsi: { some: 0.35, scope: 'node' },
  };
  const d = diagnose({ window, probes, captureSeconds: 3 });
  assert.equal(d.cause, 'memory-pressure');
  assert.equal(
    d.lead,
    'memory pressure: PSI memory some 35% (node level), 31% of busy time in reclaim (shrink_node ← asm_exc_page_fault ← alloc ← main)',
  );
  const idle = diagnose({
    window,
    probes: { captureSeconds: 3, offcpu: { stacks: [off(['main', 'epoll_wait', 'ep_poll', 'schedule'], 3)] } },
    captureSeconds: 3,
  });
  assert.equal(idle.cause, 'unknown');
  assert.deepEqual(idle.checked, [
    'locks: n/a of busy time in futex waits',
    'I/O: n/a of busy time blocked on storage',
    'memory: n/a in reclaim',
    'on CPU n/a, waiting for a CPU n/a, throttled n/a',
  ]);
});
