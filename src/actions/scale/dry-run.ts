/**
 * The scale action's dry runs: against the live objects (the PATCH goes with `dryRun=All`: the server validates,
 * nothing changes), or, with no Kubernetes API at hand (e.g. `tripline demo`), the request it would make.
 */
import type { KubeClient } from '../../kube/client.ts';
import type { ActionJob, ActionOutcome, EventDetail } from '../types.ts';
import { findHpa, hpaPatch, hpaPath, type Hpa } from './hpa.ts';
import { scalePath, workloadId, type WorkloadRef } from './owner.ts';
import { parseStep, plan, type Plan } from './plan.ts';
import type { ScaleActionSpec } from './spec.ts';

/** The scale subresource's body (autoscaling/v1 Scale). */
export interface Scale {
  readonly spec: { readonly replicas?: number };
  readonly status?: { readonly replicas?: number };
}

/** Dry run without any Kubernetes API: the request it would make, with the replica count it cannot read. */
export async function offlineDryRun(
  job: ActionJob<ScaleActionSpec>,
  why: Error,
  tell: (d: EventDetail, seq: string) => Promise<string[]>,
): Promise<ActionOutcome> {
  const { spec } = job;
  const step = parseStep(spec.step);
  const next = step.op === 'add' ? `current + ${step.n}` : `ceil(current × ${step.f})`;
  const where =
    spec.target === 'auto'
      ? `the scale subresource of the Deployment or StatefulSet owning pod ${job.incident.target.pod?.uid ?? '(unknown pod)'}`
      : scalePath(spec.target);
  const body = `{"spec":{"replicas":<${next}, at most ${spec.max}>}}`;
  const text = `Dry run (no Kubernetes API here: ${why.message}): would GET ${where} and PATCH it with ${body} (application/merge-patch+json).`;
  await tell({ kind: 'scale-dry-run', text }, 'dry-run');
  return { status: 'dry-run', summary: text, data: { method: 'PATCH', path: where, body } };
}

/** The plan against the live objects: the workload's scale subresource and its HPA, read now. */
export async function livePlan(
  client: KubeClient,
  workload: WorkloadRef,
  job: ActionJob<ScaleActionSpec>,
): Promise<{ p: Plan; hpa: Hpa | undefined }> {
  const { spec } = job;
  const [scale, hpa] = await Promise.all([client.get<Scale>(scalePath(workload)), findHpa(client, workload)]);
  const p = plan({
    current: scale.spec.replicas ?? 0,
    step: spec.step,
    max: spec.max,
    cause: job.bundle?.findings.diagnosis?.cause,
    whenCause: spec.whenCause,
    hpa,
  });
  return { p, hpa };
}

/** Plans against the live objects and sends the PATCH with `dryRun=All`: the server validates, nothing changes. */
export async function dryRunScale(
  client: KubeClient,
  workload: WorkloadRef,
  job: ActionJob<ScaleActionSpec>,
  tell: (d: EventDetail, seq: string) => Promise<string[]>,
): Promise<ActionOutcome> {
  const w = workloadId(workload);
  const { p, hpa } = await livePlan(client, workload, job);
  if (!p.scale) {
    await tell({ kind: 'scale-skipped', text: `Dry run: ${p.reason}` }, 'dry-skip');
    return { status: 'dry-run', summary: `Dry run: ${p.reason}` };
  }
  const path = p.via === 'hpa-min' && hpa ? hpaPath(hpa) : scalePath(workload);
  const body = p.via === 'hpa-min' ? hpaPatch(p.to) : { spec: { replicas: p.to } };
  await client.patch(path, body, true);
  const text = `Dry run: would scale ${w} from ${p.from} to ${p.to}${p.via === 'hpa-min' ? " through its HPA's minReplicas" : ''} — PATCH ${path} ${JSON.stringify(body)} (validated by the API server with dryRun=All).`;
  await tell({ kind: 'scale-dry-run', text, from: p.from, to: p.to, workload: w }, 'dry-run');
  return {
    status: 'dry-run',
    summary: text,
    data: { method: 'PATCH', path, body: JSON.stringify(body), contentType: 'application/merge-patch+json' },
  };
}
