/**
 * The decoded events of one ring buffer of a deep probe: each record decoded as it is consumed, a record that does
 * not decode counted (and reported by the session as dropped, with an error line), never thrown.
 */
import type { BpfObject } from '../libbpf.ts';

export interface RingEvents<T> {
  /** Decoded events, in arrival order. */
  readonly items: T[];
  /** Records that could not be decoded. */
  readonly decodeErrors: number;
  /** Drains the ring buffer (the session calls it while running and once after detach). */
  consume(): void;
}

/** Opens the consumer of ring buffer `map` of `obj`, decoding each record with `decode`. */
export function ringEvents<T>(obj: BpfObject, map: string, decode: (b: Buffer) => T): RingEvents<T> {
  const items: T[] = [];
  let decodeErrors = 0;
  const rb = obj.ringBuffer(map, (data) => {
    try {
      items.push(decode(data));
    } catch {
      decodeErrors++;
    }
  });
  return {
    items,
    get decodeErrors() {
      return decodeErrors;
    },
    consume: () => {
      rb.consume();
    },
  };
}
