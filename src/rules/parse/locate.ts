/**
 * Locating errors in YAML: a path inside a document (`spec.when.all[0].window`) to the line and column
 * of its node, and the one message format every rule error uses:
 * `file:line:col: yaml.path: message` (with the fix in the error's hint).
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { TriplineError, type ErrorCode } from '../../errors.ts';

/** One step of a path inside a document: a map key or a sequence index. */
export type PathSeg = string | number;

/** A position in a file, 1-based. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** `spec.when.all[0].window`: keys joined by dots, indexes in brackets; keys with odd characters quoted. */
export function pathText(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * The position of the node at `path` in `doc`, or of the deepest node on the way when the path goes
 * past what the document holds (a missing key is reported at the map that lacks it). With `atKey`, the
 * last step points at the key itself (for unknown keys) instead of its value.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSeg[], atKey = false): Position {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    let next: unknown;
    let keyOffset: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair) {
        next = pair.value;
        keyOffset = (pair.key as Node | null)?.range?.[0];
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    }
    if (atKey && i === path.length - 1 && keyOffset !== undefined) {
      offset = keyOffset;
      break;
    }
    const r = (next as Node | null | undefined)?.range;
    if (!r) {
      if (keyOffset !== undefined) offset = keyOffset;
      break;
    }
    node = next;
    offset = r[0];
  }
  const p = lines.linePos(offset);
  return { line: p.line, col: p.col };
}

/** The line and column of a character offset in `text` (for errors found before YAML parsing). */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** A located rule error: message `file:line:col: path: message`, the fix in `hint`. */
export function ruleError(
  code: ErrorCode,
  file: string,
  pos: Position,
  path: readonly PathSeg[],
  message: string,
  hint: string,
): TriplineError {
  const where = path.length ? `${pathText(path)}: ` : '';
  return new TriplineError(code, `${file}:${pos.line}:${pos.col}: ${where}${message}`, { hint });
}
