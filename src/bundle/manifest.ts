/**
 * The versioned manifest of a bundle (`manifest.json`): what was captured, on whom, where, when, at what cost,
 * what went wrong and what was redacted, and every other file with its size and sha256. Keys are snake_case
 * (a file format, like the YAML). A reader rejects a schema_version it does not know.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

/** Bumped on any incompatible change of the layout or of a field's meaning (see docs/bundle-format.md). */
export const BUNDLE_SCHEMA_VERSION = 1;

/** tripline's own version, from package.json (read once). */
export const TRIPLINE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A bundle id: `<UTC yyyymmddThhmmss>-<rule>-<8 hex>`; the rule part is a DNS label. */
export const BUNDLE_ID_RE = /^\d{8}T\d{6}-[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?-[0-9a-f]{8}$/;

const iso = z.string().datetime({ offset: true });

export const ProbeEntrySchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /** ok: ran; skipped: not started (cap, unknown, not prepared); failed: threw on prepare/start/stop. */
    status: z.enum(['ok', 'skipped', 'failed']),
    reason: z.string().optional(),
    budget: z
      .object({
        duration_ms: z.number().nonnegative(),
        max_events: z.number().int().nonnegative(),
        max_bytes: z.number().int().nonnegative(),
      })
      .strict(),
    started_at: iso.optional(),
    ended_at: iso.optional(),
    events: z.number().int().nonnegative(),
    dropped: z.number().int().nonnegative(),
    errors: z.array(z.string()),
    partial: z.boolean(),
    /** In-kernel run time of the probe's programs during the capture, when the probe reports it. */
    cpu_ns: z.number().nonnegative().optional(),
    /** Files of the bundle made from this probe's data. */
    files: z.array(z.string()),
  })
  .strict();

export const FileEntrySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export const ManifestSchema = z
  .object({
    schema_version: z.literal(BUNDLE_SCHEMA_VERSION),
    id: z.string().regex(BUNDLE_ID_RE),
    partial: z.boolean(),
    /** Why the capture was cut short (engine stopping, deadline forced, CPU cap), when partial. */
    partial_reason: z.string().optional(),
    /** Null for a capture run by hand (`tripline capture`). */
    incident: z
      .object({
        id: z.string(),
        key: z.string(),
        rule: z.string(),
        severity: z.string(),
        status: z.string(),
        fired_at: z.string(),
        value: z.number(),
        threshold: z.number(),
        unit: z.string(),
        labels: z.record(z.string(), z.string()),
        stats: z.record(z.string(), z.number()),
        test: z.boolean(),
      })
      .strict()
      .nullable(),
    rule: z
      .object({
        name: z.string(),
        probes: z.array(z.string()),
        duration_ms: z.number().nonnegative(),
        /** Whether the probe list came from the rule or from the per-signal defaults. */
        probes_from: z.enum(['rule', 'defaults', 'cli']),
      })
      .strict(),
    target: z
      .object({
        cgroup_id: z.string().optional(),
        cgroup_path: z.string().optional(),
        pids: z.array(z.number().int()),
        /** Names of the target when the incident carried them (the pod directory, or the systemd unit). */
        namespace: z.string().max(256).optional(),
        pod: z.string().max(256).optional(),
        pod_uid: z.string().max(64).optional(),
        container: z.string().max(256).optional(),
        container_id: z.string().max(128).optional(),
        /** `Kind/name` (in the pod's namespace) or a systemd unit. */
        workload: z.string().max(512).optional(),
      })
      .strict(),
    /**
     * Whom the probes aimed at: the incident's target, the top contributors of a host-wide signal (by its per-cgroup
     * twin, with its total and share of the window's total), or the host. Absent for hand-run captures.
     */
    scope: z
      .object({
        kind: z.enum(['target', 'contributors', 'host']),
        summary: z.string(),
        signal: z.string().optional(),
        twin: z.string().optional(),
        window: z.object({ since: iso, until: iso }).strict().optional(),
        contributors: z
          .array(
            z
              .object({
                cgroup_id: z.string(),
                cgroup: z.string(),
                name: z.string().max(1024).optional(),
                value: z.number().nonnegative(),
                share: z.number().min(0).max(1),
              })
              .strict(),
          )
          .max(8),
      })
      .strict()
      .optional(),
    /** `hostname` as uname says; `name` the engine's `host` setting (the incident's host), when from an incident. */
    host: z.object({ hostname: z.string(), name: z.string().max(253).optional() }).strict(),
    kernel: z.object({ sysname: z.string(), release: z.string(), version: z.string(), machine: z.string() }).strict(),
    tripline: z.object({ version: z.string() }).strict(),
    timings: z
      .object({
        trip_at: iso,
        attach_started_at: iso,
        attached_at: iso,
        detached_at: iso,
        written_at: iso,
        /** Trip (incident fired, or capture requested) to the last probe attached. */
        trip_to_attach_ms: z.number().nonnegative(),
        capture_ms: z.number().nonnegative(),
      })
      .strict(),
    probes: z.array(ProbeEntrySchema),
    events: z.number().int().nonnegative(),
    drops: z.number().int().nonnegative(),
    errors: z.array(z.string()),
    redactions: z.array(z.string()),
    /** Every file of the bundle except manifest.json itself. */
    files: z.array(FileEntrySchema),
  })
  .strict();

export type Manifest = z.infer<typeof ManifestSchema>;
export type ProbeEntry = z.infer<typeof ProbeEntrySchema>;
export type FileEntry = z.infer<typeof FileEntrySchema>;

/** Host and kernel as uname reports them, and the engine's host name (`name`, config `host`) when given. */
export function hostInfo(name?: string): Pick<Manifest, 'host' | 'kernel' | 'tripline'> {
  return {
    host: { hostname: os.hostname(), ...(name ? { name } : {}) },
    kernel: { sysname: os.type(), release: os.release(), version: os.version(), machine: os.machine() },
    tripline: { version: TRIPLINE_VERSION },
  };
}

/** ISO-8601 UTC timestamp of an epoch-ms time. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
