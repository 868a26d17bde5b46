/** Event sources of the probe runtime: ring buffer consumers and software cpu-clock perf events. */
import { readFileSync } from 'node:fs';
import { TriplineError } from '../errors.ts';
import { ffi, koffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { errnoText } from './libbpf-errno.ts';
import type { BpfMap } from './libbpf-map.ts';

/** A ring buffer consumer; records are copied out before the callback returns. */
export class RingBuffer {
  #rb: Ptr;
  #cb: unknown;
  constructor(map: BpfMap, onRecord: (data: Buffer) => void) {
    const f = ffi();
    this.#cb = koffi.register((_ctx: bigint, data: bigint, size: number | bigint) => {
      onRecord(Buffer.from(koffi.view(data, Number(size)) as ArrayBuffer));
      return 0;
    }, koffi.pointer(f.SampleFn));
    this.#rb = f.ring_buffer__new(map.fd, this.#cb, null, null);
    if (!this.#rb) {
      koffi.unregister(this.#cb as never);
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `ring buffer ${map.name}: cannot create consumer (${errnoText(lastErrno())})`,
      );
    }
  }
  /** Consumes every pending record without blocking; returns how many. */
  consume(): number {
    if (!this.#rb) return 0;
    const n = ffi().ring_buffer__consume(this.#rb);
    return n < 0 ? 0 : n;
  }
  /** Frees the consumer and its callback. Idempotent. */
  close(): void {
    if (!this.#rb) return;
    ffi().ring_buffer__free(this.#rb);
    koffi.unregister(this.#cb as never);
    this.#rb = null;
  }
}

/** CPUs online now, from /sys/devices/system/cpu/online (e.g. "0-3,6"). */
export function onlineCpus(): number[] {
  const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

const SYS_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241 };
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_CPU_CLOCK = 0;
const PERF_FLAG_FD_CLOEXEC = 8;

/** perf_event_open for a software cpu-clock event; returns the fd or -1. */
export function perfEventOpen(opts: { frequency?: number; period?: number; pid: number; cpu: number }): number {
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined)
    throw new TriplineError('PROBE_ERR_UNSUPPORTED', `perf events: architecture ${process.arch} not supported`);
  // struct perf_event_attr (PERF_ATTR_SIZE_VER5 = 112 bytes is enough for what we set).
  const attr = Buffer.alloc(112);
  attr.writeUInt32LE(PERF_TYPE_SOFTWARE, 0);
  attr.writeUInt32LE(112, 4);
  attr.writeBigUInt64LE(BigInt(PERF_COUNT_SW_CPU_CLOCK), 8);
  const freq = opts.period === undefined;
  attr.writeBigUInt64LE(BigInt(freq ? (opts.frequency ?? 99) : opts.period!), 16);
  // flags bitfield at offset 40: bit 10 = freq.
  attr.writeBigUInt64LE(freq ? 1n << 10n : 0n, 40);
  const f = ffi();
  const fd = Number(
    f.syscall5(nr, 'void *', attr, 'int', opts.pid, 'int', opts.cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC),
  );
  return fd;
}
