/**
 * Silences from Slack, fleet-wide: whichever engine takes a Silence click, every engine sharing the action store
 * (Redis) applies the silence to its own probe side, since a series may trip on any of them (a pod's incident is
 * seen by every node that runs it; a node's by its host only). The silences are one bounded JSON document in the
 * store; each engine reads it every few seconds (and at once after a click) and adds or removes its local API
 * silences to match. A local silence carries its fleet id in its comment, so a restarted engine (whose API
 * silences were persisted) recognises its own and adds no second one. The document is read as hostile (anyone who
 * can write Redis can write it): each entry is checked before it is applied (a UUID fleet id; equality matchers
 * naming the rule; an end at most the longest Silence choice ahead; at most MAX_ENTRIES entries) and its tag is
 * rebuilt from its fleet id; an entry that fails is skipped and logged.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { compileChecked, type SilenceService } from '../../../rules/silence-service.ts';
import { LABEL_NAME_PATTERN, SilenceSpecSchema } from '../../../rules/parse/schema.ts';
import { MAX_LABEL_VALUE_LENGTH } from '../../../rules/compile/regex-guard.ts';
import { LONGEST_SILENCE_MS } from './controls.ts';
import type { ActionLogger, ActionStore } from '../../types.ts';
import { GroupLock } from '../group-lock.ts';

/** A silence spec as the silence service takes it (API form). */
export interface SilenceSpecInput {
  readonly matchers: Record<string, string>;
  readonly starts_at: string;
  readonly ends_at: string;
  readonly author: string;
  readonly comment: string;
}

interface Entry {
  readonly sid: string;
  readonly spec: SilenceSpecInput;
  readonly until: number;
  removed?: boolean;
}

/** Slack silences kept in the document; past it the oldest go (their silences still end on their own). */
const MAX_ENTRIES = 500;
const DOC = 'slack:silences';
const TAG = /\[slack ([0-9a-f-]{36})\]$/;
/** Largest document read (500 entries of a few kB). */
const MAX_DOC_BYTES = 4 * 1024 * 1024;
/** Labels of one silence (an incident's labels and `rule`). */
const MAX_MATCHERS = 64;
/** Clock skew between engines tolerated on an entry's end. */
const SKEW_MS = 300_000;

const isoTime = z.iso.datetime({ offset: true });
const EntrySchema = z.object({
  sid: z.uuid(),
  spec: z.object({
    // Equality only (a plain value per label), and always the rule: never a silence of everything.
    matchers: z
      .record(z.string().regex(new RegExp(LABEL_NAME_PATTERN)), z.string().max(MAX_LABEL_VALUE_LENGTH))
      .refine((m) => Object.keys(m).length <= MAX_MATCHERS, `at most ${MAX_MATCHERS} matchers`)
      .refine((m) => Object.hasOwn(m, 'rule') && m.rule !== '', 'no rule matcher'),
    starts_at: isoTime,
    ends_at: isoTime,
    author: z.string().startsWith('slack:').max(256),
    comment: z.string().max(1024),
  }),
  removed: z.boolean().optional(),
});

/** The entry as this engine applies it, or why it is not applied. */
function checkEntry(raw: unknown, now: number): Entry | string {
  const p = EntrySchema.safeParse(raw);
  if (!p.success) return `${p.error.issues[0]?.path.join('.') || 'entry'}: ${p.error.issues[0]?.message}`;
  const { sid, spec, removed } = p.data;
  const until = Date.parse(spec.ends_at);
  if (until > now + LONGEST_SILENCE_MS + SKEW_MS) return 'spec.ends_at: further ahead than the longest Silence choice';
  if (Date.parse(spec.starts_at) > until) return 'spec.starts_at: after ends_at';
  // The tag names the entry's own fleet id, whatever the comment said.
  const comment = `${spec.comment.replace(/\s*\[slack [^\]]*\]$/, '').slice(0, 900)} [slack ${sid}]`;
  return { sid, spec: { ...spec, matchers: { ...spec.matchers }, comment }, until, ...(removed ? { removed } : {}) };
}

export class SilenceSync {
  readonly #store: ActionStore;
  readonly #local: SilenceService;
  readonly #log: ActionLogger;
  readonly #now: () => number;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(store: ActionStore, local: SilenceService, log: ActionLogger, now: () => number = Date.now) {
    this.#store = store;
    this.#local = local;
    this.#log = log;
    this.#now = now;
  }

  /** Syncs every `everyMs` until stop. */
  start(everyMs = 5000): void {
    this.#timer = setInterval(() => void this.sync(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Publishes a silence for the fleet (checked as the silence service would first); returns its fleet id. */
  async publish(spec: SilenceSpecInput): Promise<string> {
    const sid = randomUUID();
    const tagged = { ...spec, comment: `${spec.comment.slice(0, 900)} [slack ${sid}]` };
    compileChecked(SilenceSpecSchema.parse(tagged), this.#now());
    await this.#edit((entries) => {
      entries.push({ sid, spec: tagged, until: Date.parse(spec.ends_at) });
    });
    return sid;
  }

  /** Marks fleet silences removed. */
  async unpublish(sids: readonly string[]): Promise<void> {
    await this.#edit((entries) => {
      for (const e of entries) if (sids.includes(e.sid)) e.removed = true;
    });
  }

  /** Brings this engine's silences in line with the document (one run at a time). */
  sync(): Promise<void> {
    this.#running ??= this.#sync().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sync(): Promise<void> {
    try {
      const entries = await this.#read();
      const mine = new Map<string, string>();
      for (const s of await this.#local.list()) {
        const m = TAG.exec(s.comment);
        if (m) mine.set(m[1], s.id);
      }
      for (const e of entries) {
        const local = mine.get(e.sid);
        if (e.removed && local) await this.#local.remove(local);
        else if (!e.removed && !local && e.until > this.#now()) await this.#local.add(e.spec);
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error)?.message }, 'slack: silences from Slack could not be synced');
    }
  }

  async #read(): Promise<Entry[]> {
    const raw = await this.#store.get(DOC);
    if (!raw) return [];
    let entries: unknown[];
    try {
      if (raw.length > MAX_DOC_BYTES) throw new Error(`larger than ${MAX_DOC_BYTES} bytes`);
      const doc = JSON.parse(raw) as { entries?: unknown } | null;
      if (!Array.isArray(doc?.entries)) throw new Error('no entries list');
      entries = doc.entries.slice(-MAX_ENTRIES);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, key: DOC }, 'slack: the silences document is invalid; ignored');
      return [];
    }
    const now = this.#now();
    const out: Entry[] = [];
    const seen = new Set<string>();
    let skipped = 0;
    let first = '';
    for (const e of entries) {
      const r = checkEntry(e, now);
      if (typeof r === 'string') {
        skipped += 1;
        first ||= r;
        continue;
      }
      if (seen.has(r.sid)) continue;
      seen.add(r.sid);
      out.push(r);
    }
    if (skipped)
      this.#log.warn({ skipped, err: first.slice(0, 300), key: DOC }, 'slack: invalid silences from Slack skipped');
    return out;
  }

  async #edit(fn: (entries: Entry[]) => void): Promise<void> {
    const lock = await GroupLock.take(this.#store, `${DOC}:lock`, `silences-${randomUUID()}`, {
      maxTries: 100,
      aborted: () => false,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    try {
      const now = this.#now();
      const entries = (await this.#read()).filter((e) => e.until > now);
      fn(entries);
      await this.#store.set(DOC, JSON.stringify({ entries: entries.slice(-MAX_ENTRIES) }), 31 * 86_400_000);
    } finally {
      await lock.release();
    }
  }
}
