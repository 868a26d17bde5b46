/** The probe settings of an engine config (binaries and what rules may run: the config's word, never a rule's). */
import type { Config } from '../../config.ts';
import type { ProbeSettings } from './types.ts';

/** ProbeSettings from `capture.bpftrace_binary`, `capture.allow_bpftrace_programs` and `counters.pg_binaries`. */
export function probeSettings(c: Readonly<Config>): ProbeSettings {
  return Object.freeze({
    bpftraceBinary: c.capture.bpftrace_binary,
    allowBpftracePrograms: c.capture.allow_bpftrace_programs,
    pgBinaries: Object.freeze([...((c.counters as { pg_binaries?: readonly string[] }).pg_binaries ?? [])]),
  });
}
