/**
 * The scale action: on a firing incident whose diagnosis allows it, raise the workload's replicas through the
 * scale subresource (or its HPA's minReplicas), once per incident key across hosts, never past `max`, at most once
 * per cooldown per workload; report what it did, or why not, into the incident's Slack thread (ctx.notify); then
 * verify recovery by re-reading the rule's signal for the workload (a scheduled `verify` job), and after the
 * incident resolved put a raised HPA floor back (a scheduled `restore` job; follow-up.ts, restore.ts). A dry run
 * (spec or job) sends the PATCH with `dryRun=All` only and reports what it would do.
 */
import type { Config } from '../../config.ts';
import type { Incident } from '../../incident.ts';
import { scaleDoc, scaleSpec, type ScaleActionSpec } from './spec.ts';
import { TriplineError } from '../../errors.ts';
import { UnrecoverableError } from '../errors.ts';
import type { Action, ActionContext, ActionJob, ActionOutcome, EventDetail } from '../types.ts';
import { dryRunScale, livePlan, offlineDryRun } from './dry-run.ts';
import { onResolved, runRestore, runVerify, startVerify } from './follow-up.ts';
import { Raises } from './restore.ts';
import { ScaleGuards } from './cooldown.ts';
import type { ScaleClaim } from './cooldown.ts';
import { findHpa, hpaPatch, hpaPath } from './hpa.ts';
import { KubeClient } from '../../kube/client.ts';
import { resolveCredentials } from '../../kube/kubeconfig.ts';
import { OwnerResolver, scalePath, workloadId } from './owner.ts';
import { causeVerdict, parseStep } from './plan.ts';
import { askApproval, onDecide } from './approval-flow.ts';
import { slackAppToken } from '../slack/settings/interactive.ts';

/** Options of the scale action; production uses the defaults. */
export interface ScaleActionOptions {
  /** Builds the Kubernetes client; default: credentials from the config (kubeconfig, in-cluster, api_url). */
  readonly client?: (config: Readonly<Config>, env: NodeJS.ProcessEnv) => KubeClient;
}

/** The claim lives at least this long, so a burst of retries and hosts meets it even with a tiny cooldown. */
const MIN_CLAIM_MS = 60_000;

/** Builds the scale action. */
export function createScaleAction(opts: ScaleActionOptions = {}): Action<ScaleActionSpec> {
  // One client and pod cache per config (the engine has one config; reload makes a new one).
  const resolvers = new WeakMap<object, { client: KubeClient; owners: OwnerResolver }>();
  const kube = (ctx: ActionContext): { client: KubeClient; owners: OwnerResolver } => {
    let r = resolvers.get(ctx.config);
    if (!r) {
      let client: KubeClient;
      try {
        client = opts.client
          ? opts.client(ctx.config, ctx.env)
          : new KubeClient(resolveCredentials(ctx.config.kubernetes, ctx.env));
      } catch (cause) {
        throw cause instanceof TriplineError
          ? new UnrecoverableError(cause.message, { reason: 'config', hint: cause.hint, cause })
          : cause;
      }
      r = { client, owners: new OwnerResolver(client, { node: ctx.config.kubernetes.node_name }) };
      resolvers.set(ctx.config, r);
    }
    return r;
  };

  return {
    type: 'scale',
    spec: scaleSpec,
    doc: scaleDoc,
    check(spec, config, env) {
      parseStep(spec.step);
      if (spec.approval === 'required' && !hasAppToken(config, env))
        throw new TriplineError('ACTION_ERR_CONFIG', 'scale approval: required, but no Slack app token', {
          hint: 'nobody can click Approve: set SLACK_APP_TOKEN or slack.app_token_file (docs/slack.md), or approval: none; meanwhile each such scale times out unscaled',
        });
      if (!(spec.max >= 1))
        throw new TriplineError('ACTION_ERR_CONFIG', `scale max ${spec.max} must be at least 1`, {
          hint: 'set max: to the most replicas tripline may ask for',
        });
    },

    async execute(job: ActionJob<ScaleActionSpec>, ctx: ActionContext): Promise<ActionOutcome> {
      const { incident } = job;
      const guards = new ScaleGuards(ctx.store);
      if (job.event === 'resolved') return onResolved(job, ctx, guards);
      if (job.event === 'verify') return runVerify(job, ctx, guards);
      if (job.event === 'restore') return runRestore(job, ctx, () => kube(ctx).client);
      const tell = (detail: EventDetail, seq: string): Promise<string[]> =>
        ctx.notify('scaled', detail, `${incident.id}-${seq}`);
      if (job.event === 'decide') return onDecide(job, ctx, tell, (by) => scaleNow(job, ctx, tell, guards, by));
      if (job.event !== 'firing')
        return { status: 'skipped', summary: `scale acts on firing incidents, not ${job.event}` };
      return scaleNow(job, ctx, tell, guards);
    },
  };

  /** Scales for a firing incident (or an approved `decide`), or asks for approval first when the spec wants it. */
  async function scaleNow(
    job: ActionJob<ScaleActionSpec>,
    ctx: ActionContext,
    tell: (detail: EventDetail, seq: string) => Promise<string[]>,
    guards: ScaleGuards,
    approvedBy?: string,
  ): Promise<ActionOutcome> {
    const { spec, incident } = job;
    const dryRun = spec.dryRun || job.dryRun === true;
    const approved = approvedBy ? ` Approved by ${approvedBy}.` : '';

    // The diagnosis decides before any Kubernetes call: a contention incident never touches the cluster.
    const diagnosis = job.bundle?.findings.diagnosis;
    const refused = causeVerdict(diagnosis?.cause, spec.whenCause, diagnosis?.lead);
    if (refused) {
      await tell({ kind: 'scale-skipped', text: refused }, 'skip');
      return { status: 'skipped', summary: refused };
    }
    if (spec.approval === 'required' && !dryRun && approvedBy === undefined) return askApproval(job, ctx, tell);
    let k: { client: KubeClient; owners: OwnerResolver };
    try {
      k = kube(ctx);
    } catch (err) {
      // A dry run on a host without a cluster (e.g. `tripline demo`) still says what it would send.
      if (dryRun && err instanceof UnrecoverableError) return offlineDryRun(job, err, tell);
      throw err;
    }
    const { client, owners } = k;
    const workload = await owners.resolve(spec.target, incident.target, ctx.pods);
    const w = workloadId(workload);

    if (dryRun) return dryRunScale(client, workload, job, tell);

    const claimTtl = Math.max(spec.cooldownMs, MIN_CLAIM_MS);
    const { owner, claim } = await guards.claim(incident.key, incident.id, claimTtl);
    if (owner === 'taken') {
      const summary = `Did not scale: ${incident.key} was already handled${claim.summary ? ` (${claim.summary})` : ' by another engine'}; cooldown ${Math.round(spec.cooldownMs / 1000)}s.`;
      return { status: 'skipped', summary };
    }
    if (claim.state === 'done' || claim.state === 'skipped') {
      // A retry after the work was done (e.g. the worker died before acking): report again, idempotently.
      await tell(
        { kind: claim.state === 'done' ? 'scaled' : 'scale-skipped', text: claim.summary ?? '' },
        claim.state === 'done' ? 'scaled' : 'skip',
      );
      return { status: claim.state === 'done' ? 'delivered' : 'skipped', summary: claim.summary ?? '' };
    }
    // While tripline holds the workload's HPA floor raised, this incident holds it too: restored after it resolves.
    const raises = new Raises(ctx.store);
    if (spec.restore) await raises.locked(w, () => raises.noteFiring(w, incident.key));

    let planned: ScaleClaim = claim;
    if (planned.to === undefined) {
      const cd = await guards.startCooldown(w, incident.key, spec.cooldownMs);
      if (!cd.started) {
        const text = `Did not scale: ${w} is in its cooldown (${Math.round(spec.cooldownMs / 1000)}s), last scaled for ${cd.holder ?? 'another incident'}.`;
        return skip(guards, incident, claimTtl, text, tell);
      }
      const { p, hpa } = await livePlan(client, workload, job);
      if (!p.scale) {
        await guards.releaseCooldown(w);
        return skip(guards, incident, claimTtl, p.reason, tell);
      }
      planned = {
        incident: incident.id,
        state: 'planned',
        workload: w,
        from: p.from,
        to: p.to,
        via: p.via,
        ...(hpa ? { hpaMin: hpa.minReplicas } : {}),
      };
      // Recorded before the PATCH: a retry re-applies this absolute count instead of stepping again.
      await guards.record(incident.key, planned, claimTtl);
    }

    const to = planned.to!;
    let text: string;
    if (planned.via === 'hpa-min') {
      const hpa = await findHpa(client, workload);
      if (!hpa) throw new UnrecoverableError(`scale: the HPA of ${w} disappeared`, { reason: 'hpa_gone' });
      // Under the workload's lock, so a restore never reads the floor between this PATCH and its record.
      await raises.locked(w, async () => {
        await client.patch(hpaPath(hpa), hpaPatch(to));
        if (spec.restore)
          await raises.noteRaise(w, incident.key, incident.id, hpa, planned.hpaMin ?? hpa.minReplicas, to);
      });
      text = `Scaled ${w}: raised HorizontalPodAutoscaler ${hpa.name} minReplicas to ${to} (from ${planned.from} replicas; max ${Math.min(spec.max, hpa.maxReplicas)}).${approved}`;
    } else {
      await client.patch(scalePath(workload), { spec: { replicas: to } });
      text = `Scaled ${w} from ${planned.from} to ${to} replicas (max ${spec.max}).${approved}${spec.restore ? ' They stay after the incident: without an HPA the count is yours to lower.' : ''}`;
    }
    // The decision cites the diagnosis it acted on.
    if (diagnosis) text += ` Cause: ${diagnosis.lead ?? `${diagnosis.cause}: ${diagnosis.summary}`}.`;
    await guards.record(incident.key, { ...planned, state: 'done', summary: text }, claimTtl);
    await tell(
      { kind: 'scaled', text, from: planned.from ?? null, to, workload: w, via: planned.via ?? 'replicas' },
      'scaled',
    );

    if (spec.verifyMs > 0) await startVerify(job, ctx, workload, `${w} ${planned.from} → ${to}`);
    return {
      status: 'delivered',
      summary: text,
      data: { workload: w, from: planned.from ?? null, to, via: planned.via ?? 'replicas' },
    };
  }
}

/** True when a Slack app token is set (Socket Mode clicks can approve). */
function hasAppToken(config: Readonly<Config>, env: NodeJS.ProcessEnv): boolean {
  try {
    return slackAppToken(config.slack, env) !== undefined;
  } catch {
    return false;
  }
}

/** The scale action with production defaults (the registry's entry). */
export const scaleAction: Action<ScaleActionSpec> = createScaleAction();

/** Records and reports a decision not to scale. */
async function skip(
  guards: ScaleGuards,
  incident: Incident,
  ttl: number,
  text: string,
  tell: (d: EventDetail, seq: string) => Promise<string[]>,
): Promise<ActionOutcome> {
  await guards.record(incident.key, { incident: incident.id, state: 'skipped', summary: text }, ttl);
  await tell({ kind: 'scale-skipped', text }, 'skip');
  return { status: 'skipped', summary: text };
}
