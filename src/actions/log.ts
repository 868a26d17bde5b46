/** The log action: one structured line per incident event, through the engine's logger. No side effects elsewhere. */
import { z } from 'zod';
import type { Action, ActionContext, ActionJob, ActionOutcome } from './types.ts';

/** `{type: log}`: no options. */
export const logSpec = z.strictObject({ type: z.literal('log') });

/** A log action as loaded. */
export type LogActionSpec = Readonly<z.output<typeof logSpec>>;

/** Writes one `action=log` line carrying the incident's key, state, value vs threshold and bundle id. */
export const logAction: Action<LogActionSpec> = {
  type: 'log',
  spec: logSpec,
  doc: {
    summary: "Writes one structured line per incident event (firing, update, resolved, ...) to the engine's log.",
  },
  async execute(job: ActionJob<LogActionSpec>, ctx: ActionContext): Promise<ActionOutcome> {
    const i = job.incident;
    const line = {
      action: 'log',
      job: job.id,
      event: job.event,
      incident: i.id,
      key: i.key,
      rule: i.rule,
      severity: i.severity,
      status: i.status,
      value: i.value,
      threshold: i.threshold,
      unit: i.unit,
      host: i.host,
      labels: i.labels,
      bundle: job.bundle?.id ?? null,
      cause: job.bundle?.findings.diagnosis?.cause ?? null,
      detail: job.detail ?? null,
      test: i.test === true,
      dryRun: job.dryRun === true,
    };
    const summary = i.annotations.summary ?? `${i.rule} ${job.event}: ${i.value} ${i.unit} vs ${i.threshold}`;
    ctx.log.info(line, `${i.test ? '[test] ' : ''}${summary}`);
    return { status: 'delivered', summary: `logged ${job.event} of ${i.key}` };
  },
};
