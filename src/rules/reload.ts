/**
 * Hot reload of the rule set: on a change under the rule paths (fs.watch, debounced) and on demand
 * (the engine calls `reload()` on SIGHUP). A set that fails to load is rejected as a whole: the
 * running rules stay, the errors go to `onError`, and `failures` counts it (exported as a metric).
 * Applying a good set is the caller's `apply` (the evaluator keeps the state of unchanged rules).
 */
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { TriplineError } from '../errors.ts';
import type { RuleSet } from './types.ts';
import { loadRules, type RuleLoad } from './load.ts';
import type { ActionCatalog, ProbeCatalog } from './parse/schema.ts';

/** Why a reload ran. */
export type ReloadReason = 'watch' | 'signal' | 'manual';

/** Outcome of one reload. */
export interface ReloadResult {
  readonly ok: boolean;
  /** False when the new set equals the running one (nothing applied). */
  readonly changed: boolean;
  readonly errors: readonly TriplineError[];
  readonly reason: ReloadReason;
}

/** Options of a reloader. */
export interface ReloaderOptions {
  /** Rule files and folders (config `rules`). */
  readonly paths: readonly string[];
  /** Applies an accepted set (e.g. `(rs) => evaluator.setRuleSet(rs)`). */
  readonly apply: (ruleSet: RuleSet) => void;
  /** Called with the errors of a rejected set, or of a watcher that failed. */
  readonly onError?: (errors: readonly TriplineError[], reason: ReloadReason) => void;
  /** Called after each reload attempt. */
  readonly onReload?: (result: ReloadResult) => void;
  /** Quiet time after the last file event before reloading. @defaultValue 250 ms */
  readonly debounceMs?: number;
  /** The action types rules may use, with their spec schemas (the engine passes src/actions/registry.ts). */
  readonly actions: ActionCatalog;
  /** The deep probes rules may name, with their option schemas (the engine passes src/probes/deep/index.ts). */
  readonly probes?: ProbeCatalog;
  /** Loader (tests may wrap it). @defaultValue loadRules without unit tests (a broken test never blocks a reload) */
  readonly load?: (paths: readonly string[]) => RuleLoad;
}

const isRuleFile = (name: string | null): boolean => !name || /\.ya?ml$/.test(name);

/** Reloads the rule set on file changes and on demand. */
export class RuleReloader {
  /** Rejected reloads since start. */
  failures = 0;
  /** Accepted reloads that changed the set. */
  successes = 0;
  private readonly opts: ReloaderOptions;
  private current: string;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `running`: the set the engine started with (so an unchanged reload is a no-op). */
  constructor(running: RuleSet, opts: ReloaderOptions) {
    this.opts = opts;
    this.current = fingerprint(running);
  }

  /** Loads the paths now; applies the set when it is valid and different. Never throws for bad rules. */
  reload(reason: ReloadReason = 'manual'): ReloadResult {
    let result: ReloadResult;
    const load = (
      this.opts.load ?? ((p) => loadRules(p, { tests: false, actions: this.opts.actions, probes: this.opts.probes }))
    )(this.opts.paths);
    if (!load.ruleSet) {
      this.failures++;
      this.opts.onError?.(load.errors, reason);
      result = { ok: false, changed: false, errors: load.errors, reason };
    } else {
      const fp = fingerprint(load.ruleSet);
      const changed = fp !== this.current;
      if (changed) {
        this.opts.apply(load.ruleSet);
        this.current = fp;
        this.successes++;
      }
      result = { ok: true, changed, errors: [], reason };
    }
    this.opts.onReload?.(result);
    return result;
  }

  /** Starts watching the rule paths; a burst of events reloads once, `debounceMs` after the last. */
  watch(): void {
    const schedule = (): void => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.reload('watch');
      }, this.opts.debounceMs ?? 250);
      this.timer.unref?.();
    };
    for (const p of this.opts.paths) {
      const abs = resolve(p);
      let isDir = false;
      try {
        isDir = statSync(abs).isDirectory();
      } catch {
        /* watched through its folder below */
      }
      // A file is watched through its folder: editors replace files by rename, which ends a file watch.
      const target = isDir ? abs : dirname(abs);
      const only = isDir ? undefined : basename(abs);
      try {
        const w = watch(target, { recursive: isDir, persistent: false }, (_event, name) => {
          const n = name === null ? null : String(name);
          if (only ? n === only || n === null : isRuleFile(n)) schedule();
        });
        w.on('error', (err) => this.opts.onError?.([watchError(target, err)], 'watch'));
        this.watchers.push(w);
      } catch (err) {
        this.opts.onError?.([watchError(target, err as Error)], 'watch');
      }
    }
  }

  /** Stops watching. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}

function fingerprint(rs: RuleSet): string {
  return JSON.stringify(rs);
}

function watchError(target: string, cause: Error): TriplineError {
  return new TriplineError('RULE_ERR_FILE', `cannot watch ${target} for rule changes: ${cause.message}`, {
    hint: 'check that the rule folder exists; reload with SIGHUP once it is back',
    cause,
  });
}
