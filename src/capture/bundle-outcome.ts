/**
 * A finished capture run → its bundle: the target's history before and during the capture, the findings and the
 * diagnosis (src/capture/findings.ts), written by the bundle writer with the manifest's timings, scope and errors.
 */
import type { BundleRef } from '../bundle/types.ts';
import { writeBundle } from '../bundle/writer.ts';
import type { Incident, IncidentTarget } from '../incident.ts';
import { ruleSignals } from '../rules/plan.ts';
import type { CaptureScope } from '../rules/contributors.ts';
import type { Rule } from '../rules/types.ts';
import type { HistoryPoint } from '../sampler/history.ts';
import { isCpuSignal, type CgroupNamer } from './diagnosis.ts';
import { buildFindings } from './findings.ts';
import type { RunOutcome } from './run.ts';
import { bundleScope, withScope } from './scope.ts';

/** What the bundle of a run is made from besides the run itself. */
export interface OutcomeInput {
  readonly bundlesDir: string;
  readonly history?: { history(cgroupId: string, sinceMs: number): HistoryPoint[] };
  readonly historyMs: number;
  readonly nameOf?: CgroupNamer;
  readonly incident?: Incident;
  readonly rule?: Rule;
  readonly target?: IncidentTarget;
  readonly probesFrom: 'rule' | 'defaults' | 'cli';
  readonly durationMs: number;
  readonly tripAt: number;
  readonly scope: CaptureScope;
  /** Why the probes' CPU could not be measured (recorded in the bundle's errors). */
  readonly statsError?: string;
}

/** Writes the bundle of a finished run. */
export async function bundleOutcome(i: OutcomeInput, outcome: RunOutcome): Promise<BundleRef> {
  const { rule, tripAt } = i;
  const cgroupId = i.incident?.target.cgroupId ?? i.target?.cgroupId;
  const all = cgroupId && i.history ? i.history.history(cgroupId, tripAt - i.historyMs) : [];
  const before = all.filter((p) => p.at < tripAt);
  const during = all.filter((p) => p.at >= outcome.attachedAt && p.at <= outcome.detachedAt + 1000);
  const cpu = rule ? ruleSignals(rule).some(isCpuSignal) : true;
  const results = outcome.runs.flatMap((r) => (r.result ? [r.result] : []));
  const { findings, errors } = buildFindings({
    results,
    cgroupId,
    before,
    during,
    cpu,
    captureSeconds: (outcome.detachedAt - outcome.attachedAt) / 1000,
    nameOf: i.nameOf,
    live: outcome.live,
  });
  const t = i.incident?.target ?? i.target ?? {};
  return writeBundle({
    root: i.bundlesDir,
    rule: i.incident?.rule ?? rule?.name ?? 'manual',
    incident: i.incident,
    probesFrom: i.probesFrom,
    durationMs: i.durationMs,
    target: { cgroupId: t.cgroupId, cgroupPath: t.cgroupPath, pids: [...(t.pids ?? [])] },
    timings: {
      tripAt,
      attachStartedAt: outcome.attachStartedAt,
      attachedAt: outcome.attachedAt,
      detachedAt: outcome.detachedAt,
    },
    probes: outcome.runs,
    findings: withScope(findings, i.scope),
    scope: bundleScope(i.scope),
    history: { before, during },
    partial: outcome.partial,
    partialReason: outcome.partialReason,
    errors: i.statsError ? [...errors, `probe CPU not measured: ${i.statsError}`] : errors,
  });
}
