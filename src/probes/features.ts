/**
 * Feature detection: what this kernel offers, each check named, cached, and with the reason when missing.
 * Program types are learned by loading a tiny real program (bpf/features.bpf.c) one at a time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TriplineError } from '../errors.ts';
import { ffi } from './libbpf-ffi.ts';
import { openObject, perfEventOpen } from './libbpf.ts';

export interface Feature {
  readonly ok: boolean;
  /** Why not (or what was found), in words a user can act on. */
  readonly reason: string;
}

export interface Features {
  readonly btf: Feature;
  readonly bpf: Feature;
  readonly tpBtf: Feature;
  readonly rawTp: Feature;
  readonly fentry: Feature;
  readonly kprobes: Feature;
  readonly uprobes: Feature;
  readonly usdt: Feature;
  readonly ringbuf: Feature;
  readonly taskStorage: Feature;
  /** Socket cookies from tp_btf programs (bpf_get_socket_cookie on a BTF socket pointer, Linux 5.12+). */
  readonly skCookie: Feature;
  readonly perfCpuClock: Feature;
  readonly tracefs: Feature;
}

const BPF_MAP_TYPE_RINGBUF = 27;
const BPF_MAP_TYPE_TASK_STORAGE = 29;

const FEATURE_PROGRAMS = {
  tpBtf: 'tlf_tp_btf',
  rawTp: 'tlf_raw_tp',
  fentry: 'tlf_fentry',
  kprobe: 'tlf_kprobe',
  skCookie: 'tlf_sk_cookie',
  selftest: 'tlf_selftest',
} as const;

let cache: Features | undefined;

/** Path of the feature-probe object inside a build directory. */
export function featuresObject(objDir: string): string {
  return join(objDir, 'features.bpf.o');
}

/** Loads only `program` of the feature object; ok when the kernel accepts it. */
function tryProgram(objDir: string, program: string): Feature {
  const others = Object.values(FEATURE_PROGRAMS).filter((p) => p !== program);
  try {
    openObject(featuresObject(objDir), { disable: others }).close();
    return { ok: true, reason: 'loads' };
  } catch (err) {
    const e = err as TriplineError;
    if (e.code === 'PROBE_ERR_PERMISSION' && process.geteuid?.() === 0)
      return { ok: false, reason: 'refused by this kernel (EPERM while root: lockdown or a forbidden program type)' };
    return { ok: false, reason: `${e.code ?? 'error'}: ${e.message.split('\n')[0]}${e.hint ? ` (${e.hint})` : ''}` };
  }
}

/** Every feature, detected once per process. */
export function features(objDir: string): Features {
  if (cache) return cache;
  const btf = existsSync('/sys/kernel/btf/vmlinux')
    ? { ok: true, reason: '/sys/kernel/btf/vmlinux' }
    : { ok: false, reason: 'no /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y for CO-RE' };
  let bpf: Feature;
  let libOk = true;
  try {
    ffi();
    bpf = tryProgram(objDir, FEATURE_PROGRAMS.selftest);
  } catch (err) {
    libOk = false;
    bpf = { ok: false, reason: (err as TriplineError).describe?.() ?? String(err) };
  }
  const prog = (name: string): Feature =>
    libOk && bpf.ok ? tryProgram(objDir, name) : { ok: false, reason: `BPF unavailable: ${bpf.reason}` };
  const mapType = (type: number, name: string): Feature => {
    if (!libOk) return { ok: false, reason: 'libbpf unavailable' };
    const rc = ffi().libbpf_probe_bpf_map_type(type, null);
    return rc === 1
      ? { ok: true, reason: 'supported' }
      : { ok: false, reason: `${name} maps not supported by this kernel` };
  };
  const pmu = (name: string): boolean => existsSync(`/sys/bus/event_source/devices/${name}`);
  const kprobeProg = prog(FEATURE_PROGRAMS.kprobe);
  let perfCpuClock: Feature;
  if (!libOk) perfCpuClock = { ok: false, reason: 'libbpf unavailable' };
  else {
    const fd = perfEventOpen({ frequency: 1, pid: -1, cpu: 0 });
    if (fd >= 0) {
      ffi().close(fd);
      perfCpuClock = { ok: true, reason: 'software cpu-clock' };
    } else
      perfCpuClock = {
        ok: false,
        reason: 'perf_event_open(cpu-clock) failed: grant CAP_PERFMON or lower kernel.perf_event_paranoid',
      };
  }
  const tracefs =
    existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events')
      ? { ok: true, reason: 'mounted' }
      : {
          ok: false,
          reason:
            'not mounted (tripline mounts it when attaching tracepoints): mount -t tracefs tracefs /sys/kernel/tracing',
        };
  const tpBtf = prog(FEATURE_PROGRAMS.tpBtf);
  cache = {
    btf,
    bpf,
    tpBtf,
    rawTp: prog(FEATURE_PROGRAMS.rawTp),
    fentry: prog(FEATURE_PROGRAMS.fentry),
    kprobes:
      pmu('kprobe') && kprobeProg.ok
        ? { ok: true, reason: 'kprobe PMU present' }
        : {
            ok: false,
            reason: pmu('kprobe') ? kprobeProg.reason : 'no kprobe PMU: kernel built without CONFIG_KPROBES',
          },
    uprobes: pmu('uprobe')
      ? { ok: true, reason: 'uprobe PMU present' }
      : { ok: false, reason: 'no uprobe PMU: kernel built without CONFIG_UPROBE_EVENTS' },
    usdt: pmu('uprobe')
      ? { ok: true, reason: 'via uprobes' }
      : { ok: false, reason: 'USDT needs uprobes (CONFIG_UPROBE_EVENTS)' },
    ringbuf: mapType(BPF_MAP_TYPE_RINGBUF, 'ring buffer'),
    taskStorage: mapType(BPF_MAP_TYPE_TASK_STORAGE, 'task storage'),
    skCookie: tpBtf.ok
      ? prog(FEATURE_PROGRAMS.skCookie)
      : { ok: false, reason: `needs tp_btf programs (${tpBtf.reason})` },
    perfCpuClock,
    tracefs,
  };
  return cache;
}

/** Kernel release, e.g. "6.18.44". */
export function kernelRelease(): string {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}
