/**
 * tcp family: active-open latency (SYN sent → established) and retransmits, per cpu cgroup of the connecting task.
 * Its BPF object is bpf/counters/tcp.bpf.c (bpf/deep/tcp.bpf.c is the tcp deep probe). Accepted sockets' retransmits go to the
 * socket's cgroup v2 id when the cpu controller is on v2 (then the ids agree), else to cgroup_id "0".
 */
import { features } from '../features.ts';
import { findCpuMount } from '../cgroup-mount.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { tcp as spec } from './spec/tcp.ts';
import { entryFields } from './spec/types.ts';
import { chooseHooks, pushAll, startBpfFamily, type HookKind } from './bpf-family.ts';
import { TCP, decodeTcpConnectEntry, decodeTcpRetransEntry } from '../decode/tcp.ts';
import { CgroupLabels } from '../decode/labels.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';

const PROGRAMS = ['tlc_tcp_state', 'tlc_tcp_retrans'] as const;

/** True when the cpu controller lives on cgroup v2, so a socket's v2 cgroup id is also its cpu cgroup id. */
function cpuOnV2(): boolean {
  try {
    return findCpuMount().version === 2;
  } catch {
    return false;
  }
}

/**
 * Starts the tcp family with a cap on tracked cgroups. Tests only: `hooks` overrides feature detection, `slots` (a
 * power of two, default TCP.slots) shrinks the tp_btf socket slots so that sockets share them.
 */
export function startTcp(
  objDir: string,
  opts: { maxCgroups: number; hooks?: HookKind; slots?: number },
): CounterFamily {
  const slots = opts.slots ?? TCP.slots;
  if (!(slots >= 1 && slots <= TCP.slots && (slots & (slots - 1)) === 0))
    throw new RangeError(`tcp: slots must be a power of two up to ${TCP.slots}, got ${slots}`);
  // The tp_btf programs find sockets by cookie; without socket cookies there, the raw_tp twins (address-keyed hash) run.
  const hooks = opts.hooks ?? chooseHooks(features(objDir), 'tcp', ['skCookie']);
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'tcp',
      programs: PROGRAMS,
      maps: {
        tcp_connect_latency: { keySize: TCP.keySize, valueSize: TCP.latencyValueSize },
        tcp_retransmits: { keySize: TCP.keySize, valueSize: TCP.retransValueSize },
        tcp_socks: { keySize: 8, valueSize: TCP.layouts.tcp_sock_info.size },
        tcp_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'tcp_drops',
      open: {
        rodata: { tcp_sk_cgroup_v2: cpuOnV2(), tcp_slot_mask: slots - 1 },
        maxEntries: {
          tcp_connect_latency: opts.maxCgroups,
          tcp_retransmits: opts.maxCgroups,
          tcp_slots: hooks === 'raw_tp' ? 1 : slots, // the twins keep every socket in tcp_socks
        },
        layouts: { hist: HIST_LAYOUT, ...TCP.layouts },
      },
    },
    hooks,
  );
  const latency = fam.obj.map('tcp_connect_latency');
  const retrans = fam.obj.map('tcp_retransmits');
  const labels = new CgroupLabels();
  return {
    name: 'tcp',
    read(): Reading[] {
      const out: Reading[] = [];
      latency.forEach((k, v) => pushAll(out, decodeTcpConnectEntry(k, v, fam.cpus, labels.of)));
      retrans.forEach((k, v) => pushAll(out, decodeTcpRetransEntry(k, v, fam.cpus, labels.of)));
      labels.sweep();
      return out;
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const tcp: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startTcp(ctx.objDir, { maxCgroups: ctx.config.counters.max_cgroups });
  },
};
