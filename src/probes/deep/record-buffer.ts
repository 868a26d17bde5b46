/** Event records kept in memory for events.ndjson, bounded by the byte budget (JSON length), with drops counted. */

/** Collects records until `maxBytes` of JSON would be exceeded; later records are counted as dropped. */
export class RecordBuffer {
  readonly records: Record<string, unknown>[] = [];
  dropped = 0;
  #bytes = 0;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Keeps the record when it fits; returns whether it did. */
  push(rec: Record<string, unknown>): boolean {
    const size = JSON.stringify(rec, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).length + 1;
    if (this.#bytes + size > this.#maxBytes) {
      this.dropped++;
      return false;
    }
    this.#bytes += size;
    this.records.push(rec);
    return true;
  }
}
