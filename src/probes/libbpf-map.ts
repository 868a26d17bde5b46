/** Maps of a loaded object: byte-level lookup, update, delete and batched reads; decoding belongs to the probe modules. */
import { TriplineError } from '../errors.ts';
import { ffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { ENOENT, errnoText } from './libbpf-errno.ts';

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
    const rc = ffi().bpf_map_update_elem(this.fd, key, value, flags);
    if (rc !== 0)
      throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: update failed (${errnoText(-rc)})`, {
        hint: 'the map may be full: raise its max entries',
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

  /** Every entry: one batched syscall per chunk where the kernel supports it (hash maps, 5.6+), else key iteration. */
  entries(): { key: Buffer; value: Buffer }[] {
    if (this.#batch !== false) {
      const got = this.#batchEntries();
      if (got) return got;
    }
    const out: { key: Buffer; value: Buffer }[] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) out.push({ key, value });
    }
    return out;
  }

  #batchEntries(): { key: Buffer; value: Buffer }[] | undefined {
    const f = ffi();
    const chunk = Math.max(1, Math.min(this.maxEntries, 4096));
    const keys = Buffer.alloc(chunk * this.keySize);
    const values = Buffer.alloc(chunk * this.valueBytes);
    const tokenSize = Math.max(8, this.keySize);
    let inBatch: Buffer | null = null;
    const out: { key: Buffer; value: Buffer }[] = [];
    for (;;) {
      const outBatch = Buffer.alloc(tokenSize);
      const count = [chunk];
      const rc = f.bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys, values, count, null);
      const errno = rc === 0 ? 0 : -rc;
      if (rc !== 0 && errno !== ENOENT) {
        if (out.length === 0) {
          this.#batch = false;
          return undefined;
        } // not supported for this map type
        throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: batch lookup failed (${errnoText(errno)})`);
      }
      this.#batch = true;
      for (let i = 0; i < count[0]; i++) {
        out.push({
          key: Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          value: Buffer.from(values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes)),
        });
      }
      if (errno === ENOENT) return out;
      inBatch = outBatch;
    }
  }
}
