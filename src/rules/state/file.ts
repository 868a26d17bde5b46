/**
 * The file back end of the rule state: one JSON document (mode 0600), written atomically (atomic-file.ts: temp
 * file in the same folder, fsync, rename, fsync of the folder) so a crash leaves either the old or the new state.
 * An unreadable or corrupt file is reported through `onError` and treated as no state: the engine
 * starts fresh rather than not at all.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../atomic-file.ts';
import { TriplineError } from '../../errors.ts';
import { isPersistedState, type PersistedState, type StateErrorHandler, type StateStore } from './store.ts';

/** State in a JSON file (default `<data_dir>/rule-state.json`, see STATE_FILE in open.ts). */
export class FileStateStore implements StateStore {
  readonly path: string;
  private readonly onError: StateErrorHandler;
  /** Saves run one after another: a slow fsync never lets an older state overwrite a newer one. */
  private chain: Promise<void> = Promise.resolve();

  constructor(path: string, onError: StateErrorHandler = () => {}) {
    this.path = path;
    this.onError = onError;
  }

  async load(): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.onError(
        new TriplineError('RULE_ERR_STATE', `cannot read rule state ${this.path}: ${(err as Error).message}`, {
          hint: 'check the permissions of data_dir; starting with fresh state',
          cause: err,
        }),
      );
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.onError(
        new TriplineError('RULE_ERR_STATE', `rule state ${this.path} is not valid JSON: ${(err as Error).message}`, {
          hint: 'the file is ignored and rewritten; starting with fresh state',
          cause: err,
        }),
      );
      return undefined;
    }
    if (!isPersistedState(parsed)) {
      this.onError(
        new TriplineError('RULE_ERR_STATE', `rule state ${this.path} has an unknown layout or version`, {
          hint: 'the file is ignored and rewritten; starting with fresh state',
        }),
      );
      return undefined;
    }
    return parsed;
  }

  save(state: PersistedState): Promise<void> {
    const next = this.chain.then(() => this.write(JSON.stringify(state)));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(text: string): Promise<void> {
    try {
      await writeFileAtomic(this.path, text, { mode: 0o600 });
    } catch (err) {
      throw new TriplineError('RULE_ERR_STATE', `cannot write rule state ${this.path}: ${(err as Error).message}`, {
        hint: 'check that data_dir exists, is writable and has free space',
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    await this.chain;
  }
}
