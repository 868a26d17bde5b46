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

/** Starts the tcp family with a cap on tracked cgroups; `hooks` overrides feature detection (tests). */
export function startTcp(objDir: string, opts: { maxCgroups: number; hooks?: HookKind }): CounterFamily {
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
        rodata: { tcp_sk_cgroup_v2: cpuOnV2() },
        maxEntries: { tcp_connect_latency: opts.maxCgroups, tcp_retransmits: opts.maxCgroups },
        layouts: { hist: HIST_LAYOUT, ...TCP.layouts },
      },
    },
    opts.hooks ?? chooseHooks(features(objDir), 'tcp'),
  );
  const latency = fam.obj.map('tcp_connect_latency');
  const retrans = fam.obj.map('tcp_retransmits');
  return {
    name: 'tcp',
    read(): Reading[] {
      const out: Reading[] = [];
      latency.forEach((k, v) => pushAll(out, decodeTcpConnectEntry(k, v, fam.cpus)));
      retrans.forEach((k, v) => pushAll(out, decodeTcpRetransEntry(k, v, fam.cpus)));
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
