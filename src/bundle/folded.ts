/**
 * Folded stacks (`root;a;b weight`, one stack per line): the plain-text form flame graph tools read.
 * Weights must be integers there, so seconds become microseconds (the unit is recorded in the manifest).
 */
import type { StackWeight } from './types.ts';

/** Frame as written in folded text: `;` separates frames and a newline ends a stack, so both are replaced. */
export function foldedFrame(frame: string): string {
  const clean = frame.replace(/[;\r\n]/g, '_').trim();
  return clean === '' ? '[unknown]' : clean;
}

/** Integer weight of a stack in folded text: samples as they are, seconds as microseconds. */
export function foldedWeight(s: StackWeight): number {
  return s.unit === 'seconds' ? Math.round(s.weight * 1e6) : Math.round(s.weight);
}

/** The frames of a stack as folded text shows them: comm (when known) as the root, then root…leaf. */
export function foldedPath(s: StackWeight): string[] {
  const frames = s.frames.map(foldedFrame);
  return s.comm ? [foldedFrame(s.comm), ...frames] : frames;
}

/**
 * Stacks to folded text: identical paths are merged, heaviest first (ties by path, so output is stable),
 * zero-weight stacks dropped. Ends with a newline when not empty.
 */
export function toFolded(stacks: readonly StackWeight[]): string {
  const merged = new Map<string, number>();
  for (const s of stacks) {
    const w = foldedWeight(s);
    if (w <= 0) continue;
    const key = foldedPath(s).join(';');
    merged.set(key, (merged.get(key) ?? 0) + w);
  }
  const lines = [...merged].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return lines.map(([k, w]) => `${k} ${w}\n`).join('');
}

/** Parses folded text back into paths and weights (for tests and for `tripline bundles show`). */
export function parseFolded(text: string): { path: string[]; weight: number }[] {
  const out: { path: string[]; weight: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    out.push({ path: line.slice(0, sp).split(';'), weight: Number(line.slice(sp + 1)) });
  }
  return out;
}
