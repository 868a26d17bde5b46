/**
 * The file back end of the rule state: one JSON document, written atomically (temp file in the same
 * folder, fsync, rename, fsync of the folder) so a crash leaves either the old or the new state.
 * An unreadable or corrupt file is reported through `onError` and treated as no state: the engine
 * starts fresh rather than not at all.
 */
import { open, readFile, rename, mkdir, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { TriplineError } from '../../errors.ts';
import { isPersistedState, type PersistedState, type StateErrorHandler, type StateStore } from './store.ts';

/** State in a JSON file (default `<data_dir>/rule-state.json`, see STATE_FILE in open.ts). */
export class FileStateStore implements StateStore {
  readonly path: string;
  private readonly onError: StateErrorHandler;
  private seq = 0;
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
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${++this.seq}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
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
