/**
 * The offenders of firing incidents on the in-kernel syscall watch list: a trip adds its offender cgroups (the
 * incident's cgroup, or the top contributors of a host-wide trip), so they get per-cgroup syscall histograms
 * (`cgroup_syscall_latency_seconds`) while the incident lives; its resolve removes them (config
 * `capture.watch_offenders`). The list goes to the kernel through one narrow method of the syscalls family
 * (`CounterFamily.watch`, which keeps the configured entries), called with the union of every incident's offenders.
 */

/** Offender cgroups kept at most (the kernel's list holds 1,024 with the configured ones): the oldest leave first. */
export const MAX_OFFENDERS = 256;

/** What the watch list needs: where to write the union, and the policy. */
export interface OffenderWatchOptions {
  /** Replaces the run-time watch list (the syscalls family's `watch`). */
  readonly set: (cgroupIds: readonly bigint[]) => void;
  /** config.capture.watch_offenders. @defaultValue until_resolved */
  readonly policy?: 'until_resolved' | 'forever' | 'off';
  /** @defaultValue MAX_OFFENDERS */
  readonly max?: number;
  /** Told when a write to the kernel fails (the engine logs it); the capture goes on. */
  readonly onError?: (message: string) => void;
}

/** Incident key → its offender cgroups, written to the kernel as one union. */
export class OffenderWatch {
  private readonly opts: OffenderWatchOptions;
  /** Insertion order is age: the oldest incident's offenders are evicted first past `max`. */
  private readonly byKey = new Map<string, readonly bigint[]>();
  /** Why the last write to the kernel failed (surfaced by the engine's log), cleared by a good one. */
  lastError: string | undefined;

  constructor(opts: OffenderWatchOptions) {
    this.opts = opts;
  }

  /** Watches `cgroupIds` for incident `key` (replacing what the key had). */
  add(key: string, cgroupIds: readonly bigint[]): void {
    if (this.opts.policy === 'off' || cgroupIds.length === 0) return;
    this.byKey.delete(key);
    this.byKey.set(key, [...cgroupIds]);
    const max = this.opts.max ?? MAX_OFFENDERS;
    while (this.union().size > max && this.byKey.size > 1) this.byKey.delete(this.byKey.keys().next().value!);
    this.write();
  }

  /** The incident resolved: its offenders leave the list (unless the policy keeps them or another incident has them). */
  remove(key: string): void {
    if (this.opts.policy === 'forever' || !this.byKey.delete(key)) return;
    this.write();
  }

  /** Every watched offender, once each (one incident alone past the cap is cut to it). */
  ids(): bigint[] {
    return [...this.union()].slice(0, this.opts.max ?? MAX_OFFENDERS);
  }

  private union(): Set<bigint> {
    const out = new Set<bigint>();
    for (const ids of this.byKey.values()) for (const id of ids) out.add(id);
    return out;
  }

  private write(): void {
    try {
      this.opts.set(this.ids());
      this.lastError = undefined;
    } catch (err) {
      // A full kernel list or a closed family must not fail the capture: the histograms are a bonus.
      this.lastError = (err as Error).message;
      this.opts.onError?.(this.lastError);
    }
  }
}
