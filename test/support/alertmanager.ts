/**
 * A real Alertmanager (Debian's prometheus-alertmanager, installed by `scripts/setup.sh --test`) and `amtool` for
 * integration tests: a temp dir, a free loopback port, clustering off. Also a real Prometheus when a test needs
 * one, and a small HTTP recorder standing in for a notification receiver. Always `stop()` them in after/finally.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';
export const AMTOOL_BIN = '/usr/bin/amtool';
export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** Why these tests cannot run here, or undefined. */
export function alertmanagerMissing(): string | undefined {
  for (const b of [ALERTMANAGER_BIN, AMTOOL_BIN])
    if (!existsSync(b)) return `${b} is missing (scripts/setup.sh --test installs prometheus-alertmanager)`;
  return undefined;
}

/** A free loopback port. */
export function freePort(): Promise<number> {
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

async function waitReady(url: string, timeoutMs: number, proc: ChildProcess, log: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${url}: the process exited (${proc.exitCode}); log ${log}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} not ready in ${timeoutMs / 1000} s; log ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A running server started by a test. */
export interface Started {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

async function startProcess(bin: string, args: (dir: string, port: number) => string[], name: string, port?: number) {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-${name}-`));
  const p = port ?? (await freePort());
  const log = join(dir, `${name}.log`);
  const out = createWriteStream(log);
  const proc = spawn(bin, args(dir, p), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  const url = `http://127.0.0.1:${p}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(`${url}/-/ready`, 20_000, proc, log);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { url, dir, stop, log };
}

/** Starts Alertmanager with `config` (YAML text), on `port` when given. */
export async function startAlertmanager(config: string, port?: number): Promise<Started> {
  return startProcess(
    ALERTMANAGER_BIN,
    (dir, p) => {
      writeFileSync(join(dir, 'alertmanager.yml'), config);
      return [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        '--cluster.listen-address=',
      ];
    },
    'alertmanager',
    port,
  );
}

/** Starts Prometheus with `config` (YAML text) and rule files (name → YAML text). */
export async function startPrometheus(config: string, rules: Record<string, string>): Promise<Started> {
  return startProcess(
    PROMETHEUS_BIN,
    (dir, p) => {
      writeFileSync(join(dir, 'prometheus.yml'), config);
      for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text);
      return [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
      ];
    },
    'prometheus',
  );
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
