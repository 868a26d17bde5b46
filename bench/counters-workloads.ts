/**
 * Workloads of bench/counters.ts, small C programs compiled at bench time plus `perf bench sched pipe`, all pinned to
 * one CPU: a 1-byte read() loop, loopback TCP connect/accept/close, fork+exit+wait, 4 KiB O_DIRECT reads of a file
 * on a block device (one block request each). Each returns one figure; the caller repeats and takes medians. Every figure is CPU time per operation (CLOCK_THREAD_CPUTIME_ID, children's
 * rusage), which includes the BPF programs run in the tasks' context, so other tenants preempting the loop do not
 * count (on a shared 2-CPU host wall-clock figures swing by 2x between runs).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPS_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long n = atol(argv[2]);
  double t0 = now(CLOCK_THREAD_CPUTIME_ID);
  if (!strcmp(argv[1], "read")) {
    int fd = open("/dev/zero", O_RDONLY); char b;
    for (long i = 0; i < n; i++) if (read(fd, &b, 1) != 1) return 1;
  } else if (!strcmp(argv[1], "connect")) {
    /* connect() to a listener completes the handshake in the kernel; accept, then close with RST (linger 0) so no
       TIME_WAIT piles up across runs. */
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    socklen_t al = sizeof a;
    struct linger lg = { 1, 0 };
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128) || getsockname(l, (struct sockaddr *)&a, &al)) return 3;
    t0 = now(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&a, sizeof a)) return 4;
      int s = accept(l, 0, 0);
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(c); close(s);
    }
  } else if (!strcmp(argv[1], "fork")) {
    /* The children's CPU time is part of the operation: add what getrusage reports for the waited children. */
    for (long i = 0; i < n; i++) { pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, 0, 0); }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double kids = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    printf("%.2f\\n", (now(CLOCK_THREAD_CPUTIME_ID) - t0 + kids) / n);
    return 0;
  } else if (!strcmp(argv[1], "dio")) {
    /* 4 KiB O_DIRECT reads at pseudo-random aligned offsets of argv[3]: no page cache, one block request each. */
    int fd = argc > 3 ? open(argv[3], O_RDONLY | O_DIRECT) : -1;
    off_t blocks = fd < 0 ? 0 : lseek(fd, 0, SEEK_END) / 4096;
    void *b;
    unsigned long x = 88172645463325252UL;
    if (blocks <= 0 || posix_memalign(&b, 4096, 4096)) return 5;
    t0 = now(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      if (pread(fd, b, 4096, (off_t)(x % blocks) * 4096) != 4096) return 6;
    }
  } else return 2;
  printf("%.2f\\n", (now(CLOCK_THREAD_CPUTIME_ID) - t0) / n);
  return 0;
}
`;

/** Compiles the C loops into a temporary directory; `dispose()` removes it. */
export function buildLoops(): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-bench-'));
  writeFileSync(join(dir, 'loops.c'), LOOPS_C);
  try {
    execFileSync('cc', ['-O2', '-o', join(dir, 'loops'), join(dir, 'loops.c')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `cannot compile the benchmark loops (needs a C compiler: apt-get install -y gcc): ${(err as Error).message}`,
    );
  }
  return { path: join(dir, 'loops'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One C loop of `n` operations pinned to `cpu`: CPU ns per op (fork: the children's CPU included). `dio` reads
 * `file` (see blockFile()).
 */
export function loopNs(
  binary: string,
  kind: 'read' | 'connect' | 'fork' | 'dio',
  n: number,
  opts: { cpu?: number; file?: string } = {},
): number {
  const argv = [String(opts.cpu ?? 0), binary, kind, String(n), ...(opts.file ? [opts.file] : [])];
  return Number(execFileSync('taskset', ['-c', ...argv], { encoding: 'utf8' }).trim());
}

/**
 * A file of `mib` MiB written to disk in `dir`, for the O_DIRECT read loop; undefined (with the reason) when `dir`
 * is not on a block device (tmpfs, overlay, network file systems: no block requests to measure). `dispose()`
 * removes it.
 */
export function blockFile(
  dir: string,
  mib: number,
): { path: string; dispose(): void } | { path?: undefined; reason: string } {
  const fs = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  if (['tmpfs', 'ramfs', 'overlayfs', 'nfs', 'fuseblk', 'fuse'].includes(fs))
    return { reason: `${dir} is on ${fs}, not a block device (pass --block-dir)` };
  const sub = mkdtempSync(join(dir, 'tripline-bench-'));
  const path = join(sub, 'blocks');
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20, 0xa5); // written, not sparse: every block is on the device
    for (let i = 0; i < mib; i++) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { path, dispose: () => rmSync(sub, { recursive: true, force: true }) };
}

/**
 * CPU µs per op of `perf bench sched pipe -l loops`, both tasks pinned to `cpu` (every op is two context switches,
 * two wakeups and four syscalls). CPU time (user + system of perf and its child, from the shell's `times`) rather
 * than perf's wall-clock figure, so other tenants running on the CPU meanwhile do not count.
 */
export function schedPipeUs(loops: number, cpu = 0): number {
  const out = execFileSync('bash', ['-c', `taskset -c ${cpu} perf bench sched pipe -l ${loops} >/dev/null && times`], {
    encoding: 'utf8',
  });
  const lines = out.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`unexpected output of times:\n${out}`);
  const seconds = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
  return (seconds * 1e6) / loops;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
