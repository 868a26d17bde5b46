/** Decoder of the pg counter family's maps (contract: bpf/counters/pg.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { TriplineError } from '../../errors.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';

/** Mirrors bpf/counters/pg.h. */
export const PG = {
  unitNs: 1000,
  keySize: 16,
  valueSize: HIST_SIZE,
  peek: 16,
  layouts: {
    pg_key: { size: 16, fields: { cgroup_id: 0, kind: 8, pad: 12 } },
    pg_start: { size: 16, fields: { start_ns: 0, kind: 8, pad: 12 } },
  },
} as const;

/** PG_KIND_* of bpf/counters/pg.h, by value: the `query_kind` label. */
export const PG_QUERY_KINDS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'OTHER'] as const;

/** One pg_query_latency entry (key: cgroup id, kind) → histogram in seconds; [] when empty. */
export function decodePgLatencyEntry(key: Buffer, value: Buffer, cpus: number): Reading[] {
  expectLength(key, PG.keySize, 'pg_query_latency key');
  const kind = PG_QUERY_KINDS[key.readUInt32LE(8)];
  if (kind === undefined) {
    // The kernel only writes PG_KIND_*: another value means the header grew a kind the decoder lacks.
    throw new TriplineError(
      'PROBE_ERR_LAYOUT',
      `pg_query_latency key: query kind ${key.readUInt32LE(8)} is not one of ${PG_QUERY_KINDS.length} known kinds`,
      {
        hint: 'PG_KIND_* in bpf/counters/pg.h and PG_QUERY_KINDS in src/probes/decode/pg.ts must agree; rebuild (scripts/build-bpf)',
      },
    );
  }
  const h = decodeHist(sumPerCpu(value, PG.valueSize, cpus, 'pg_query_latency value'));
  if (histEmpty(h)) return [];
  return [
    {
      kind: 'histogram',
      signal: 'pg_query_latency_seconds',
      labels: { cgroup_id: key.readBigUInt64LE(0).toString(), query_kind: kind },
      bounds: histBounds(PG.unitNs),
      counts: h.counts,
      sum: (h.sum * PG.unitNs) / 1e9,
    },
  ];
}
