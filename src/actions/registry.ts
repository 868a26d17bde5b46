/**
 * The action catalog: one line per action module. Adding an action = one file, one line here, one test file
 * (docs/adding-an-action.md). A duplicate key is a type error; a module filed under another type's key fails
 * `checkRegistry` at start.
 */
import { TriplineError } from '../errors.ts';
import type { ActionSpec } from '../rules/types.ts';
import type { Action } from './types.ts';
import { logAction } from './log.ts';
import { webhookAction } from './webhook.ts';
import { slackAction } from './slack/index.ts';
import { scaleAction } from './scale/index.ts';

/** An action registry: spec type → module. Every type may be absent (the engine says which when a rule uses it). */
export type ActionRegistry = { readonly [K in ActionSpec['type']]?: Action<Extract<ActionSpec, { type: K }>> };

/** The built-in actions. */
export const ACTIONS: ActionRegistry = {
  log: logAction,
  webhook: webhookAction,
  slack: slackAction,
  scale: scaleAction,
};

/** Fails when a module is registered under a key other than its own type (i.e. two entries for one type). */
export function checkRegistry(registry: ActionRegistry = ACTIONS): void {
  const seen = new Map<string, string>();
  for (const [key, mod] of Object.entries(registry) as [string, Action | undefined][]) {
    if (!mod) continue;
    if (mod.type !== key) {
      throw new TriplineError(
        'ACTION_ERR_CONFIG',
        `action registry: key ${JSON.stringify(key)} holds the ${JSON.stringify(mod.type)} module`,
        { hint: 'src/actions/registry.ts: register each module under its own type, once' },
      );
    }
    const prev = seen.get(mod.type);
    if (prev)
      throw new TriplineError(
        'ACTION_ERR_CONFIG',
        `action registry: ${mod.type} is registered twice (${prev}, ${key})`,
        { hint: 'src/actions/registry.ts: remove the duplicate line' },
      );
    seen.set(mod.type, key);
  }
}

/** The module for a spec type, or ACTION_ERR_CONFIG naming the missing module. */
export function actionFor(type: string, registry: ActionRegistry = ACTIONS): Action {
  const mod = (registry as Record<string, Action | undefined>)[type];
  if (!mod) {
    throw new TriplineError('ACTION_ERR_CONFIG', `no action module for type ${JSON.stringify(type)}`, {
      hint: `known types: ${Object.keys(registry).join(', ')}; add src/actions/${type}.ts and one line in src/actions/registry.ts`,
    });
  }
  return mod;
}
