/**
 * Real servers started by tests (Prometheus, Alertmanager, Redis, …): a free loopback port, a temp dir the server
 * writes in and its log, a readiness check, and a `stop()` that ends it and removes the dir. One place for all.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback port (free when asked; the caller binds it right away). */
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

/** A running server started by a test. */
export interface Started {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Its stdout and stderr (inside `dir`: gone after stop). */
  readonly log: string;
  /** SIGTERM, SIGKILL after 10 s; removes `dir`. */
  stop(): Promise<void>;
}

export interface DaemonSpec {
  /** For the temp dir, the log and the messages. */
  readonly name: string;
  readonly bin: string;
  /** Files written into the temp dir before the start (name → text). */
  readonly files?: Record<string, string>;
  readonly args: (dir: string, port: number) => string[];
  /** A fixed port (e.g. a restart on the same one); else a free one. */
  readonly port?: number;
  /** Ready when GET of this path answers 200 (default `/-/ready`, Prometheus' and Alertmanager's). */
  readonly readyPath?: string;
  readonly readyMs?: number;
  /** Says how to get `bin` when it is missing. */
  readonly install: string;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

/** Starts `spec.bin` in a fresh temp dir and waits until it is ready; throws with its log's tail if it is not. */
export async function startDaemon(spec: DaemonSpec): Promise<Started> {
  if (!existsSync(spec.bin)) throw new Error(`${spec.bin} is missing (${spec.install})`);
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-${spec.name}-`));
  for (const [name, text] of Object.entries(spec.files ?? {})) writeFileSync(join(dir, name), text);
  const port = spec.port ?? (await freePort());
  const log = join(dir, `${spec.name}.log`);
  const out = createWriteStream(log);
  const proc = spawn(spec.bin, spec.args(dir, port), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  proc.once('error', (err) => out.write(`\nspawn ${spec.bin}: ${err.message}\n`));
  const exited = new Promise<void>((r) => proc.once('close', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const readyUrl = `${url}${spec.readyPath ?? '/-/ready'}`;
  const until = Date.now() + (spec.readyMs ?? 30_000);
  for (;;) {
    const ok = await fetch(readyUrl).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { url, port, dir, log, stop };
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > until) {
      const why = proc.exitCode !== null ? `exited with ${proc.exitCode}` : `not ready in ${spec.readyMs ?? 30_000} ms`;
      const text = tail(log);
      await stop();
      throw new Error(`${spec.name} on ${url} ${why}:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Connects to a server that is coming up (a unix socket path, or a loopback port): retries for `ms`, then throws. */
export async function connectWhenUp(to: string | number, ms = 5000): Promise<Socket> {
  const until = Date.now() + ms;
  for (;;) {
    const c = typeof to === 'string' ? connect(to) : connect(to, '127.0.0.1');
    try {
      await once(c, 'connect');
      return c;
    } catch (err) {
      c.destroy();
      if (Date.now() > until) throw new Error(`nothing listens on ${to} after ${ms} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
