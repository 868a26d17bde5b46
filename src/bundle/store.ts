/**
 * Reading the bundles folder for the CLI and the API: list the complete bundles (never `.partial-*` or `.tmp-*`),
 * show one by id. Ids are checked against the id pattern before touching the filesystem, so a request can
 * never name a path outside the folder.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TriplineError } from '../errors.ts';
import { BUNDLE_ID_RE, ManifestSchema, type Manifest } from './manifest.ts';
import type { Findings } from './types.ts';
import { targetName } from '../incident.ts';

/** One line of `tripline bundles list`. */
export interface BundleInfo {
  readonly id: string;
  readonly dir: string;
  /** Null when the tarball is missing (crash between the folder rename and the tarball rename). */
  readonly tarball: string | null;
  readonly rule: string;
  readonly tripAt: string;
  readonly partial: boolean;
  readonly probes: readonly string[];
  /** The target's names from the manifest (`shop/web-… (Deployment shop/web), container app`), else its cgroup. */
  readonly target: string;
  /** The host whose engine wrote it: the incident's host (the `host` setting), else the machine's host name. */
  readonly host: string;
  /** Folder plus tarball. */
  readonly bytes: number;
  /** Null when manifest.json is unreadable or fails its schema (listed so retention can still remove it). */
  readonly manifest: Manifest | null;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p)).size;
  }
  return total;
}

async function info(root: string, id: string): Promise<BundleInfo> {
  const dir = join(root, id);
  let manifest: Manifest | null = null;
  try {
    manifest = ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  } catch {
    manifest = null;
  }
  let tarball: string | null = join(root, `${id}.tar.gz`);
  let tarBytes = 0;
  try {
    tarBytes = (await stat(tarball)).size;
  } catch {
    tarball = null;
  }
  const stamp = id.slice(0, 15);
  const tripAt =
    manifest?.timings.trip_at ??
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  return {
    id,
    dir,
    tarball,
    rule: manifest?.rule.name ?? id.slice(16, -9),
    tripAt,
    partial: manifest?.partial ?? true,
    probes: manifest?.rule.probes ?? [],
    target: manifest ? manifestTarget(manifest.target) : '',
    host: manifest ? (manifest.host.name ?? manifest.host.hostname) : '',
    bytes: (await dirBytes(dir)) + tarBytes,
    manifest,
  };
}

/** Complete bundles in the folder, oldest first (ids start with the UTC trip time). Missing folder = none. */
export async function listBundles(root: string): Promise<BundleInfo[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ids = [];
  for (const n of names.sort()) {
    if (!BUNDLE_ID_RE.test(n)) continue;
    if ((await stat(join(root, n))).isDirectory()) ids.push(n);
  }
  return Promise.all(ids.map((id) => info(root, id)));
}

/** One bundle with its findings and summary. Throws BUNDLE_ERR_NOT_FOUND for an unknown or malformed id. */
export async function showBundle(
  root: string,
  id: string,
): Promise<BundleInfo & { findings: Findings | null; summary: string }> {
  if (!BUNDLE_ID_RE.test(id))
    throw new TriplineError('BUNDLE_ERR_NOT_FOUND', `${JSON.stringify(id)} is not a bundle id`, {
      hint: 'ids look like 20260101T120000-rule-name-0a1b2c3d; see `tripline bundles list`',
    });
  try {
    if (!(await stat(join(root, id))).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new TriplineError('BUNDLE_ERR_NOT_FOUND', `no bundle ${id} in ${root}`, {
      hint: 'see `tripline bundles list`; retention may have removed it (bundles.max_age, max_count, max_bytes)',
    });
  }
  const base = await info(root, id);
  let findings: Findings | null = null;
  try {
    findings = JSON.parse(await readFile(join(base.dir, 'findings.json'), 'utf8')) as Findings;
  } catch {
    findings = null;
  }
  let summary = '';
  try {
    summary = await readFile(join(base.dir, 'summary.md'), 'utf8');
  } catch {
    summary = '';
  }
  return { ...base, findings, summary };
}

/** A manifest's target in one line: its names (as Slack shows them), else its cgroup path, else ''. */
export function manifestTarget(t: Manifest['target']): string {
  const named = targetName({
    container: t.container,
    workload: t.workload,
    ...(t.pod_uid ? { pod: { uid: t.pod_uid, name: t.pod, namespace: t.namespace } } : {}),
  });
  return named || t.cgroup_path || '';
}
