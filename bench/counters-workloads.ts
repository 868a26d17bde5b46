/**
 * Workloads of bench/counters.ts, small C programs compiled at bench time plus `perf bench sched pipe`, all pinned to
 * one CPU: a 1-byte read() loop, loopback TCP connect/accept/close, fork+exit. Each returns one figure; the caller
 * repeats and takes medians. The C loops report the thread's CPU time per operation (CLOCK_THREAD_CPUTIME_ID, which
 * includes the BPF programs run in the thread's context) so that other tenants preempting the loop do not count.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPS_C = `
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long n = atol(argv[2]);
  double t0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
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
    t0 = now(CLOCK_THREAD_CPUTIME_ID); w0 = now(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&a, sizeof a)) return 4;
      int s = accept(l, 0, 0);
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(c); close(s);
    }
  } else if (!strcmp(argv[1], "fork")) {
    /* Wall time here: the child's run is part of the operation. */
    for (long i = 0; i < n; i++) { pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, 0, 0); }
    printf("%.2f\\n", (now(CLOCK_MONOTONIC) - w0) / n);
    return 0;
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
    execFileSync('cc', ['-O2', '-o', join(dir, 'loops'), join(dir, 'loops.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot compile the benchmark loops (needs a C compiler: apt-get install -y gcc): ${(err as Error).message}`);
  }
  return { path: join(dir, 'loops'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One C loop (`read`, `connect` or `fork`) of `n` operations pinned to `cpu`: CPU ns per op (fork: wall ns). */
export function loopNs(binary: string, kind: 'read' | 'connect' | 'fork', n: number, cpu = 0): number {
  return Number(execFileSync('taskset', ['-c', String(cpu), binary, kind, String(n)], { encoding: 'utf8' }).trim());
}

/** µs per op of `perf bench sched pipe -l loops`, both tasks pinned to `cpu` (every op is two context switches and wakeups). */
export function schedPipeUs(loops: number, cpu = 0): number {
  const out = execFileSync('taskset', ['-c', String(cpu), 'perf', 'bench', 'sched', 'pipe', '-l', String(loops)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /([\d.]+)\s+usecs\/op/.exec(out);
  if (!m) throw new Error(`unexpected perf bench output:\n${out}`);
  return Number(m[1]);
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
