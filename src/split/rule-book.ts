/**
 * The rule versions the network side knows: the loaded rules' actions, plus old versions kept for incidents that
 * fired under them (a reload changed or removed the rule), so a job is always run with the actions of its version.
 */
import { ruleActionsHash } from '../rules/actions-hash.ts';
import type { ActionSpec, Rule } from '../rules/types.ts';

/** One version of a rule's actions, as the probe side loaded it. */
export interface RuleActions {
  readonly name: string;
  /** ruleActionsHash of the rule: reports and jobs name the version they were made under. */
  readonly hash: string;
  readonly source: { readonly file: string; readonly line: number };
  readonly actions: readonly ActionSpec[];
  /** The rule's capture duration (ms), when it captures. */
  readonly captureMs?: number;
}

/** The actions of loaded rules, as the network side is told them. */
export function ruleActions(rules: readonly Rule[]): RuleActions[] {
  return rules.map((r) => ({
    name: r.name,
    hash: ruleActionsHash(r),
    source: { file: r.source.file, line: r.source.line },
    actions: r.actions,
    ...(r.capture ? { captureMs: r.capture.durationMs } : {}),
  }));
}

/** Old versions of rules kept for incidents that fired under them. */
const OLD_VERSIONS = 1000;

/** Every rule version seen: `name\0hash` → actions (current ones plus the last OLD_VERSIONS replaced ones). */
export class RuleBook {
  readonly #book = new Map<string, RuleActions>();

  /** Takes the loaded rules; returns those it did not know (their actions' configuration is to be checked). */
  set(rules: readonly RuleActions[]): RuleActions[] {
    const current = new Set<string>();
    const added: RuleActions[] = [];
    for (const rule of rules) {
      const id = `${rule.name}\0${rule.hash}`;
      current.add(id);
      const known = this.#book.has(id);
      this.#book.delete(id); // re-inserted last: the book is oldest first
      this.#book.set(id, rule);
      if (!known) added.push(rule);
    }
    let old = this.#book.size - current.size;
    for (const id of this.#book.keys()) {
      if (old <= OLD_VERSIONS) break;
      if (current.has(id)) continue;
      this.#book.delete(id);
      old--;
    }
    return added;
  }

  /** Every version kept, oldest first. */
  values(): IterableIterator<RuleActions> {
    return this.#book.values();
  }

  /** The actions of a rule version, or undefined when never given. */
  get(name: string, hash: string): RuleActions | undefined {
    return this.#book.get(`${name}\0${hash}`);
  }
}
