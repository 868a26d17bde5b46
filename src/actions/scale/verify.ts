/**
 * Verification after a scale: watch whether the incident is still breaching for `verifyMs`, then report
 * "recovered" (it stopped breaching in the window) or "not recovered" into the incident's thread through the
 * queue. The probe is injected: the engine passes one that reads the rule's live series; the default reads the
 * resolved marker that the scale action records when the incident's `resolved` event reaches it.
 */
import type { EventDetail } from '../types.ts';

/** True while the incident still breaches its threshold. */
export type Probe = () => Promise<boolean>;

/** What a verification needs. */
export interface VerifyInput {
  readonly probe: Probe;
  readonly verifyMs: number;
  /** What was scaled, for the message: `Deployment/shop/web 2 → 3`. */
  readonly change: string;
  /** Emits the result (the scale action passes ctx.notify('verified', …)). */
  readonly report: (detail: EventDetail) => Promise<unknown>;
  readonly signal?: AbortSignal;
  /** Time between probes. @defaultValue verifyMs / 20, between 1 s and 15 s */
  readonly everyMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

/** The verdict of a verification (also what was reported), or `aborted` when the engine stopped first. */
export type Verdict = 'recovered' | 'not-recovered' | 'aborted';

/** Polls the probe until it reports recovery or the window ends; reports the verdict; never throws. */
export async function verify(input: VerifyInput): Promise<Verdict> {
  const now = input.now ?? Date.now;
  const sleep = input.sleep ?? defaultSleep;
  const every = input.everyMs ?? Math.min(15_000, Math.max(1000, Math.floor(input.verifyMs / 20)));
  const start = now();
  const end = start + input.verifyMs;
  let errors = 0;
  for (;;) {
    if (input.signal?.aborted) return 'aborted';
    let breaching = true;
    try {
      breaching = await input.probe();
    } catch {
      errors += 1;
    }
    if (!breaching) {
      const after = Math.round((now() - start) / 1000);
      await input
        .report({ kind: 'recovered', text: `Recovered ${after}s after scaling ${input.change}.`, seconds: after })
        .catch(() => undefined);
      return 'recovered';
    }
    if (now() >= end) break;
    await sleep(Math.min(every, Math.max(0, end - now())), input.signal);
  }
  const mins = Math.round(input.verifyMs / 60_000);
  const text = `Not recovered ${mins >= 1 ? `${mins} min` : `${Math.round(input.verifyMs / 1000)}s`} after scaling ${input.change}: still breaching${errors ? ` (${errors} probe errors)` : ''}. Look at the bundle; the limit or the node may be the problem.`;
  await input
    .report({ kind: 'not-recovered', text, seconds: Math.round(input.verifyMs / 1000) })
    .catch(() => undefined);
  return 'not-recovered';
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
