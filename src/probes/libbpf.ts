/**
 * The probe runtime's public surface: the only module the rest of tripline imports for libbpf. Lifecycle with named
 * steps, each with its own error: open → configure → load (libbpf-open.ts) → attach → read → close
 * (libbpf-object.ts, libbpf-map.ts, libbpf-events.ts). libbpf-ffi.ts holds the one koffi binding of the C functions.
 * Nothing is pinned: every program, map and link is owned by a file descriptor of this process, so the kernel
 * releases all of it when the process exits, even by SIGKILL.
 */
import { TriplineError } from '../errors.ts';
import { ffi } from './libbpf-ffi.ts';
import { errnoText } from './libbpf-errno.ts';

export type { StructLayout } from './libbpf-btf.ts';
export { openObject, type OpenOptions } from './libbpf-open.ts';
export { BpfObject, ensureTracefs, type ProgramStats } from './libbpf-object.ts';
export { BpfMap, possibleCpus } from './libbpf-map.ts';
export { RingBuffer, onlineCpus, perfEventOpen } from './libbpf-events.ts';

/** Turns on in-kernel run-time statistics (BPF_STATS_RUN_TIME) while the returned handle is open. */
export function enableStats(): { close(): void } {
  const fd = ffi().bpf_enable_stats(0);
  if (fd < 0)
    throw new TriplineError('PROBE_ERR_PERMISSION', `cannot enable BPF run-time stats (${errnoText(-fd)})`, {
      hint: 'needs CAP_SYS_ADMIN, or set sysctl kernel.bpf_stats_enabled=1',
    });
  let open = true;
  return {
    close: () => {
      if (open) {
        ffi().close(fd);
        open = false;
      }
    },
  };
}

/** libbpf's version, e.g. "1.1". */
export function libbpfVersion(): string {
  const f = ffi();
  return `${f.libbpf_major_version()}.${f.libbpf_minor_version()}`;
}
