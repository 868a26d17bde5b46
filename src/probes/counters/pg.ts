/**
 * pg family: PostgreSQL query latency per cpu cgroup of the backend and query kind (SELECT, INSERT, UPDATE, DELETE,
 * OTHER), from the server's USDT probes postgresql:query__start / query__done. Its BPF object is bpf/counters/pg.bpf.c
 * (bpf/deep/pg.bpf.c is the pg deep probe). The programs are attached to every PostgreSQL binary of
 * `counters.pg_binaries` that exists here, for all its processes (the postmaster forks backends at any time).
 */
import { existsSync, realpathSync } from 'node:fs';
import { TriplineError } from '../../errors.ts';
import { features } from '../features.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { pg as spec } from './spec/pg.ts';
import { entryFields } from './spec/types.ts';
import { pushAll, startBpfFamily } from './bpf-family.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';
import { PG, decodePgLatencyEntry } from '../decode/pg.ts';

const CONFIG_HINT =
  'set counters.pg_binaries to the postgres server binaries of this host (built with --enable-dtrace, as the PGDG and Debian packages are)';

/** Existing binaries of `paths`, each file once: /usr/local/bin/postgres is often a symlink to a packaged binary, and
 * attaching twice to one file would count every query twice. */
export function existingBinaries(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const p of paths) {
    if (!existsSync(p)) continue;
    seen.add(realpathSync(p));
  }
  return [...seen];
}

/** Starts the pg family on the binaries of `opts.binaries` that exist; throws PROBE_ERR_UNSUPPORTED when none has the probes. */
export function startPg(
  objDir: string,
  opts: { binaries: readonly string[]; maxCgroups: number },
): CounterFamily & { readonly binaries: readonly string[] } {
  const usdt = features(objDir).usdt;
  if (!usdt.ok)
    throw new TriplineError('PROBE_ERR_UNSUPPORTED', `pg: USDT probes cannot be attached here (${usdt.reason})`, {
      hint: 'run `tripline probes` to see what this kernel offers',
    });
  const binaries = existingBinaries(opts.binaries);
  if (binaries.length === 0) {
    throw new TriplineError(
      'PROBE_ERR_UNSUPPORTED',
      'no PostgreSQL binary with USDT probes found (set counters.pg_binaries)',
      {
        hint: `none of ${opts.binaries.join(', ') || '(empty list)'} exists; ${CONFIG_HINT}`,
      },
    );
  }
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'pg',
      programs: [], // USDT programs: no tp_btf/raw_tp twins, attached below per binary
      maps: {
        pg_query_latency: { keySize: PG.keySize, valueSize: PG.valueSize },
        pg_query_start: { keySize: 4, valueSize: PG.layouts.pg_start.size }, // task storage: key is a pidfd
        pg_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'pg_drops',
      open: {
        maxEntries: { pg_query_latency: opts.maxCgroups },
        layouts: { hist: HIST_LAYOUT, ...PG.layouts },
      },
    },
    'tp_btf',
  );
  const attached: string[] = [];
  const skipped: string[] = [];
  try {
    for (const binary of binaries) {
      try {
        fam.obj.attachUsdt('tlc_pg_start', { binary, provider: 'postgresql', name: 'query__start', pid: -1 });
      } catch (err) {
        // No query__start note: a build without --enable-dtrace (or not postgres at all). Other binaries may have them.
        skipped.push(`${binary}: ${err instanceof TriplineError ? err.message : String(err)}`);
        continue;
      }
      // query__start without query__done would cost a uprobe per query and record nothing: a binary with one and not the other is an error.
      fam.obj.attachUsdt('tlc_pg_done', { binary, provider: 'postgresql', name: 'query__done', pid: -1 });
      attached.push(binary);
    }
    if (attached.length === 0) {
      throw new TriplineError(
        'PROBE_ERR_UNSUPPORTED',
        `no PostgreSQL binary with USDT probes found (set counters.pg_binaries): ${binaries.join(', ')} ${binaries.length === 1 ? 'has' : 'have'} no postgresql:query__start probe`,
        {
          hint: `${CONFIG_HINT}; \`readelf -n BINARY | grep query__start\` shows whether a binary has them (${skipped.join('; ')})`,
        },
      );
    }
  } catch (err) {
    fam.close();
    throw err;
  }
  const latency = fam.obj.map('pg_query_latency');
  return {
    name: 'pg',
    binaries: attached,
    read(): Reading[] {
      const out: Reading[] = [];
      latency.forEach((k, v) => pushAll(out, decodePgLatencyEntry(k, v, fam.cpus)));
      return out;
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const pg: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startPg(ctx.objDir, {
      binaries: ctx.config.counters.pg_binaries,
      maxCgroups: ctx.config.counters.max_cgroups,
    });
  },
};
