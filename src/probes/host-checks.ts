/** Host checks for `tripline doctor` and the engine's start-up: kernel, BTF, privileges, tracefs, cgroups, objects. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { features, kernelRelease } from './features.ts';
import { OBJ_DIR } from '../paths.ts';
import { findCpuMount, type CgroupMount } from './cgroup-mount.ts';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** The engine cannot run its BPF counters without it. */
  readonly required: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** Capability bits (linux/capability.h). */
const CAP = { SYS_ADMIN: 21, SYS_RESOURCE: 24, PERFMON: 38, BPF: 39 } as const;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

function hasCap(caps: bigint, bit: number): boolean {
  return (caps & (1n << BigInt(bit))) !== 0n;
}

/** Every check, in the order a user would fix them. */
export function checkHost(objDir = OBJ_DIR): Check[] {
  const checks: Check[] = [];
  const add = (c: Check): void => {
    checks.push(c);
  };
  const [maj, min] = kernelRelease().split('.').map(Number);
  add({
    name: 'kernel',
    ok: maj > 5 || (maj === 5 && min >= 8),
    required: true,
    detail: `Linux ${kernelRelease()}`,
    fix: 'tripline needs Linux >= 5.8 (ring buffers, CAP_BPF, BTF)',
  });
  const node = Number(process.versions.node.split('.')[0]);
  add({
    name: 'node',
    ok: node >= 22,
    required: true,
    detail: `Node.js ${process.versions.node}`,
    fix: 'run scripts/setup.sh (installs Node 24 under .runtime/)',
  });
  const caps = effectiveCaps();
  const privileged = process.geteuid?.() === 0 || (hasCap(caps, CAP.BPF) && hasCap(caps, CAP.PERFMON));
  add({
    name: 'privileges',
    ok: privileged,
    required: true,
    detail: privileged
      ? `uid ${process.geteuid?.()}, CAP_BPF ${hasCap(caps, CAP.BPF)}, CAP_PERFMON ${hasCap(caps, CAP.PERFMON)}`
      : 'missing CAP_BPF and/or CAP_PERFMON',
    fix: 'run as root, or grant CAP_BPF, CAP_PERFMON, CAP_SYS_RESOURCE (see deploy/tripline.service)',
  });
  const objects = existsSync(objDir)
    ? readdirSync(objDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.bpf.o'))
    : [];
  add({
    name: 'bpf objects',
    ok: objects.length > 0,
    required: true,
    detail: objects.length ? `${objects.length} in ${objDir}` : `none in ${objDir}`,
    fix: 'build them: scripts/build-bpf (needs clang, libbpf-dev, bpftool)',
  });
  const f = objects.length ? features(objDir) : undefined;
  if (f) {
    add({
      name: 'btf',
      ok: f.btf.ok,
      required: true,
      detail: f.btf.reason,
      fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y',
    });
    add({
      name: 'bpf load',
      ok: f.bpf.ok,
      required: true,
      detail: f.bpf.reason,
      fix: 'run as root with CAP_BPF; check kernel.unprivileged_bpf_disabled and lockdown',
    });
    add({
      name: 'tracepoints',
      ok: f.tpBtf.ok || f.rawTp.ok,
      required: true,
      detail: `tp_btf: ${f.tpBtf.ok ? 'yes' : f.tpBtf.reason}; raw_tp: ${f.rawTp.ok ? 'yes' : f.rawTp.reason}`,
    });
    add({
      name: 'tracefs',
      ok: f.tracefs.ok,
      required: false,
      detail: f.tracefs.reason,
      fix: 'mount -t tracefs tracefs /sys/kernel/tracing',
    });
    add({
      name: 'ring buffer',
      ok: f.ringbuf.ok,
      required: false,
      detail: f.ringbuf.reason,
      fix: 'deep probes need Linux >= 5.8',
    });
    add({
      name: 'perf events',
      ok: f.perfCpuClock.ok,
      required: false,
      detail: f.perfCpuClock.reason,
      fix: 'sysctl kernel.perf_event_paranoid=2 and CAP_PERFMON (the profile probe needs it)',
    });
    add({
      name: 'uprobes/usdt',
      ok: f.uprobes.ok,
      required: false,
      detail: f.uprobes.reason,
      fix: 'the pg probe needs CONFIG_UPROBE_EVENTS',
    });
    add({
      name: 'kprobes',
      ok: f.kprobes.ok,
      required: false,
      detail: f.kprobes.reason + ' (optional: every always-on counter has a tracepoint path)',
    });
    add({
      name: 'fentry',
      ok: f.fentry.ok,
      required: false,
      detail: f.fentry.ok ? 'loads' : 'refused by this kernel (optional)',
    });
  }
  let cpu: CgroupMount | undefined;
  try {
    cpu = findCpuMount();
  } catch {
    /* reported below */
  }
  add({
    name: 'cgroups',
    ok: cpu !== undefined,
    required: false,
    detail: cpu ? `cpu controller on cgroup v${cpu.version} at ${cpu.dir}` : 'no cpu controller mounted',
    fix: 'mount the cpu controller (v1: mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu) or enable it in cgroup v2',
  });
  const psi = existsSync('/proc/pressure/cpu');
  add({
    name: 'psi',
    ok: psi,
    required: false,
    detail: psi ? '/proc/pressure/cpu present' : 'PSI disabled',
    fix: 'boot with psi=1 for CPU pressure signals',
  });
  let stats = '0';
  try {
    stats = readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();
  } catch {
    /* absent */
  }
  add({
    name: 'bpf stats',
    ok: true,
    required: false,
    detail:
      stats === '1'
        ? 'kernel.bpf_stats_enabled=1 (per-program cost visible)'
        : 'kernel.bpf_stats_enabled=0 (tripline enables it while running)',
  });
  return checks;
}
