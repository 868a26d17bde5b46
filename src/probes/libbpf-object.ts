/**
 * A loaded BPF object: attach (by section, perf event, uprobe, USDT), maps, ring buffers, run-time stats, detach and
 * close. Nothing is pinned: every program, map and link is owned by a file descriptor of this process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { TriplineError } from '../errors.ts';
import { ffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { errnoText, permissionHint } from './libbpf-errno.ts';
import { BpfMap } from './libbpf-map.ts';
import { RingBuffer, onlineCpus, perfEventOpen } from './libbpf-events.ts';

/** One program's in-kernel cost, counted while run-time stats are enabled (see enableStats). */
export interface ProgramStats {
  readonly name: string;
  readonly runTimeNs: number;
  readonly runCount: number;
}

interface Program {
  readonly name: string;
  readonly ptr: Ptr;
  readonly section: string;
}

/** A loaded BPF object: its programs, maps and links. Close it (or `using` it) to detach and free everything. */
export class BpfObject implements Disposable {
  readonly path: string;
  #obj: Ptr;
  #programs = new Map<string, Program>();
  #maps = new Map<string, BpfMap>();
  #links: Ptr[] = [];
  #perfFds: number[] = [];
  #rings: RingBuffer[] = [];

  constructor(path: string, obj: Ptr) {
    this.path = path;
    this.#obj = obj;
    const f = ffi();
    for (let p = f.bpf_object__next_program(obj, null); p; p = f.bpf_object__next_program(obj, p)) {
      if (!f.bpf_program__autoload(p)) continue;
      this.#programs.set(f.bpf_program__name(p), {
        name: f.bpf_program__name(p),
        ptr: p,
        section: f.bpf_program__section_name(p),
      });
    }
    for (let m = f.bpf_object__next_map(obj, null); m; m = f.bpf_object__next_map(obj, m)) {
      const map = new BpfMap(m);
      this.#maps.set(map.name, map);
    }
  }

  /** Names of the programs that were loaded. */
  programNames(): string[] {
    return [...this.#programs.keys()];
  }

  #program(name: string): Program {
    const p = this.#programs.get(name);
    if (!p)
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: no loaded program named ${name}`, {
        hint: `loaded: ${this.programNames().join(', ')}`,
      });
    return p;
  }

  #link(link: Ptr, what: string): void {
    if (!link) {
      const errno = lastErrno();
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: cannot attach ${what} (${errnoText(errno)})`, {
        hint: permissionHint(errno, 'check `tripline probes`: the hook may not exist on this kernel'),
      });
    }
    this.#links.push(link);
  }

  /** Attaches a program by its section (tp/, tracepoint/, tp_btf/, raw_tp/, ...). */
  attach(program: string): void {
    const p = this.#program(program);
    if (/^(tp|tracepoint)\//.test(p.section)) ensureTracefs();
    this.#link(ffi().bpf_program__attach(p.ptr), `${p.name} (${p.section})`);
  }

  /** Attaches every loaded program whose section libbpf can attach on its own. */
  attachAll(): void {
    for (const p of this.#programs.values()) {
      if (/^(uprobe|uretprobe|usdt|perf_event)/.test(p.section)) continue;
      this.attach(p.name);
    }
  }

  /** Software cpu-clock perf events (one per CPU, or one for a pid), each running the program. */
  attachPerfEvent(
    program: string,
    opts: { frequency?: number; period?: number; pid?: number; cpus?: readonly number[] },
  ): void {
    const p = this.#program(program);
    const cpus = opts.pid !== undefined ? [-1] : (opts.cpus ?? onlineCpus());
    for (const cpu of cpus) {
      const fd = perfEventOpen({ frequency: opts.frequency, period: opts.period, pid: opts.pid ?? -1, cpu });
      if (fd < 0) continue; // an offline CPU; at least one must work (checked below)
      this.#perfFds.push(fd);
      this.#link(ffi().bpf_program__attach_perf_event(p.ptr, fd), `${p.name} (perf event on cpu ${cpu})`);
    }
    if (this.#perfFds.length === 0) {
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: perf_event_open(cpu-clock) failed on every CPU`, {
        hint: 'grant CAP_PERFMON, or lower kernel.perf_event_paranoid',
      });
    }
  }

  /** Attaches a uprobe (or uretprobe) at a symbol or offset of a binary, for one pid or all. */
  attachUprobe(
    program: string,
    opts: { binary: string; offset?: number; symbol?: string; pid?: number; retprobe?: boolean },
  ): void {
    const p = this.#program(program);
    const o = {
      sz: 40,
      ref_ctr_offset: 0,
      bpf_cookie: 0n,
      retprobe: opts.retprobe ?? false,
      func_name: opts.symbol ?? null,
    };
    this.#link(
      ffi().bpf_program__attach_uprobe_opts(p.ptr, opts.pid ?? -1, opts.binary, opts.offset ?? 0, o),
      `${p.name} (uprobe ${opts.binary}:${opts.symbol ?? opts.offset})`,
    );
  }

  /** Attaches a USDT probe (provider:name) of a binary, for one pid or all; the cookie reaches the program. */
  attachUsdt(
    program: string,
    opts: { binary: string; provider: string; name: string; pid?: number; cookie?: bigint },
  ): void {
    const p = this.#program(program);
    const o = opts.cookie === undefined ? null : { sz: 16, usdt_cookie: opts.cookie };
    this.#link(
      ffi().bpf_program__attach_usdt(p.ptr, opts.pid ?? -1, opts.binary, opts.provider, opts.name, o),
      `${p.name} (usdt ${opts.provider}:${opts.name} in ${opts.binary})`,
    );
  }

  /** The map of that name; fails with PROBE_ERR_MAP listing the maps there are. */
  map(name: string): BpfMap {
    const m = this.#maps.get(name);
    if (!m)
      throw new TriplineError('PROBE_ERR_MAP', `${this.path}: no map named ${name}`, {
        hint: `maps: ${[...this.#maps.keys()].join(', ')}`,
      });
    return m;
  }

  /** A consumer of a ring buffer map, closed with the object. */
  ringBuffer(mapName: string, onRecord: (data: Buffer) => void): RingBuffer {
    const rb = new RingBuffer(this.map(mapName), onRecord);
    this.#rings.push(rb);
    return rb;
  }

  /** In-kernel run time and run count per program, from /proc/self/fdinfo (counted while stats are enabled). */
  programStats(): ProgramStats[] {
    const f = ffi();
    return [...this.#programs.values()].map((p) => {
      const info = fdinfo(f.bpf_program__fd(p.ptr));
      return { name: p.name, runTimeNs: info.run_time_ns ?? 0, runCount: info.run_cnt ?? 0 };
    });
  }

  /** Number of attached links. */
  get attached(): number {
    return this.#links.length;
  }

  /** Destroys every link (and perf event) and keeps the object loaded. */
  detach(): void {
    const f = ffi();
    for (const l of this.#links.splice(0)) f.bpf_link__destroy(l);
    for (const fd of this.#perfFds.splice(0)) f.close(fd);
  }

  /** Detaches and frees everything. Idempotent. */
  close(): void {
    for (const rb of this.#rings.splice(0)) rb.close();
    this.detach();
    if (this.#obj) {
      ffi().bpf_object__close(this.#obj);
      this.#obj = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

let tracefsChecked = false;
/** Classic tracepoints are looked up in tracefs: mount it when missing (we hold the needed privileges anyway). */
export function ensureTracefs(): void {
  if (tracefsChecked) return;
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { stdio: 'ignore' });
    } catch (cause) {
      throw new TriplineError(
        'PROBE_ERR_ATTACH',
        'tracefs is not mounted and could not be mounted at /sys/kernel/tracing',
        {
          hint: 'mount it: mount -t tracefs tracefs /sys/kernel/tracing',
          cause,
        },
      );
    }
  }
  tracefsChecked = true;
}

function fdinfo(fd: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {
    /* fd gone: no stats */
  }
  return out;
}
