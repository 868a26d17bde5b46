/**
 * A real Alertmanager (Debian's prometheus-alertmanager, installed by `scripts/setup.sh --test`) and `amtool` for
 * integration tests: a temp dir, a free loopback port, clustering off; and a small HTTP recorder standing in for a notification receiver. Always `stop()` them in after/finally.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDaemon, type Started } from './daemon.ts';

const run = promisify(execFile);

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
export const AMTOOL_BIN = '/usr/bin/amtool';

/** Why these tests cannot run here, or undefined. */
export function alertmanagerMissing(): string | undefined {
  for (const b of [ALERTMANAGER_BIN, AMTOOL_BIN])
    if (!existsSync(b)) return `${b} is missing (scripts/setup.sh --test installs prometheus-alertmanager)`;
  return undefined;
}

/** Starts Alertmanager with `config` (YAML text), on `port` when given. */
export function startAlertmanager(config: string, port?: number): Promise<Started> {
  return startDaemon({
    name: 'alertmanager',
    bin: ALERTMANAGER_BIN,
    files: { 'alertmanager.yml': config },
    args: (dir, p) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${p}`,
      '--cluster.listen-address=',
    ],
    ...(port === undefined ? {} : { port }),
    install: 'scripts/setup.sh --test installs prometheus-alertmanager',
  });
}

/** Runs amtool against `url`; resolves with its stdout. */
export async function amtool(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(AMTOOL_BIN, [`--alertmanager.url=${url}`, ...args], { timeout: 20_000 });
  return stdout;
}

/** An HTTP server that records the JSON bodies POSTed to it (a notification receiver). */
export class Recorder {
  readonly bodies: { path: string; body: unknown }[] = [];
  url = '';
  #server?: Server;

  async start(): Promise<this> {
    this.#server = createHttp((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.bodies.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch {
          this.bodies.push({ path: req.url ?? '', body: null });
        }
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}
