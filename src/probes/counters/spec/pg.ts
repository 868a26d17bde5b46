/** pg family (src/probes/counters/pg.ts): PostgreSQL query latency from the server's USDT probes. */
import { z } from 'zod';
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The pg family's descriptor. */
export const pg = {
  name: 'pg',
  bpf: true,
  signals: {
    pg_query_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: [...cg, 'query_kind'],
      help: 'PostgreSQL query latency per cgroup of the backend and query kind (SELECT, INSERT, UPDATE, DELETE, OTHER), from the USDT query probes.',
      range: [16e-6, 17.2],
    },
  },
  defaultProbes: ['pg'],
  config: {
    /** PostgreSQL server binaries (built with --enable-dtrace) whose USDT query probes the pg family attaches to; missing paths are skipped, symlinks to one file count once. @defaultValue the PGDG/Debian/Ubuntu paths of versions 13–17, then /usr/local */
    pg_binaries: z
      .array(z.string().startsWith('/'))
      .default([
        '/usr/lib/postgresql/17/bin/postgres',
        '/usr/lib/postgresql/16/bin/postgres',
        '/usr/lib/postgresql/15/bin/postgres',
        '/usr/lib/postgresql/14/bin/postgres',
        '/usr/lib/postgresql/13/bin/postgres',
        '/usr/local/bin/postgres',
        '/usr/local/pgsql/bin/postgres',
      ]),
  },
  doc: {
    hooks:
      'USDT `postgresql:query__start` / `query__done` in each binary of `counters.pg_binaries` (built with `--enable-dtrace`; unavailable with the reason when none is installed)',
    signals: "`pg_query_latency_seconds` (`query_kind` from the query's first keyword)",
  },
} as const satisfies FamilySpec;
