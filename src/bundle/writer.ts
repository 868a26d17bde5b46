/**
 * The bundle writer. Atomic: every file goes into `<root>/.partial-<id>/` (0700) as 0600, is fsynced, the
 * manifest (listing every other file with size and sha256) is written last, and the folder is renamed to
 * `<root>/<id>/`; then `<id>.tar.gz` is written under a temporary name and renamed. A crash leaves only a
 * `.partial-*` folder or a `.tmp-*` file, which no reader lists and retention removes. File names are fixed or
 * made from probe names (registry tokens); nothing from event data or rule text beyond the validated rule name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { syncDir, writeFileAtomic, writeFileDurable } from '../atomic-file.ts';
import { TriplineError } from '../errors.ts';
import { targetName, type Incident, type IncidentTarget } from '../incident.ts';
import type { ProbeBudget, ProbeResult } from '../probes/deep/types.ts';
import type { FlameInput } from './flamegraph.ts';
import { toFolded } from './folded.ts';
import {
  BUNDLE_ID_RE,
  BUNDLE_SCHEMA_VERSION,
  hostInfo,
  isoTime,
  ManifestSchema,
  type FileEntry,
  type Manifest,
  type ProbeEntry,
} from './manifest.ts';
import { renderSummary } from './summary.ts';
import { tarArchive, type TarEntry } from './tar.ts';
import type { BundleRef, Findings } from './types.ts';

/** One probe of the capture as the manager saw it: run (with its result), skipped or failed. */
export interface ProbeRun {
  readonly name: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly budget: ProbeBudget;
  readonly result?: ProbeResult;
  readonly cpuNs?: number;
}

/** Whom the capture aimed at (src/rules/contributors.ts CaptureScope, as plain data). */
export interface BundleScope {
  readonly kind: 'target' | 'contributors' | 'host';
  /** One line: "captured the top 2 contributors of …: /a (62%), /b (20%)" or "captured host-wide: …". */
  readonly summary: string;
  readonly signal?: string;
  readonly twin?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly contributors?: readonly { cgroupId: string; cgroup: string; value: number; share: number; name?: string }[];
}

/** Everything a bundle is made of. Times are ms since the epoch. */
export interface BundleInput {
  /** Bundles folder (created 0700 when missing). */
  readonly root: string;
  /** Rule name (already validated as a DNS label), or `manual` for a hand-run capture. */
  readonly rule: string;
  readonly incident?: Incident;
  readonly probesFrom: 'rule' | 'defaults' | 'cli';
  readonly durationMs: number;
  readonly target: { readonly cgroupId?: string; readonly cgroupPath?: string; readonly pids: readonly number[] };
  readonly timings: {
    readonly tripAt: number;
    readonly attachStartedAt: number;
    readonly attachedAt: number;
    readonly detachedAt: number;
  };
  readonly probes: readonly ProbeRun[];
  readonly findings: Findings;
  /** Whom the probes aimed at; absent for hand-run captures. */
  readonly scope?: BundleScope;
  /** Sampler snapshots of the target before the trip and during the capture (written as baseline.json). */
  readonly history?: { readonly before: readonly unknown[]; readonly during: readonly unknown[] };
  readonly partial: boolean;
  readonly partialReason?: string;
  readonly errors?: readonly string[];
  /** Clock for the id and written_at (tests). */
  readonly now?: () => number;
}

const PROBE_NAME_RE = /^[a-z][a-z0-9_]*$/;

/** A new bundle id: `<UTC yyyymmddThhmmss>-<rule>-<8 hex>`. */
export function bundleId(rule: string, atMs: number): string {
  const stamp = new Date(atMs).toISOString().replace(/[-:]/g, '').slice(0, 15);
  const id = `${stamp}-${rule}-${randomBytes(4).toString('hex')}`;
  if (!BUNDLE_ID_RE.test(id))
    throw new TriplineError('BUNDLE_ERR_WRITE', `rule name ${JSON.stringify(rule)} cannot be part of a bundle id`, {
      hint: 'rule names are DNS labels: lowercase letters, digits and "-", at most 63 characters',
    });
  return id;
}

/** JSON.stringify that writes bigints (kernel ids, addresses) as decimal strings instead of throwing. */
function json(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** events.ndjson lines of one probe, cut at its byte budget; returns the lines and how many records were left out. */
function ndjson(
  probe: string,
  records: readonly Record<string, unknown>[],
  maxBytes: number,
): { text: string; left: number } {
  let text = '';
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const line = json({ ...records[i], probe }) + '\n';
    const len = Buffer.byteLength(line);
    if (bytes + len > maxBytes) return { text, left: records.length - i };
    text += line;
    bytes += len;
  }
  return { text, left: 0 };
}

/** On-CPU sampling period of a stack probe, from its summary (`periodNs` or `frequencyHz`); undefined when unknown. */
function samplePeriodNs(summary: Readonly<Record<string, unknown>>): number | undefined {
  if (typeof summary.periodNs === 'number' && summary.periodNs > 0) return summary.periodNs;
  if (typeof summary.frequencyHz === 'number' && summary.frequencyHz > 0) return 1e9 / summary.frequencyHz;
  return undefined;
}

/**
 * Modes of what a bundle holds: readable by the owner's group (the network side's, which uploads bundles; the
 * bundles folder is setgid to that group, so new files inherit it), by nobody else.
 */
export const BUNDLE_FILE_MODE = 0o640;
export const BUNDLE_DIR_MODE = 0o750;

/** Writes the bundle atomically and returns where it is. Throws BUNDLE_ERR_WRITE (and leaves nothing half-written). */
export async function writeBundle(input: BundleInput): Promise<BundleRef> {
  const now = input.now ?? Date.now;
  const id = bundleId(input.rule, input.timings.tripAt);
  await mkdir(input.root, { recursive: true, mode: BUNDLE_DIR_MODE });
  const partialDir = join(input.root, `.partial-${id}`);
  const finalDir = join(input.root, id);
  const tarball = join(input.root, `${id}.tar.gz`);
  const tmpTar = join(input.root, `.tmp-${id}.tar.gz`);
  try {
    await mkdir(partialDir, { mode: BUNDLE_DIR_MODE });
    await chmod(partialDir, BUNDLE_DIR_MODE);
    const files: FileEntry[] = [];
    const put = async (name: string, data: Buffer | string): Promise<void> => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      await writeFileDurable(join(partialDir, name), buf, BUNDLE_FILE_MODE);
      files.push({ name, bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') });
    };

    const entries: ProbeEntry[] = [];
    const graphs: FlameInput[] = [];
    let events = '';
    for (const p of input.probes) {
      if (!PROBE_NAME_RE.test(p.name))
        throw new TriplineError('BUNDLE_ERR_WRITE', `probe name ${JSON.stringify(p.name)} is not a registry token`, {
          hint: 'deep probe names are lowercase tokens (src/probes/deep/index.ts)',
        });
      const r = p.result;
      const own: string[] = [];
      let dropped = r?.dropped ?? 0;
      if (r?.stacks && r.stacks.length > 0) {
        await put(`${p.name}.folded`, toFolded(r.stacks));
        // pprof encoding (pprof-format) and the flame graph load with the first bundle that has stacks.
        const { toPprof } = await import('./pprof.ts');
        await put(
          `${p.name}.pb.gz`,
          toPprof(r.stacks, {
            startMs: r.startedAt,
            durationMs: r.endedAt - r.startedAt,
            periodNs: samplePeriodNs(r.summary),
          }),
        );
        own.push(`${p.name}.folded`, `${p.name}.pb.gz`, 'flamegraph.html');
        graphs.push({ name: p.name, stacks: r.stacks });
      }
      if (r?.records && r.records.length > 0) {
        const { text, left } = ndjson(p.name, r.records, p.budget.maxBytes);
        events += text;
        dropped += left;
        own.push('events.ndjson');
      }
      entries.push({
        name: p.name,
        status: p.status,
        ...(p.reason ? { reason: p.reason } : {}),
        budget: { duration_ms: p.budget.durationMs, max_events: p.budget.maxEvents, max_bytes: p.budget.maxBytes },
        ...(r ? { started_at: isoTime(r.startedAt), ended_at: isoTime(r.endedAt) } : {}),
        events: r?.events ?? 0,
        dropped,
        errors: [...(r?.errors ?? [])],
        partial: r?.partial ?? false,
        ...(p.cpuNs !== undefined ? { cpu_ns: p.cpuNs } : {}),
        files: own,
      });
    }
    if (events !== '') await put('events.ndjson', events);
    const title = input.incident
      ? `${input.rule}: ${input.incident.annotations.summary ?? input.incident.key}`
      : `manual capture (${input.rule})`;
    if (graphs.length > 0) {
      const { renderFlamegraph } = await import('./flamegraph.ts');
      await put('flamegraph.html', renderFlamegraph(title, graphs));
    }
    await put('findings.json', json(input.findings, 2) + '\n');
    if (input.history) await put('baseline.json', json(input.history) + '\n');
    const errors = [...(input.errors ?? []), ...entries.flatMap((e) => e.errors.map((m) => `${e.name}: ${m}`))];
    const redactions = [...new Set(input.probes.flatMap((p) => p.result?.redactions ?? []))].sort();
    await put(
      'summary.md',
      renderSummary(
        {
          id,
          title,
          target: input.incident ? targetName(input.incident.target) : '',
          partial: input.partial,
          partialReason: input.partialReason,
          probes: entries,
          errors,
          redactions,
        },
        input.findings,
      ),
    );

    const t = input.timings;
    const inc = input.incident;
    const manifest: Manifest = {
      schema_version: BUNDLE_SCHEMA_VERSION,
      id,
      partial: input.partial,
      ...(input.partial && input.partialReason ? { partial_reason: input.partialReason } : {}),
      incident: inc
        ? {
            id: inc.id,
            key: inc.key,
            rule: inc.rule,
            severity: inc.severity,
            status: inc.status,
            fired_at: inc.firedAt,
            value: inc.value,
            threshold: inc.threshold,
            unit: inc.unit,
            labels: { ...inc.labels },
            stats: { ...inc.stats },
            test: inc.test === true,
          }
        : null,
      rule: {
        name: input.rule,
        probes: input.probes.map((p) => p.name),
        duration_ms: input.durationMs,
        probes_from: input.probesFrom,
      },
      target: {
        ...(input.target.cgroupId ? { cgroup_id: input.target.cgroupId } : {}),
        ...(input.target.cgroupPath ? { cgroup_path: input.target.cgroupPath } : {}),
        pids: [...input.target.pids],
        ...manifestNames(input.incident?.target),
      },
      ...(input.scope ? { scope: manifestScope(input.scope) } : {}),
      ...hostInfo(input.incident?.host),
      timings: {
        trip_at: isoTime(t.tripAt),
        attach_started_at: isoTime(t.attachStartedAt),
        attached_at: isoTime(t.attachedAt),
        detached_at: isoTime(t.detachedAt),
        written_at: isoTime(now()),
        trip_to_attach_ms: Math.max(0, t.attachedAt - t.tripAt),
        capture_ms: Math.max(0, t.detachedAt - t.attachedAt),
      },
      probes: entries,
      events: entries.reduce((a, e) => a + e.events, 0),
      drops: entries.reduce((a, e) => a + e.dropped, 0),
      errors,
      redactions,
      files,
    };
    ManifestSchema.parse(manifest); // a writer bug must fail here, not in a reader
    await writeFileDurable(
      join(partialDir, 'manifest.json'),
      Buffer.from(JSON.stringify(manifest, null, 2) + '\n'),
      BUNDLE_FILE_MODE,
    );
    await syncDir(partialDir);
    await rename(partialDir, finalDir);
    await syncDir(input.root);

    const mtimeMs = now();
    const members: TarEntry[] = [{ path: `${id}/`, mode: BUNDLE_DIR_MODE, mtimeMs }];
    for (const name of ['manifest.json', ...files.map((f) => f.name)]) {
      members.push({
        path: `${id}/${name}`,
        mode: BUNDLE_FILE_MODE,
        mtimeMs,
        data: await readFile(join(finalDir, name)),
      });
    }
    await writeFileAtomic(tarball, gzipSync(tarArchive(members)), { tmpPath: tmpTar, mode: BUNDLE_FILE_MODE });
    return { id, dir: finalDir, tarball, partial: input.partial, findings: input.findings };
  } catch (cause) {
    await rm(partialDir, { recursive: true, force: true });
    await rm(tmpTar, { force: true });
    if (cause instanceof TriplineError) throw cause;
    throw new TriplineError(
      'BUNDLE_ERR_WRITE',
      `cannot write bundle ${id} in ${input.root}: ${(cause as Error).message}`,
      { hint: 'check that bundles.dir is on a writable filesystem with free space', cause },
    );
  }
}

/** The names of an incident's target, as manifest fields (absent when unknown). */
function manifestNames(t: IncidentTarget | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (k: string, v: string | undefined): void => {
    if (v) out[k] = v;
  };
  put('namespace', t?.pod?.namespace);
  put('pod', t?.pod?.name);
  put('pod_uid', t?.pod?.uid);
  put('container', t?.container);
  put('container_id', t?.containerId);
  put('workload', t?.workload);
  return out;
}

/** The manifest's `scope` (snake_case, ISO window). */
function manifestScope(s: BundleScope): NonNullable<Manifest['scope']> {
  return {
    kind: s.kind,
    summary: s.summary,
    ...(s.signal ? { signal: s.signal } : {}),
    ...(s.twin ? { twin: s.twin } : {}),
    ...(s.sinceMs !== undefined && s.untilMs !== undefined
      ? { window: { since: isoTime(s.sinceMs), until: isoTime(s.untilMs) } }
      : {}),
    contributors: (s.contributors ?? []).map((c) => ({
      cgroup_id: c.cgroupId,
      cgroup: c.cgroup,
      ...(c.name ? { name: c.name } : {}),
      value: c.value,
      share: c.share,
    })),
  };
}
