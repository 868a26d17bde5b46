/** Maps of a loaded object: byte-level lookup, update, delete and batched reads; decoding belongs to the probe modules. */
import { TriplineError } from '../errors.ts';
import { ffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { E2BIG, ENOENT, ENOMEM, ENOSPC, errnoText } from './libbpf-errno.ts';

const BPF_MAP_TYPE_PERCPU_HASH = 5;
const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;
const PERCPU_TYPES = new Set([
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);

/** Total back-off for an update that found the kernel's element caches empty (1 + 2 + … + 64 ms). */
const UPDATE_ENOMEM_WAIT_MS = 64;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let possible: number | undefined;
/** Number of possible CPUs (the stride of per-CPU map values). */
export function possibleCpus(): number {
  if (possible === undefined) possible = ffi().libbpf_num_possible_cpus() as number;
  return possible;
}

/** A BPF map of a loaded object: raw byte-level access; decoding belongs to the probe modules. */
export class BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Bytes of one lookup result: per-CPU maps hold one 8-byte-aligned value per possible CPU. */
  readonly valueBytes: number;
  #batch: boolean | undefined;

  constructor(ptr: Ptr) {
    const f = ffi();
    this.name = f.bpf_map__name(ptr);
    this.fd = f.bpf_map__fd(ptr);
    this.type = f.bpf_map__type(ptr);
    this.keySize = f.bpf_map__key_size(ptr);
    this.valueSize = f.bpf_map__value_size(ptr);
    this.maxEntries = f.bpf_map__max_entries(ptr);
    this.perCpu = PERCPU_TYPES.has(this.type);
    this.valueBytes = this.perCpu ? possibleCpus() * Math.ceil(this.valueSize / 8) * 8 : this.valueSize;
  }

  #checkKey(key: Buffer): void {
    if (key.length !== this.keySize)
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `map ${this.name}: key of ${key.length} bytes, map has ${this.keySize}`,
        { hint: 'the TypeScript key layout does not match the BPF map' },
      );
  }

  /** The value under a key (all CPUs' values for a per-CPU map), or undefined when absent. */
  lookup(key: Buffer): Buffer | undefined {
    this.#checkKey(key);
    const value = Buffer.alloc(this.valueBytes);
    const rc = ffi().bpf_map_lookup_elem(this.fd, key, value);
    if (rc === 0) return value;
    if (-rc === ENOENT || lastErrno() === ENOENT) return undefined;
    throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: lookup failed (${errnoText(-rc)})`);
  }

  /** Writes a value under a key (BPF_ANY unless flags say otherwise). */
  update(key: Buffer, value: Buffer, flags = 0): void {
    this.#checkKey(key);
    if (value.length !== this.valueBytes)
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `map ${this.name}: value of ${value.length} bytes, map needs ${this.valueBytes}`,
      );
    let rc = ffi().bpf_map_update_elem(this.fd, key, value, flags);
    // A map without preallocation takes elements from per-CPU caches that the kernel refills
    // asynchronously; updates in a row from user space can find them empty (ENOMEM with memory free,
    // seen on 6.12-6.18). The refill runs as soon as this thread leaves the kernel: wait a moment, retry.
    for (let wait = 1; rc !== 0 && -rc === ENOMEM && wait <= UPDATE_ENOMEM_WAIT_MS; wait *= 2) {
      Atomics.wait(sleeper, 0, 0, wait);
      rc = ffi().bpf_map_update_elem(this.fd, key, value, flags);
    }
    if (rc !== 0)
      throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: update failed (${errnoText(-rc)})`, {
        hint:
          -rc === E2BIG
            ? `the map is full (${this.maxEntries} entries): raise its max entries`
            : -rc === ENOMEM
              ? 'the kernel could not allocate the element: check memory and the memory cgroup limit of this process'
              : 'check the key and value layouts against the BPF map',
      });
  }

  /** Removes a key; false when it was not there. */
  delete(key: Buffer): boolean {
    this.#checkKey(key);
    return ffi().bpf_map_delete_elem(this.fd, key) === 0;
  }

  /** Every key, by get_next_key iteration (at most max entries + 1 steps). */
  keys(): Buffer[] {
    const f = ffi();
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    for (let i = 0; i <= this.maxEntries; i++) {
      const next = Buffer.alloc(this.keySize);
      if (f.bpf_map_get_next_key(this.fd, prev, next) !== 0) break;
      out.push(next);
      prev = next;
    }
    return out;
  }

  /** Every entry, copied out: one batched syscall per chunk where the kernel supports it, else key iteration. */
  entries(): { key: Buffer; value: Buffer }[] {
    const out: { key: Buffer; value: Buffer }[] = [];
    this.forEach((key, value) => out.push({ key: Buffer.from(key), value: Buffer.from(value) }));
    return out;
  }

  /**
   * Calls `fn` for every entry with views into buffers this map reuses across reads (copy what you keep): a read
   * then allocates nothing, which matters at a read per tick of maps with thousands of per-CPU entries (fresh
   * buffers of megabytes per second push V8 into a full GC every few seconds). Batched (hash maps, 5.6+) with
   * chunks of ≤ 64 KiB of values; key iteration where batching is refused.
   */
  forEach(fn: (key: Buffer, value: Buffer) => void): void {
    if (this.#batch !== false && this.#forEachBatch(fn)) return;
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) fn(key, value);
    }
  }

  #scratch: { keys: Buffer; values: Buffer; inBatch: Buffer; outBatch: Buffer; chunk: number } | undefined;

  /** False when batching is not supported for this map (nothing was passed to `fn` then). */
  #forEachBatch(fn: (key: Buffer, value: Buffer) => void): boolean {
    const f = ffi();
    if (!this.#scratch) {
      const chunk = Math.max(16, Math.min(this.maxEntries, Math.floor(65536 / this.valueBytes)));
      const tokenSize = Math.max(8, this.keySize);
      this.#scratch = {
        chunk,
        keys: Buffer.allocUnsafeSlow(chunk * this.keySize),
        values: Buffer.allocUnsafeSlow(chunk * this.valueBytes),
        inBatch: Buffer.allocUnsafeSlow(tokenSize),
        outBatch: Buffer.allocUnsafeSlow(tokenSize),
      };
    }
    const { chunk, keys, values } = this.#scratch;
    let { inBatch, outBatch } = this.#scratch;
    const count = [chunk];
    for (let first = true; ; first = false) {
      count[0] = chunk;
      const rc = f.bpf_map_lookup_batch(this.fd, first ? null : inBatch, outBatch, keys, values, count, null);
      const errno = rc === 0 ? 0 : -rc;
      if (rc !== 0 && errno !== ENOENT) {
        if (first) {
          // Not supported for this map type (EINVAL, ENOTSUPP), or a hash bucket bigger than a chunk (ENOSPC).
          if (errno !== ENOSPC) this.#batch = false;
          return false;
        }
        throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: batch lookup failed (${errnoText(errno)})`);
      }
      this.#batch = true;
      for (let i = 0; i < count[0]; i++)
        fn(
          keys.subarray(i * this.keySize, (i + 1) * this.keySize),
          values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes),
        );
      if (errno === ENOENT) return true;
      [inBatch, outBatch] = [outBatch, inBatch];
    }
  }
}
