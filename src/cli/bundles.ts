/**
 * `tripline bundles list | show ID [--check] [--dir DIR] [--config FILE]`: the bundles on disk.
 * list: one line per complete bundle (id, trip time, host, rule, target names or cgroup, probes, size, partial).
 * show: the summary, paths and, with --check, the bundle's own schema check (exit 1 when it fails).
 */
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { TriplineError } from '../errors.ts';
import { listBundles, showBundle } from '../bundle/store.ts';
import { validateBundle } from '../bundle/validate.ts';

const USAGE =
  'usage: tripline bundles list [--dir DIR] [--json] | show ID [--check] [--dir DIR]   (also --config FILE)\n';

function size(bytes: number): string {
  return bytes < 1 << 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return 0;
  }
  let dir: string | undefined,
    config: string | undefined,
    check = false,
    json = false;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--dir' || a === '--config') {
      const v = rest[++i];
      if (v === undefined) {
        process.stderr.write(`tripline bundles: ${a} needs a value\n${USAGE}`);
        return 2;
      }
      if (a === '--dir') dir = v;
      else config = v;
    } else if (a === '--check' && sub === 'show') check = true;
    else if (a === '--json' && sub === 'list') json = true;
    else if (a.startsWith('-')) {
      process.stderr.write(`tripline bundles: unknown option ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    } else positional.push(a);
  }
  if (
    (sub !== 'list' && sub !== 'show') ||
    (sub === 'list' && positional.length > 0) ||
    (sub === 'show' && positional.length !== 1)
  ) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const cfg = loadConfig(config);
    const root = dir ?? cfg.bundles.dir ?? join(cfg.data_dir, 'bundles');
    if (sub === 'list') {
      const list = await listBundles(root);
      if (json) {
        process.stdout.write(
          JSON.stringify(
            list.map(({ manifest: _m, ...b }) => b),
            null,
            2,
          ) + '\n',
        );
        return 0;
      }
      if (list.length === 0) {
        process.stderr.write(`no bundles in ${root}\n`);
        return 0;
      }
      for (const b of list)
        process.stdout.write(
          `${b.id}  ${b.tripAt}  ${b.host || '-'}  ${b.rule}  ${b.target || '-'}  ${b.probes.join(',') || '-'}  ${size(b.bytes)}${b.partial ? '  partial' : ''}${b.manifest ? '' : '  (manifest unreadable)'}\n`,
        );
      return 0;
    }
    const b = await showBundle(root, positional[0]);
    process.stdout.write(
      `${b.summary || '(no summary.md)\n'}\nfolder:  ${b.dir}\ntarball: ${b.tarball ?? '(missing)'}\n`,
    );
    if (check) {
      const r = await validateBundle(b.dir);
      process.stdout.write(
        r.ok
          ? 'schema check: ok\n'
          : `schema check: ${r.problems.length} problems\n${r.problems.map((p) => `  ${p}\n`).join('')}`,
      );
      return r.ok ? 0 : 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof TriplineError) {
      process.stderr.write(`tripline bundles: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}
