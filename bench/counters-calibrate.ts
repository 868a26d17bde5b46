/**
 * The floor of BPF run-time statistics: with kernel.bpf_stats_enabled the kernel times each run with two clock reads,
 * and run_time_ns includes part of that. An empty program on sys_enter measures it, so per-event costs can be shown
 * both as measured and with the floor taken off (once per program: a hook with two programs pays it twice).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openObject, enableStats } from '../src/probes/libbpf.ts';

const EMPTY_BPF = `
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
SEC("tp_btf/sys_enter")
int BPF_PROG(tl_bench_empty, struct pt_regs *regs, long id) { return 0; }
char LICENSE[] SEC("license") = "GPL";
`;

/** ns that run_time_ns / run_cnt reports for a program doing nothing, measured under `load()`. */
export function statsFloorNs(objDir: string, load: () => void): number {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-bench-bpf-'));
  try {
    writeFileSync(join(dir, 'empty.bpf.c'), EMPTY_BPF);
    execFileSync(
      'clang',
      ['-O2', '-g', '-target', 'bpf', `-I${objDir}`, '-c', join(dir, 'empty.bpf.c'), '-o', join(dir, 'empty.bpf.o')],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    using obj = openObject(join(dir, 'empty.bpf.o'));
    obj.attachAll();
    const stats = enableStats();
    try {
      load();
    } finally {
      stats.close();
    }
    const [s] = obj.programStats();
    return s.runCount ? s.runTimeNs / s.runCount : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
