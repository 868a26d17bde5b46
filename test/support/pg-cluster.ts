/**
 * A throwaway PostgreSQL cluster for kernel tests and benches: owned by nobody (initdb refuses root), trust auth,
 * unix socket only, in a temp dir; PostgreSQL 15 with USDT probes at /usr/local/bin/postgres (scripts/setup.sh
 * --test). Always `stop()` it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const POSTGRES = '/usr/local/bin/postgres';
export const PSQL = '/usr/bin/psql';
/** Debian's tools of the same major version (initdb, pg_ctl, pgbench). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Why a cluster cannot run here (what to install), or undefined. */
export function pgMissing(): string | undefined {
  const missing = [POSTGRES, PSQL, join(PG_BIN, 'initdb'), join(PG_BIN, 'pg_ctl')].filter((f) => !existsSync(f));
  return missing.length ? `${missing.join(', ')} missing (scripts/setup.sh --test installs PostgreSQL)` : undefined;
}

/** A running cluster. */
export interface PgCluster {
  /** Its temp dir: the unix socket's folder (psql -h), files for nobody to read go here too. */
  readonly dir: string;
  /** The postmaster's pid (backends fork from it). */
  readonly postmaster: number;
  /** Runs `cmd` as nobody in `dir`; its stdout. */
  asNobody(cmd: string, args: string[], input?: string): string;
  /** Runs SQL through psql: one simple-protocol query (one query__start/done pair) per statement. */
  psql(sql: string): string;
  /** Writes a file nobody can read into `dir`; its path. */
  file(name: string, text: string): string;
  /** Stops the cluster (immediate) and removes its dir. */
  stop(): void;
}

/** Starts a cluster in a fresh temp dir; throws with the tool's output when it does not start. */
export function startPgCluster(name = 'pg'): PgCluster {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${name}-`));
  const data = join(dir, 'data');
  chmodSync(dir, 0o777);
  const asNobody = (cmd: string, args: string[], input?: string): string =>
    execFileSync('runuser', ['-u', 'nobody', '--', cmd, ...args], {
      cwd: dir,
      input,
      encoding: 'utf8',
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  let started = false;
  const stop = (): void => {
    if (started)
      spawnSync('runuser', ['-u', 'nobody', '--', join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], {
        stdio: 'ignore',
        timeout: 30_000,
      });
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    asNobody(join(PG_BIN, 'initdb'), ['-D', data, '--auth=trust', '-U', 'nobody', '--no-sync']);
    asNobody(join(PG_BIN, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      'start',
      '-o',
      `-k ${dir} -c listen_addresses=''`,
    ]);
    started = true;
  } catch (err) {
    stop();
    throw err;
  }
  return {
    dir,
    postmaster: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    asNobody,
    psql: (sql) => asNobody(PSQL, ['-X', '-q', '-h', dir, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-f', '-'], sql),
    file(fileName, text) {
      const f = join(dir, fileName);
      writeFileSync(f, text);
      chmodSync(f, 0o644);
      return f;
    },
    stop,
  };
}
