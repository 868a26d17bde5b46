/**
 * The version of a rule's actions: a hash of its name and its parsed action specs. An incident's report and each
 * queued job name the version they were made under, so the network side runs exactly those actions (rebuilt from
 * the rules it was given, never from the job's own data) and refuses a job whose version it does not know.
 */
import { createHash } from 'node:crypto';
import type { Rule } from './types.ts';

const cache = new WeakMap<object, string>();

/** 16 hex digits of SHA-256 over the rule's name and actions (stable JSON: the specs are plain, frozen data). */
export function ruleActionsHash(rule: Pick<Rule, 'name' | 'actions'>): string {
  let h = cache.get(rule);
  if (!h) {
    h = createHash('sha256')
      .update(JSON.stringify([rule.name, rule.actions]))
      .digest('hex')
      .slice(0, 16);
    cache.set(rule, h);
  }
  return h;
}
