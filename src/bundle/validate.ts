/**
 * The bundle's own schema check: manifest.json and findings.json parse against their schemas, every file the
 * manifest lists exists with the recorded size and sha256, and no file is there that the manifest does not list.
 * Run by the writer's tests, by `tripline bundles show --check`, and by anyone handed a bundle.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ManifestSchema, type Manifest } from './manifest.ts';
import { CAUSES, type Findings } from './types.ts';

const StackSchema = z
  .object({
    frames: z.array(z.string()),
    weight: z.number().nonnegative(),
    unit: z.enum(['samples', 'seconds']),
    comm: z.string().optional(),
    reason: z.string().optional(),
  })
  .strict();

const n = z.number().nonnegative();
const Totals = z.object({ some: n.optional(), full: n.optional() }).strict();
const Pressure = z.object({ cpu: Totals.optional(), memory: Totals.optional(), io: Totals.optional() }).strict();
/** Schema of findings.live (LiveStats): the target measured by the capture. */
const LiveSchema = z
  .object({
    samples: z.number().int().nonnegative(),
    seconds: n,
    cpuPeriods: n.optional(),
    throttledPeriods: n.optional(),
    throttledRatio: n.optional(),
    throttledSeconds: n.optional(),
    usageCores: n.optional(),
    quotaCores: n.optional(),
    pressure: Pressure,
    pressureScope: z.enum(['cgroup', 'node']).optional(),
    series: z
      .array(
        z
          .object({
            at: n,
            periods: n.optional(),
            throttledPeriods: n.optional(),
            throttledSeconds: n.optional(),
            usageSeconds: n.optional(),
            quotaCores: n.optional(),
            pressure: Pressure.optional(),
          })
          .strict(),
      )
      .max(600),
  })
  .strict();

const CauseSchema = z.enum(CAUSES);

/** Schema of findings.json (the `Findings` contract of src/bundle/types.ts). */
export const FindingsSchema = z
  .object({
    diagnosis: z
      .object({
        cause: CauseSchema,
        summary: z.string(),
        evidence: z.record(z.string(), z.union([z.number(), z.string()])),
        culprit: z.string().optional(),
        lead: z.string().optional(),
        advice: z.string().optional(),
        also: z
          .array(
            z
              .object({ cause: CauseSchema, culprit: z.string().optional(), share: z.number(), summary: z.string() })
              .strict(),
          )
          .optional(),
        checked: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    live: LiveSchema.optional(),
    headlines: z.array(z.string()),
    neighbours: z.array(
      z
        .object({
          pid: z.number().int(),
          comm: z.string(),
          cgroupId: z.string(),
          cgroupPath: z.string(),
          count: z.number().int().nonnegative(),
          delaySeconds: z.number().nonnegative(),
        })
        .strict(),
    ),
    topOnCpu: z.array(StackSchema),
    topOffCpu: z.array(StackSchema),
    slowSyscalls: z.array(
      z
        .object({ syscall: z.string(), pid: z.number().int(), comm: z.string(), seconds: z.number(), args: z.string() })
        .strict(),
    ),
    slowQueries: z.array(z.object({ query: z.string(), seconds: z.number(), pid: z.number().int() }).strict()),
    shifts: z.record(z.string(), z.object({ before: z.number(), during: z.number() }).strict()),
  })
  .strict();

/** Result of a check: `ok` when `problems` is empty. */
export interface BundleCheck {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly manifest?: Manifest;
  readonly findings?: Findings;
}

function issues(prefix: string, err: z.ZodError): string[] {
  return err.issues.map((i) => `${prefix}: ${i.path.join('.') || '(top)'}: ${i.message}`);
}

async function readJson(dir: string, name: string, problems: string[]): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, name), 'utf8'));
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Checks a bundle directory against its schema and its recorded file sizes and hashes. Never throws on bad content. */
export async function validateBundle(dir: string): Promise<BundleCheck> {
  const problems: string[] = [];
  const rawManifest = await readJson(dir, 'manifest.json', problems);
  const m = rawManifest === undefined ? undefined : ManifestSchema.safeParse(rawManifest);
  if (m && !m.success) problems.push(...issues('manifest.json', m.error));
  const manifest = m?.success ? m.data : undefined;

  const rawFindings = await readJson(dir, 'findings.json', problems);
  const f = rawFindings === undefined ? undefined : FindingsSchema.safeParse(rawFindings);
  if (f && !f.success) problems.push(...issues('findings.json', f.error));

  if (manifest) {
    const listed = new Set<string>();
    for (const file of manifest.files) {
      listed.add(file.name);
      try {
        const st = await stat(join(dir, file.name));
        if (st.size !== file.bytes) {
          problems.push(`${file.name}: ${st.size} bytes, manifest says ${file.bytes}`);
          continue;
        }
        const hash = createHash('sha256')
          .update(await readFile(join(dir, file.name)))
          .digest('hex');
        if (hash !== file.sha256) problems.push(`${file.name}: sha256 ${hash} does not match the manifest`);
      } catch (err) {
        problems.push(
          `${file.name}: listed in the manifest but ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message}`,
        );
      }
    }
    if (!listed.has('findings.json')) problems.push('findings.json: not listed in the manifest');
    for (const name of await readdir(dir)) {
      if (name !== 'manifest.json' && !listed.has(name))
        problems.push(`${name}: present but not listed in the manifest`);
    }
  }
  return { ok: problems.length === 0, problems, manifest, findings: f?.success ? (f.data as Findings) : undefined };
}
