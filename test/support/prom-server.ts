/**
 * A real Prometheus (Debian's `prometheus`, installed by scripts/setup.sh --test) for integration tests: free port,
 * temp dir, the scrape config and rule files given. Always `stop()` it (in finally or after).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running test Prometheus. */
export interface TestPrometheus {
  readonly url: string;
  readonly dir: string;
  /** GET /api/v1/<path> with query parameters; throws unless the API says success. */
  api(path: string, params: Record<string, string | string[]>): Promise<unknown>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus with `config` (YAML text; rule_files relative to its dir) and `files` written beside it. */
export async function startPrometheus(config: string, files: Record<string, string> = {}): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-prometheus-${process.pid}-`));
  writeFileSync(join(dir, 'prometheus.yml'), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.once('error', (err) => {
    stderr += `\nspawn prometheus: ${err.message} (scripts/setup.sh --test installs Debian's prometheus)`;
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > until) {
      await stop();
      throw new Error(`prometheus did not start on ${url}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dir,
    async api(path, params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) q.append(k, one);
      const res = await fetch(`${url}/api/v1/${path}?${q}`);
      const body = (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
      if (body.status !== 'success') throw new Error(`${path} ${q}: ${body.errorType}: ${body.error}`);
      return body.data;
    },
    stop,
  };
}
