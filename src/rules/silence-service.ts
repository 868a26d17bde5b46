/**
 * Run-time silences as the API offers them: validated (the rule format's silence schema and matchers, RE2 regexes),
 * bounded (count, text length, at most 30 days ahead), logged with their author, and reported to `onChange` so the
 * caller persists them with the rule state. The HTTP API (network side) reaches this through the channel; the
 * probe side owns it, next to the evaluator whose trips it silences.
 */
import { randomUUID } from 'node:crypto';
import { TriplineError } from '../errors.ts';
import type { LabelMatcher, Silence } from './types.ts';
import type { Suppressor, SuppressedTrip } from './evaluate/suppress.ts';
import { SilenceSpecSchema, type SilenceSpecDoc } from './parse/schema.ts';
import { compileSilence } from './compile/compile.ts';

/** Limits of run-time silences. */
export const SILENCE_LIMITS = {
  /** Run-time silences at once (expired ones are dropped first). */
  maxCount: 1000,
  /** Longest author and comment. */
  maxAuthor: 256,
  maxComment: 1024,
  /** How far ahead a silence may end. */
  maxAheadMs: 30 * 24 * 3600_000,
} as const;

/** What the API needs of silences; the network side implements it over the channel. */
export interface SilenceService {
  list(): Promise<readonly Silence[]>;
  /** Adds a silence; throws RULE_ERR_SCHEMA / RULE_ERR_REGEX naming the field and the fix. */
  add(spec: unknown): Promise<Silence>;
  remove(id: string): Promise<boolean>;
  suppressed(): Promise<readonly SuppressedTrip[]>;
}

/** Where a silence change is reported (the engine logs it and persists the API silences). */
export type SilenceChange = (change: { op: 'add' | 'remove'; silence: Silence }) => void;

/** The silence service over a suppressor (the evaluator's). */
export function localSilences(
  suppressor: () => Suppressor,
  onChange: SilenceChange = () => {},
  now = (): number => Date.now(),
): SilenceService {
  return {
    async list() {
      return suppressor().list();
    },
    async add(raw) {
      const parsed = SilenceSpecSchema.safeParse(raw);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new TriplineError('RULE_ERR_SCHEMA', `${i.path.join('.') || 'body'}: ${i.message}`, {
          hint: 'send {"matchers": {"rule": "cpu-throttling"}, "starts_at": ISO time, "ends_at": ISO time, "author": "...", "comment": "..."}',
        });
      }
      const silence = compileChecked(parsed.data, now());
      const s = suppressor();
      const api = s.list().filter(isApiSilence);
      const t = now();
      for (const old of api) if (old.endsAt <= t) s.remove(old.id);
      if (api.filter((x) => x.endsAt > t).length >= SILENCE_LIMITS.maxCount)
        throw new TriplineError('RULE_ERR_SCHEMA', `already ${SILENCE_LIMITS.maxCount} run-time silences`, {
          hint: 'remove silences you no longer need (DELETE /api/silences/ID), or use fewer, broader matchers',
        });
      s.add(silence);
      onChange({ op: 'add', silence });
      return silence;
    },
    async remove(id) {
      const s = suppressor();
      const silence = s.list().find((x) => x.id === id && isApiSilence(x));
      if (!silence || !s.remove(id)) return false;
      onChange({ op: 'remove', silence });
      return true;
    },
    async suppressed() {
      return suppressor().suppressed();
    },
  };
}

/** Compiles a run-time silence spec with its limits; throws the first problem. */
export function compileChecked(spec: SilenceSpecDoc, now: number, id = `api-${randomUUID()}`): Silence {
  const bad = (field: string, message: string, hint: string): never => {
    throw new TriplineError('RULE_ERR_SCHEMA', `${field}: ${message}`, { hint });
  };
  if (spec.author.length > SILENCE_LIMITS.maxAuthor)
    bad('author', `longer than ${SILENCE_LIMITS.maxAuthor} characters`, 'give a shorter author');
  if (spec.comment.length > SILENCE_LIMITS.maxComment)
    bad('comment', `longer than ${SILENCE_LIMITS.maxComment} characters`, 'link to a ticket instead');
  if (Date.parse(spec.ends_at) > now + SILENCE_LIMITS.maxAheadMs)
    bad('ends_at', 'more than 30 days ahead', 'silence for at most 30 days; renew it if needed');
  let first: TriplineError | undefined;
  const silence = compileSilence(id, spec, { file: 'api', line: 1, column: 1 }, (path, err) => {
    first ??= new TriplineError(err.code, `${path.slice(1).join('.')}: ${err.message}`, { hint: err.hint });
  });
  if (!silence) throw first ?? new TriplineError('RULE_ERR_SCHEMA', 'invalid silence');
  return silence;
}

/** True for a run-time silence (made through the API), as opposed to one from a rule file. */
export function isApiSilence(s: { readonly id: string }): boolean {
  return /^api-[\w-]{1,64}$/.test(s.id);
}

/** A silence back in the spec form the API takes (what is persisted, and validated again when restored). */
export function silenceSpec(s: Silence): SilenceSpecDoc {
  const matcher = (m: LabelMatcher): unknown => {
    switch (m.op) {
      case 'equals':
        return m.value;
      case 'not':
        return { not: m.value };
      case 'regex':
        return { regex: m.pattern };
      case 'not_regex':
        return { not_regex: m.pattern };
      case 'in':
        return { in: [...m.values] };
      case 'not_in':
        return { not_in: [...m.values] };
    }
  };
  return {
    matchers: Object.fromEntries(Object.entries(s.matchers).map(([k, m]) => [k, matcher(m)])),
    starts_at: new Date(s.startsAt).toISOString(),
    ends_at: new Date(s.endsAt).toISOString(),
    author: s.author,
    comment: s.comment,
  } as SilenceSpecDoc;
}
