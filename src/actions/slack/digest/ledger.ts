/**
 * The settled action jobs a digest counts: one small entry per job (type, event, outcome and, for notifications,
 * the kind of news they carried: scaled, recovered, …), bounded in count and age, in memory on the network side.
 */
import type { JobSettled } from '../../queue.ts';

export interface LedgerEntry {
  readonly at: number;
  readonly incidentId: string;
  readonly rule: string;
  readonly type: string;
  readonly event: string;
  readonly state: 'delivered' | 'skipped' | 'dry-run' | 'failed';
  /** `detail.kind` of a notification (scaled, scale-skipped, recovered, not-recovered, …). */
  readonly kind?: string;
}

/** Entries kept: a week of a busy engine, then the oldest go. */
const MAX_ENTRIES = 20_000;
const MAX_AGE_MS = 8 * 86_400_000;

export class DigestLedger {
  readonly #entries: LedgerEntry[] = [];

  /** Records a settled job at `now`. */
  add(s: JobSettled, now: number): void {
    const kind = s.job.detail?.kind;
    const state =
      s.state === 'failed' ? 'failed' : s.status === 'skipped' || s.status === 'dry-run' ? s.status : 'delivered';
    this.#entries.push({
      at: now,
      incidentId: s.job.incident.id,
      rule: s.job.incident.rule,
      type: s.job.spec.type,
      event: s.job.event,
      state,
      ...(typeof kind === 'string' ? { kind: kind.slice(0, 40) } : {}),
    });
    while (this.#entries.length > MAX_ENTRIES || (this.#entries[0] && this.#entries[0].at < now - MAX_AGE_MS))
      this.#entries.shift();
  }

  entries(): readonly LedgerEntry[] {
    return this.#entries;
  }
}
