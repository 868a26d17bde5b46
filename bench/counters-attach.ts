/**
 * The configurations bench/counters.ts compares, each attached for the length of a measurement: tripline's counter
 * families (in this process), the bpftrace reference scripts, and Debian's libbpf-tools (runqlat, syscount -L,
 * tcpconnlat, biolatency), each its own process. A libbpf-tool that cannot run on this kernel (tcpconnlat needs
 * fentry or kprobes) is reported with the reason and left out; the others still run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildConfig } from '../src/config.ts';
import type { CounterFactory, CounterFamily } from '../src/probes/counters/types.ts';
import { programIdsOf } from './counters-cost.ts';

/** Something attached for the length of a measurement: the ids of its programs, and how to detach. */
export interface Attached {
  ids: Set<number>;
  stop(): Promise<void>;
}

/** A libbpf-tool run next to the tripline family it compares with. */
export interface LibbpfTool {
  tool: string;
  args: string[];
  family: string;
}

/** The libbpf-tools that do the work of a tripline family, with the options that make them do it. */
export const LIBBPF_TOOLS: readonly LibbpfTool[] = [
  { tool: 'runqlat', args: [], family: 'runq' }, // run-queue latency histogram (one, not per cgroup)
  { tool: 'syscount', args: ['-L'], family: 'syscalls' }, // count + total latency per syscall
  { tool: 'tcpconnlat', args: [], family: 'tcp' }, // connect latency, one record per connect
  { tool: 'biolatency', args: [], family: 'blockio' }, // block I/O latency histogram, issue to completion
];

/** tripline's counter families, started as the engine starts them; only this process's programs are counted. */
export async function attachTripline(families: readonly CounterFactory[], objDir: string): Promise<Attached> {
  const config = buildConfig({});
  const fams: CounterFamily[] = [];
  try {
    for (const f of families) fams.push(f.start({ config, objDir }));
  } catch (err) {
    for (const f of fams) f.close();
    throw err;
  }
  // This process's own programs (other processes may run the same families meanwhile).
  const ids = programIdsOf(process.pid);
  return {
    ids,
    async stop() {
      for (const f of fams) f.close();
    },
  };
}

/** Kills the children that are still running and waits for them. */
async function killAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null
        ? undefined
        : new Promise<void>((resolve) => {
            c.removeAllListeners('exit');
            c.on('exit', () => resolve());
            c.kill('SIGKILL'); // SIGINT would print every map first
          }),
    ),
  );
}

/**
 * Resolves when `ready` matches the child's stdout, rejects when it exits first (with its stderr) or after 60 s.
 */
function whenReady(c: ChildProcess, what: string, ready: RegExp): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let out = '',
      err = '';
    const t = setTimeout(() => reject(new Error(`${what} did not attach within 60 s: ${out}${err}`)), 60_000);
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    c.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    c.on('exit', (code, signal) => {
      clearTimeout(t);
      reject(new ToolExited(what, code ?? signal ?? '?', err || out));
    });
  });
}

/** A tool that exited before it attached, with what it printed. */
class ToolExited extends Error {
  readonly output: string;
  constructor(what: string, code: number | string, output: string) {
    super(`${what} exited (${code}): ${output.trim()}`);
    this.output = output;
  }
}

/** bpftrace running each script, attached once it has printed its banner. */
export async function attachBpftrace(scripts: readonly string[]): Promise<Attached> {
  const children = scripts.map((s) => spawn('bpftrace', [s], { stdio: ['ignore', 'pipe', 'ignore'] }));
  try {
    await Promise.all(children.map((c, i) => whenReady(c, `bpftrace ${scripts[i]}`, /Attaching \d+ probe/)));
    await new Promise((r) => setTimeout(r, 1000)); // the banner comes just before the attach
  } catch (err) {
    await killAll(children);
    throw err;
  }
  const ids = new Set(children.flatMap((c) => [...programIdsOf(c.pid!)]));
  return { ids, stop: () => killAll(children) };
}

/** Why a libbpf-tool did not run: the libbpf lines that say what failed (its whole output when none do). */
function failureReason(output: string): string {
  const lines = output.split('\n').filter((l) => l.trim());
  const failed = lines.filter((l) => /fail|error|not supported|no such|denied/i.test(l));
  return (failed.length ? failed : lines).slice(-3).join(' | ');
}

/**
 * The libbpf-tools, each in its own process; a tool is attached once it prints anything on stdout (they print their
 * banner or header after attaching, line-buffered through stdbuf). A tool that exits first is left out and listed
 * in `failed` with the reason; the others stay attached.
 */
export async function attachLibbpfTools(
  tools: readonly LibbpfTool[],
): Promise<Attached & { failed: Map<string, string> }> {
  const children = tools.map((t) => spawn('stdbuf', ['-oL', t.tool, ...t.args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const results = await Promise.allSettled(children.map((c, i) => whenReady(c, tools[i].tool, /\S/)));
  const failed = new Map<string, string>();
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const e = r.reason as Error;
    failed.set(tools[i].tool, e instanceof ToolExited ? failureReason(e.output) : e.message);
  });
  const running = children.filter((_, i) => results[i].status === 'fulfilled');
  if (running.length === 0) {
    await killAll(children);
    throw new Error(`no libbpf-tool could attach: ${[...failed].map(([t, r]) => `${t}: ${r}`).join('; ')}`);
  }
  await killAll(children.filter((_, i) => results[i].status !== 'fulfilled')); // timed out: do not leave them
  await new Promise((r) => setTimeout(r, 200));
  const ids = new Set(running.flatMap((c) => [...programIdsOf(c.pid!)]));
  return { ids, failed, stop: () => killAll(running) };
}
