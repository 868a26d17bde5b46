/**
 * A real Prometheus (Debian's `prometheus`, installed by scripts/setup.sh --test) for integration tests: free port,
 * temp dir, the scrape config and rule files given. Always `stop()` it (in finally or after).
 */
import { join } from 'node:path';
import { startDaemon, type Started } from './daemon.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** A running test Prometheus. */
export interface TestPrometheus extends Started {
  /** GET /api/v1/<path> with query parameters; throws unless the API says success. */
  api(path: string, params: Record<string, string | string[]>): Promise<unknown>;
}

/** Starts Prometheus with `config` (YAML text; rule_files relative to its dir) and `files` written beside it. */
export async function startPrometheus(config: string, files: Record<string, string> = {}): Promise<TestPrometheus> {
  const started = await startDaemon({
    name: 'prometheus',
    bin: PROMETHEUS_BIN,
    files: { ...files, 'prometheus.yml': config },
    args: (dir, port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    install: "scripts/setup.sh --test installs Debian's prometheus",
  });
  return {
    ...started,
    async api(path, params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) q.append(k, one);
      const res = await fetch(`${started.url}/api/v1/${path}?${q}`);
      const body = (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
      if (body.status !== 'success') throw new Error(`${path} ${q}: ${body.errorType}: ${body.error}`);
      return body.data;
    },
  };
}
