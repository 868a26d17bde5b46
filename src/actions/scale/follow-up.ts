/**
 * What the scale action does after it scaled: start the verification (re-read the signal, schedule the check),
 * record a resolution (and schedule the restore of a raised HPA floor), and run those two scheduled jobs. Each
 * reports into the incident's thread through `ctx.notify` with a fixed seq, so a retry or a second host posts once.
 */
import type { KubeClient } from '../../kube/client.ts';
import type { SignalReading } from '../../signal-read.ts';
import type { ActionContext, ActionJob, ActionOutcome } from '../types.ts';
import type { ScaleGuards } from './cooldown.ts';
import type { WorkloadRef } from './owner.ts';
import { Raises } from './restore.ts';
import type { ScaleActionSpec } from './spec.ts';
import { judge, seriesMatch, unusable, Verifications } from './verify.ts';

/** The resolved marker (the verification's fallback) lives this long: a check held up by an outage still finds it. */
const RESOLVED_TTL_MS = 7 * 24 * 3600_000;

/** Re-reads the signal now (`before`), records the pending verification and schedules its check. */
export async function startVerify(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  workload: WorkloadRef,
  change: string,
): Promise<void> {
  const { incident, spec } = job;
  const query = { rule: incident.rule, match: seriesMatch(workload, incident.target) };
  const before = await read(ctx, query).then((r) => r.reading);
  const now = ctx.now();
  const due = now + spec.verifyMs;
  await new Verifications(ctx.store).start(incident.key, {
    incident: incident.id,
    change,
    scaledAt: now,
    due,
    query,
    ...(before ? { before } : {}),
    tripValue: Number.isFinite(incident.value) ? incident.value : null,
  });
  await ctx.schedule('verify', due, undefined, 'verify');
}

/** The scheduled check: re-reads the signal and reports the verdict with the values before and after. */
export async function runVerify(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  guards: ScaleGuards,
): Promise<ActionOutcome> {
  const { incident } = job;
  const pending = new Verifications(ctx.store);
  const p = await pending.get(incident.key);
  if (!p || p.incident !== incident.id)
    return { status: 'skipped', summary: `no pending verification of ${incident.id} (reported already)` };
  const { reading, error } = await read(ctx, p.query);
  const at = await guards.resolvedAt(incident.key);
  const j = judge({
    pending: p,
    after: reading,
    why: error ?? unusable(reading, incident.rule),
    resolved: at !== undefined && Date.parse(at) >= Date.parse(incident.firedAt),
    now: ctx.now(),
  });
  await ctx.notify('verified', j.detail, `${incident.id}-verify`);
  await pending.done(incident.key);
  return {
    status: 'delivered',
    summary: String(j.detail.text),
    data: { verdict: j.verdict, before: j.detail.before ?? null, after: j.detail.after ?? null },
  };
}

/** The probe side's reading, or why there is none. */
async function read(
  ctx: ActionContext,
  query: Parameters<NonNullable<ActionContext['readSignal']>>[0],
): Promise<{ reading?: SignalReading; error?: string }> {
  if (!ctx.readSignal) return {};
  try {
    return { reading: await ctx.readSignal(query) };
  } catch (err) {
    return { error: `the probe side did not answer: ${(err as Error)?.message ?? String(err)}` };
  }
}

/** A `resolved` event: marks it for the verification and, for a holder of a raise, schedules the restore. */
export async function onResolved(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  guards: ScaleGuards,
): Promise<ActionOutcome> {
  const { incident, spec } = job;
  const resolvedAt = incident.resolvedAt ?? new Date(ctx.now()).toISOString();
  await guards.markResolved(incident.key, resolvedAt, RESOLVED_TTL_MS);
  let summary = `recorded the resolution of ${incident.key} for verification`;
  if (!spec.restore || job.dryRun || spec.dryRun) return { status: 'skipped', summary };
  const raises = new Raises(ctx.store);
  const w = await raises.workloadOf(incident.key);
  if (!w) return { status: 'skipped', summary };
  const due = (Date.parse(resolvedAt) || ctx.now()) + spec.restoreAfterMs;
  if (await raises.locked(w, () => raises.noteResolved(w, incident.key, due))) {
    await ctx.schedule('restore', due, { workload: w }, 'restore');
    summary += `; restore of the HPA floor of ${w} due at ${new Date(due).toISOString()}`;
  }
  return { status: 'skipped', summary };
}

/** The scheduled restore of a raised HPA floor (see restore.ts for when it does restore). */
export async function runRestore(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  client: () => KubeClient,
): Promise<ActionOutcome> {
  const { incident, spec } = job;
  // The rule as loaded now decides: a restore job of a rule whose scale action is a dry run or has restore off (a
  // planted job, or one queued before a reload) changes nothing.
  if (!spec.restore) return { status: 'skipped', summary: 'restore is off for this rule (restore: false)' };
  if (spec.dryRun || job.dryRun === true)
    return { status: 'skipped', summary: 'dry run: nothing was raised to restore' };
  const raises = new Raises(ctx.store);
  const w = await raises.workloadOf(incident.key);
  if (!w) return { status: 'skipped', summary: `nothing to restore for ${incident.key}` };
  const r = await raises.locked(w, () => raises.restore(client(), w, incident.key, ctx.now()));
  const after = `${Math.round(spec.restoreAfterMs / 1000)}s`;
  if (r.did === 'none' || r.did === 'wait' || r.did === 'taken') {
    const why = {
      none: 'no raise held by this incident (restored already, or raised again since)',
      wait: 'another incident on it resolved later; its own restore comes after',
      taken: 'another job restores it',
    }[r.did];
    return { status: 'skipped', summary: `did not restore ${w}: ${why}` };
  }
  if (r.did === 'gone') {
    const text = `Did not restore the HPA floor of ${w}: its HorizontalPodAutoscaler is gone.`;
    await ctx.notify('scaled', { kind: 'restore-skipped', text, workload: w }, 'restore');
    return { status: 'skipped', summary: text };
  }
  const hpa = `HorizontalPodAutoscaler ${r.raise.hpa.namespace}/${r.raise.hpa.name}`;
  if (r.did === 'foreign') {
    const text = `Did not restore ${hpa}: it does not scale ${w} (the raise record does not match the cluster); left as is.`;
    await ctx.notify('scaled', { kind: 'restore-skipped', text, workload: w }, 'restore');
    return { status: 'skipped', summary: text };
  }
  if (r.did === 'firing') {
    const text = `Not restoring ${hpa} minReplicas (${r.raise.set}) yet: ${r.keys.length} incident${r.keys.length > 1 ? 's' : ''} on ${w} still firing (${r.keys[0].slice(0, 200)}); it goes back to ${r.raise.original} ${after} after the last resolves.`;
    await ctx.notify('scaled', { kind: 'restore-waiting', text, workload: w }, 'restore');
    return { status: 'skipped', summary: text };
  }
  if (r.did === 'changed') {
    const text = `Did not restore ${hpa}: its minReplicas is ${r.now}, not the ${r.raise.set} tripline set, so someone changed it meanwhile; left as is (it was ${r.raise.original} before tripline raised it).`;
    await ctx.notify('scaled', { kind: 'restore-skipped', text, workload: w, from: r.raise.set, to: r.now }, 'restore');
    return { status: 'skipped', summary: text };
  }
  const text = `Restored ${hpa} minReplicas of ${w} from ${r.raise.set} to ${r.raise.original}: the incidents on it resolved and ${after} passed.`;
  await ctx.notify(
    'scaled',
    { kind: 'restored', text, workload: w, from: r.raise.set, to: r.raise.original },
    'restore',
  );
  return { status: 'delivered', summary: text, data: { workload: w, from: r.raise.set, to: r.raise.original } };
}
