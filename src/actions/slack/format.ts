/** Numbers, units and durations as people read them in a Slack message (pure). */

/** Formats a value in a signal's base unit: seconds as ms/s, ratios as percent, counts as plain numbers. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'seconds':
      if (Math.abs(value) < 1e-3) return `${round(value * 1e6)}µs`;
      if (Math.abs(value) < 1) return `${round(value * 1e3)}ms`;
      return `${round(value)}s`;
    case 'ratio':
      return `${round(value * 100)}%`;
    case 'count':
    case '':
      return round(value);
    default:
      return `${round(value)} ${unit}`;
  }
}

/** A duration in milliseconds as `3m 12s`, `2h 5m`, `850ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = s % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m && !d) parts.push(`${m}m`);
  if (sec && !d && !h) parts.push(`${sec}s`);
  return parts.join(' ') || '0s';
}

/** Three significant digits, no trailing zeros. */
function round(v: number): string {
  if (v === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return String(Number(v.toFixed(Math.min(digits, 6))));
}
