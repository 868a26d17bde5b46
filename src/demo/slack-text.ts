/** Plain-text view of the Slack file sink's newest messages, for the demo's terminal. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink } from '../actions/slack/file-sink.ts';

/** Reads outbox files not shown yet (tracked in `shown`) and renders each as a few lines of text. */
export function newMessages(outboxDir: string, shown: Set<string>): string[] {
  const lines: string[] = [];
  for (const name of new FileSink(outboxDir).list()) {
    if (shown.has(name)) continue;
    shown.add(name);
    let entry: { method: string; thread_ts?: string; text?: string; blocks?: unknown[]; file?: string; title?: string };
    try {
      entry = JSON.parse(readFileSync(join(outboxDir, name), 'utf8'));
    } catch {
      continue;
    }
    lines.push(`${entry.method}${entry.thread_ts ? ' (in thread)' : ''} → ${join(outboxDir, name)}`);
    if (entry.file) lines.push(`  file: ${entry.title ?? ''} ${entry.file}`);
    for (const text of blockTexts(entry.blocks ?? []))
      for (const l of text.split('\n')) if (l.trim()) lines.push(`  ${l}`);
    if (!entry.blocks?.length && entry.text) lines.push(`  ${entry.text}`);
  }
  return lines;
}

function blockTexts(blocks: unknown[]): string[] {
  const out: string[] = [];
  for (const b of blocks as {
    text?: { text?: string };
    fields?: { text?: string }[];
    elements?: { text?: string }[];
  }[]) {
    if (b.text?.text) out.push(b.text.text);
    for (const f of b.fields ?? []) if (f.text) out.push(f.text);
    for (const e of b.elements ?? []) if (e.text) out.push(e.text);
  }
  return out;
}
