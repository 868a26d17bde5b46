/**
 * The action catalog: one line per action module. Each entry carries everything about its action: the schema of
 * its spec (which the rule loader validates `actions[i]` with, passed down as `LoadOptions.actions`), its checks,
 * its doc row and its delivery. Adding an action = one module, one line here, one test file
 * (docs/adding-an-action.md). A duplicate key is a type error; a module filed under another type's key fails
 * `checkRegistry` at start.
 */
import { TriplineError } from '../errors.ts';
import type { Action } from './types.ts';
import { slackAction } from './slack/index.ts';
import { scaleAction } from './scale/index.ts';
import { webhookAction } from './webhook.ts';
import { logAction } from './log.ts';

/** An action registry: spec type → module. Every type may be absent (the engine says which when a rule uses it). */
export type ActionRegistry = Readonly<Record<string, Action | undefined>>;

/** The built-in actions, in the order the docs list them. */
export const ACTIONS = {
  slack: slackAction,
  scale: scaleAction,
  webhook: webhookAction,
  log: logAction,
} as const satisfies ActionRegistry;

/** A built-in action type. */
export type ActionType = keyof typeof ACTIONS;

/** The built-in action types, in registry order. */
export const ACTION_TYPES = Object.keys(ACTIONS) as ActionType[];

/** Fails when a module is registered under a key other than its own type (i.e. two entries for one type). */
export function checkRegistry(registry: ActionRegistry = ACTIONS): void {
  const seen = new Map<string, string>();
  for (const [key, mod] of Object.entries(registry)) {
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
  const mod = registry[type];
  if (!mod) {
    throw new TriplineError('ACTION_ERR_CONFIG', `no action module for type ${JSON.stringify(type)}`, {
      hint: `known types: ${Object.keys(registry).join(', ')}; add src/actions/${type}.ts and one line in src/actions/registry.ts`,
    });
  }
  return mod;
}
