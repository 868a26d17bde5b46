/**
 * Limits of untrusted YAML, checked outside the parser: nesting depth on the raw text (the parser
 * recurses per level and a few thousand levels exhaust its stack), nesting depth on the parsed tree,
 * and keys a JavaScript object cannot hold as data. All iterative, all linear in the input.
 */
import { isCollection, isPair, isScalar, type Node } from 'yaml';
import type { PathSeg } from './locate.ts';

/** The first node nested deeper than `max` collections, or undefined. Iterative: depth is untrusted. */
export function tooDeep(root: Node, max: number): Node | undefined {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (!isCollection(n)) continue;
    if (d > max) return n as Node;
    for (const it of n.items as unknown[]) {
      if (isPair(it)) {
        stack.push([it.value, d + 1]);
        if (isCollection(it.key)) stack.push([it.key, d + 1]);
      } else stack.push([it, d + 1]);
    }
  }
  return undefined;
}

/**
 * Offset of the first `[` or `{` nested deeper than `max` flow collections, or -1. Runs before the
 * YAML parser, which recurses per level and would exhaust the stack on `[[[[…` ten thousand deep.
 * Skips quoted strings and comments; a block scalar full of brackets may be over-counted, harmlessly.
 */
export function flowTooDeep(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--;
    } else if (c === 0x23 && (i === 0 || /\s/.test(text[i - 1]))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === 0x22) {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === 0x27 && (i === 0 || /[\s[{,:]/.test(text[i - 1]))) {
      for (i++; i < text.length; i++) {
        if (text[i] === "'") {
          if (text[i + 1] === "'") i++;
          else break;
        }
      }
    }
  }
  return -1;
}

/**
 * Offset of the first line nested deeper than `max` block levels (by indentation, and `- ` items
 * opening a line), or -1. The parser recurses per block level too: about 950 levels exhaust its stack.
 * The lines of a block scalar (`|`, `>`) are text, not structure, and are skipped.
 */
export function blockTooDeep(text: string, max: number): number {
  const indents: number[] = [];
  let offset = 0;
  let scalarIndent = -1;
  for (const line of text.split('\n')) {
    const m = /^( *)((?:- +)*)(\S?)/.exec(line)!;
    const indent = m[1].length;
    if (scalarIndent >= 0 && (m[3] === '' || indent > scalarIndent)) {
      offset += line.length + 1;
      continue;
    }
    scalarIndent = -1;
    if (m[3] !== '' && m[3] !== '#') {
      while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      if (indents.length + m[2].split('-').length - 1 > max) return offset + indent;
      if (/(^|[:\s])[|>][-+0-9]*\s*(#.*)?$/.test(line)) scalarIndent = indent;
    }
    offset += line.length + 1;
  }
  return -1;
}

/** Keys that a plain JavaScript object cannot hold as data (a record would drop `__proto__` silently). */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Key nodes named like an object's prototype machinery, with their paths, anywhere in the (depth-checked) tree. */
export function reservedKeys(root: Node): { node: Node; path: PathSeg[] }[] {
  const found: { node: Node; path: PathSeg[] }[] = [];
  const stack: [unknown, PathSeg[]][] = [[root, []]];
  while (stack.length) {
    const [n, path] = stack.pop()!;
    if (!isCollection(n)) continue;
    (n.items as unknown[]).forEach((it, i) => {
      if (isPair(it)) {
        const key = isScalar(it.key) ? String(it.key.value) : '?';
        if (RESERVED_KEYS.has(key)) found.push({ node: it.key as Node, path: [...path, key] });
        stack.push([it.key, path], [it.value, [...path, key]]);
      } else stack.push([it, [...path, i]]);
    });
  }
  return found.sort((a, b) => (a.node.range?.[0] ?? 0) - (b.node.range?.[0] ?? 0));
}
