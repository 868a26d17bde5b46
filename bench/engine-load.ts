/**
 * Load for bench/engine.ts: N cgroups with a CPU quota under one test parent, each holding a process that wakes now
 * and then (a C program compiled at bench time: one child per cgroup, sleeping 0.5–1.5 s between ~50 µs of work),
 * and an event storm (a 1-byte read() loop on one CPU: two syscall events per read, plus the switches around it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCgroup, type ManagedCgroup } from '../src/demo/cgroup-admin.ts';

const LOAD_C = `
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void spin_us(long us) {
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  do clock_gettime(CLOCK_MONOTONIC, &b); while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}
static int join_cgroup(char *dirs) {
  /* "dir1:dir2": the cgroup's directories in each hierarchy (cpu, cpuacct). */
  char pid[32]; snprintf(pid, sizeof pid, "%d", getpid());
  for (char *d = strtok(dirs, ":"); d; d = strtok(0, ":")) {
    char f[4096]; snprintf(f, sizeof f, "%s/cgroup.procs", d);
    int fd = open(f, O_WRONLY); if (fd < 0) return -1;
    if (write(fd, pid, strlen(pid)) < 0) return -1;
    close(fd);
  }
  return 0;
}
int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "storm")) {
    int fd = open("/dev/zero", O_RDONLY); char b;
    for (;;) if (read(fd, &b, 1) != 1) return 1;
  }
  if (argc < 3 || strcmp(argv[1], "sleepers")) return 2;
  for (int i = 2; i < argc; i++) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      if (join_cgroup(argv[i])) { perror(argv[i]); _exit(1); }
      srand(getpid());
      for (;;) {
        if (getppid() == 1) _exit(0);
        usleep(500000 + rand() % 1000000);
        spin_us(50);
      }
    }
  }
  printf("ready\\n"); fflush(stdout);
  pause();
  return 0;
}
`;

export interface Load {
  /** The compiled program. */
  readonly binary: string;
  /** Cgroups made under `parent` (relative to the cpu mount). */
  readonly parent: string;
  /** Starts one sleeper per cgroup; resolves when all have joined. */
  sleepers(cgroups: readonly ManagedCgroup[]): Promise<ChildProcess>;
  /** Makes `n` quota'd cgroups under the parent. */
  cgroups(n: number): ManagedCgroup[];
  /** A read() storm pinned to `cpu`. */
  storm(cpu: number): ChildProcess;
  dispose(): void;
}

/** Compiles the load program and makes the test parent cgroup. */
export function prepareLoad(): Load {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-bench-engine-'));
  writeFileSync(join(dir, 'load.c'), LOAD_C);
  const binary = join(dir, 'load');
  try {
    execFileSync('cc', ['-O2', '-o', binary, join(dir, 'load.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot compile the bench load (needs a C compiler: apt-get install -y gcc): ${err}`);
  }
  const parent = createCgroup({ name: `tripline-bench-${process.pid}` });
  const made: ManagedCgroup[] = [];
  const procs: ChildProcess[] = [];
  return {
    binary,
    parent: parent.rel,
    cgroups(n) {
      const out: ManagedCgroup[] = [];
      for (let i = made.length; out.length < n; i++) {
        const cg = createCgroup({ name: `${parent.rel.slice(1)}/c${i}`, quotaCores: 0.5 });
        made.push(cg);
        out.push(cg);
      }
      return out;
    },
    sleepers(cgroups) {
      const child = spawn(binary, ['sleepers', ...cgroups.map((c) => c.dirs.join(':'))], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(child);
      return new Promise((resolve, reject) => {
        child.stdout!.once('data', () => resolve(child));
        child.once('exit', (code) => reject(new Error(`the sleepers exited (${code}) before joining their cgroups`)));
      });
    },
    storm(cpu) {
      const child = spawn('taskset', ['-c', String(cpu), binary, 'storm'], { stdio: 'ignore' });
      procs.push(child);
      return child;
    },
    dispose() {
      for (const p of procs) p.kill('SIGKILL');
      // The sleepers' children notice their parent is gone within 1.5 s; destroy() moves stragglers out.
      execFileSync('sleep', ['2']);
      for (const cg of made.reverse()) cg.destroy();
      parent.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
