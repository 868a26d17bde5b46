/**
 * The libbpf.so.1 and libc functions tripline calls, declared once through koffi.
 * The whole C surface of the probe runtime: only its modules (src/probes/libbpf*.ts) and feature detection
 * (src/probes/features.ts) import this file; everything else goes through libbpf.ts (scripts/check-layers.ts checks it).
 */
import koffi, { type LibraryHandle } from 'koffi';
import { TriplineError } from '../errors.ts';

/** A C pointer as koffi hands it out (BigInt address), or null for NULL. */
export type Ptr = bigint | null;

function loadLib(name: string, pkg: string): LibraryHandle {
  try {
    return koffi.load(name);
  } catch (cause) {
    throw new TriplineError('PROBE_ERR_LIBBPF', `cannot load ${name}: ${(cause as Error).message}`, {
      hint: `install it: apt-get install -y ${pkg}`,
      cause,
    });
  }
}

let cached: ReturnType<typeof declare> | undefined;

/** The declared functions; loads the libraries on first use. */
export function ffi(): ReturnType<typeof declare> {
  cached ??= declare();
  return cached;
}

function declare() {
  const bpf = loadLib('libbpf.so.1', 'libbpf1');
  const libc = loadLib('libc.so.6', 'libc6');

  const PrintFn = koffi.proto('int tripline_libbpf_print(int level, void *fmt, void *args)');
  const SampleFn = koffi.proto('int tripline_ringbuf_sample(void *ctx, void *data, size_t size)');
  koffi.struct('bpf_uprobe_opts', {
    sz: 'size_t',
    ref_ctr_offset: 'size_t',
    bpf_cookie: 'uint64',
    retprobe: 'bool',
    func_name: 'const char *',
  });
  koffi.struct('bpf_usdt_opts', { sz: 'size_t', usdt_cookie: 'uint64' });

  return {
    PrintFn,
    SampleFn,
    libbpf_major_version: bpf.func('uint32 libbpf_major_version(void)'),
    libbpf_minor_version: bpf.func('uint32 libbpf_minor_version(void)'),
    libbpf_set_print: bpf.func('void *libbpf_set_print(void *fn)'),
    libbpf_num_possible_cpus: bpf.func('int libbpf_num_possible_cpus(void)'),
    libbpf_probe_bpf_map_type: bpf.func('int libbpf_probe_bpf_map_type(int map_type, void *opts)'),
    libbpf_probe_bpf_prog_type: bpf.func('int libbpf_probe_bpf_prog_type(int prog_type, void *opts)'),
    bpf_enable_stats: bpf.func('int bpf_enable_stats(int type)'),

    bpf_object__open_file: bpf.func('void *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: bpf.func('int bpf_object__load(void *obj)'),
    bpf_object__close: bpf.func('void bpf_object__close(void *obj)'),
    bpf_object__name: bpf.func('const char *bpf_object__name(void *obj)'),
    bpf_object__next_program: bpf.func('void *bpf_object__next_program(void *obj, void *prog)'),
    bpf_object__next_map: bpf.func('void *bpf_object__next_map(void *obj, void *map)'),
    bpf_object__btf: bpf.func('void *bpf_object__btf(void *obj)'),

    bpf_program__name: bpf.func('const char *bpf_program__name(void *prog)'),
    bpf_program__section_name: bpf.func('const char *bpf_program__section_name(void *prog)'),
    bpf_program__set_autoload: bpf.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    bpf_program__autoload: bpf.func('bool bpf_program__autoload(void *prog)'),
    bpf_program__fd: bpf.func('int bpf_program__fd(void *prog)'),
    bpf_program__attach: bpf.func('void *bpf_program__attach(void *prog)'),
    bpf_program__attach_perf_event: bpf.func('void *bpf_program__attach_perf_event(void *prog, int pfd)'),
    bpf_program__attach_uprobe_opts: bpf.func(
      'void *bpf_program__attach_uprobe_opts(void *prog, int pid, const char *binary, size_t offset, const bpf_uprobe_opts *opts)',
    ),
    bpf_program__attach_usdt: bpf.func(
      'void *bpf_program__attach_usdt(void *prog, int pid, const char *binary, const char *provider, const char *name, const bpf_usdt_opts *opts)',
    ),
    bpf_link__destroy: bpf.func('int bpf_link__destroy(void *link)'),

    bpf_map__name: bpf.func('const char *bpf_map__name(void *map)'),
    bpf_map__fd: bpf.func('int bpf_map__fd(void *map)'),
    bpf_map__type: bpf.func('int bpf_map__type(void *map)'),
    bpf_map__key_size: bpf.func('uint32 bpf_map__key_size(void *map)'),
    bpf_map__value_size: bpf.func('uint32 bpf_map__value_size(void *map)'),
    bpf_map__max_entries: bpf.func('uint32 bpf_map__max_entries(void *map)'),
    bpf_map__set_max_entries: bpf.func('int bpf_map__set_max_entries(void *map, uint32 n)'),
    bpf_map__initial_value: bpf.func('void *bpf_map__initial_value(void *map, _Out_ size_t *size)'),
    bpf_map__set_initial_value: bpf.func('int bpf_map__set_initial_value(void *map, const uint8_t *data, size_t size)'),

    bpf_map_lookup_elem: bpf.func('int bpf_map_lookup_elem(int fd, const uint8_t *key, _Out_ uint8_t *value)'),
    bpf_map_update_elem: bpf.func(
      'int bpf_map_update_elem(int fd, const uint8_t *key, const uint8_t *value, uint64 flags)',
    ),
    bpf_map_delete_elem: bpf.func('int bpf_map_delete_elem(int fd, const uint8_t *key)'),
    bpf_map_get_next_key: bpf.func('int bpf_map_get_next_key(int fd, const uint8_t *key, _Out_ uint8_t *next)'),
    bpf_map_lookup_batch: bpf.func(
      'int bpf_map_lookup_batch(int fd, const uint8_t *in_batch, _Out_ uint8_t *out_batch, _Out_ uint8_t *keys, _Out_ uint8_t *values, _Inout_ uint32 *count, void *opts)',
    ),

    ring_buffer__new: bpf.func('void *ring_buffer__new(int fd, void *cb, void *ctx, void *opts)'),
    ring_buffer__consume: bpf.func('int ring_buffer__consume(void *rb)'),
    ring_buffer__free: bpf.func('void ring_buffer__free(void *rb)'),

    btf__find_by_name_kind: bpf.func('int btf__find_by_name_kind(void *btf, const char *name, uint32 kind)'),
    btf__type_by_id: bpf.func('void *btf__type_by_id(void *btf, uint32 id)'),
    btf__name_by_offset: bpf.func('const char *btf__name_by_offset(void *btf, uint32 offset)'),
    btf__resolve_size: bpf.func('int64 btf__resolve_size(void *btf, uint32 id)'),

    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, void *fmt, void *ap)'),
    close: libc.func('int close(int fd)'),
    syscall5: libc.func('long syscall(long number, ...)'),
  };
}

/** The errno of the last failed call on this thread, as a positive number. */
export function lastErrno(): number {
  return koffi.errno();
}

export { koffi };
