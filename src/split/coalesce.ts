/**
 * Coalescing of notifications from the network side: `fn` runs at once for the first value, then at most once per
 * `intervalMs` with the latest value that came meanwhile (the ones in between are dropped: each value replaces the
 * whole state, as pod snapshots do). A flood of messages then costs this side one apply per interval.
 */
export function coalesce<T>(intervalMs: number, fn: (value: T) => void): (value: T) => void {
  let lastAt = -Infinity;
  let pending: { value: T } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const run = (value: T): void => {
    lastAt = Date.now();
    fn(value);
  };
  return (value: T): void => {
    const wait = lastAt + intervalMs - Date.now();
    if (wait <= 0 && !timer) return run(value);
    pending = { value };
    timer ??= setTimeout(
      () => {
        timer = undefined;
        const p = pending!;
        pending = undefined;
        run(p.value);
      },
      Math.max(0, wait),
    ).unref();
  };
}
