/**
 * The tarball of a bundle named by a job, as a file an action may read: a job's bundle reference is data (from
 * Redis, or another host), so the path must resolve (realpath) inside this engine's bundles folder, end in
 * `.tar.gz` and be a regular file. Anything else is refused: a job naming /etc/shadow uploads nothing.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Config } from '../config.ts';
import { UnrecoverableError } from './errors.ts';

/** The bundles folder of a config: `bundles.dir`, else `<data_dir>/bundles`. */
export function bundlesDirOf(config: Readonly<Config>): string {
  return config.bundles.dir ?? join(config.data_dir, 'bundles');
}

/**
 * The real path and size of `tarball` when it is a regular `.tar.gz` file inside `bundlesDir`; undefined when it does
 * not exist (removed by retention). Throws UnrecoverableError (reason `bundle_outside`) for any other path.
 */
export async function bundleTarball(
  bundlesDir: string,
  tarball: string,
): Promise<{ path: string; size: number } | undefined> {
  let real: string;
  try {
    real = await realpath(tarball);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // No bundles folder (yet): nothing can be inside it.
  const root = await realpath(bundlesDir).catch(() => resolve(bundlesDir));
  if (!real.startsWith(root + sep) || !real.endsWith('.tar.gz'))
    throw new UnrecoverableError(`bundle ${JSON.stringify(tarball)} is not a tarball in the bundles folder ${root}`, {
      reason: 'bundle_outside',
      hint: 'a job this engine did not make: see docs/security.md (Redis is not trusted)',
    });
  const st = await stat(real);
  if (!st.isFile())
    throw new UnrecoverableError(`bundle ${JSON.stringify(tarball)} is not a regular file`, {
      reason: 'bundle_outside',
    });
  return { path: real, size: st.size };
}
