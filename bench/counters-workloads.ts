/**
 * Workloads of bench/counters.ts, small C programs compiled at bench time plus `perf bench sched pipe`, all pinned to
 * one CPU: a 1-byte read() loop, loopback TCP connect/accept/close, fork+exit+wait. Each returns one figure; the
 * caller repeats and takes medians. Every figure is CPU time per operation (CLOCK_THREAD_CPUTIME_ID, children's
 * rusage), which includes the BPF programs run in the tasks' context, so other tenants preempting the loop do not
 * count (on a shared 2-CPU host wall-clock figures swing by 2x between runs).
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

/** One C loop (`read`, `connect` or `fork`) of `n` operations pinned to `cpu`: CPU ns per op (fork: wall ns). */
export function loopNs(binary: string, kind: 'read' | 'connect' | 'fork', n: number, cpu = 0): number {
  return Number(execFileSync('taskset', ['-c', String(cpu), binary, kind, String(n)], { encoding: 'utf8' }).trim());
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
