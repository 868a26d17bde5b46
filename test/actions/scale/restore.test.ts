// The restore of a raised HPA minReplicas, through the real queues (BullMQ on a real Redis, the in-process queue
// with its state file) against the Kubernetes stand-in: after the incident resolved and restore_after passed; never
// over someone else's change; after the last of two incidents, to the original; once across a restart and two hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createScaleAction } from '../../../src/actions/scale/index.ts';
import type { ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import { openQueue } from '../../../src/actions/open-queue.ts';
import type { ActionQueue } from '../../../src/actions/queue.ts';
import { FileStore } from '../../../src/actions/store-file.ts';
import type { Action, ActionJob } from '../../../src/actions/types.ts';
import type { Incident } from '../../../src/incident.ts';
import { buildConfig } from '../../../src/config.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { recordingLogger, uniqueName } from '../fixtures/incident.ts';
import { bundle, incident, resolved } from '../slack/helpers.ts';
import { scaleSpecWith } from '../fixtures/scale.ts';

const kube = new FakeKube();
let redis: TestRedis;
const open: ActionQueue[] = [];

before(async () => {
  await kube.start();
  redis = await startRedis();
});
after(async () => {
  for (const q of open) await q.close(1000).catch(() => undefined);
  await kube.stop();
  await redis.stop();
});

/** What reached the incident's thread: the sibling jobs the scale action enqueued, as a Slack action gets them. */
interface Note {
  readonly key: string;
  readonly event: string;
  readonly kind: string;
  readonly text: string;
}
const notes: Note[] = [];
/** Jobs settled on any engine. */
const settled: { key: string; event: string; type: string }[] = [];
const thread: Action = {
  type: 'slack',
  spec: z.looseObject({ type: z.literal('slack') }),
  doc: { summary: 'records thread notes' },
  async execute(job: ActionJob) {
    notes.push({
      key: job.incident.key,
      event: job.event,
      kind: String(job.detail?.kind ?? ''),
      text: String(job.detail?.text ?? ''),
    });
    return { status: 'delivered', summary: 'noted' };
  },
};

function spec(over: Partial<ScaleActionSpec> = {}): ScaleActionSpec {
  return scaleSpecWith({ max: 10, whenCause: ['any'], restoreAfterMs: 400, ...over });
}

type Backend = { kind: 'redis'; prefix: string } | { kind: 'memory'; file: string };
const redisBackend = (): Backend => ({ kind: 'redis', prefix: uniqueName() });
const memoryBackend = (): Backend => ({
  kind: 'memory',
  file: join(mkdtempSync(join(tmpdir(), 'tripline-restore-')), 'action-store.json'),
});

/** One engine's queue (a new scale action instance each time, as after a restart). */
async function engine(b: Backend, name: string): Promise<ActionQueue> {
  const config = buildConfig(
    {
      kubernetes: { api_url: kube.url },
      actions: { attempts: 3, backoff: '100ms' },
      ...(b.kind === 'redis' ? { redis: { url: redis.url, prefix: b.prefix } } : {}),
    },
    {},
  );
  const q = await openQueue({
    config,
    log: recordingLogger(),
    name,
    registry: { slack: thread, scale: createScaleAction() },
    stalledIntervalMs: 1000,
    lockDurationMs: 2000,
    ...(b.kind === 'memory' ? { store: new FileStore(b.file) } : {}),
  });
  open.push(q);
  q.onSettled((x) => settled.push({ key: x.job.incident.key, event: x.job.event, type: x.job.spec.type }));
  await q.start();
  return q;
}

async function stop(q: ActionQueue): Promise<void> {
  open.splice(open.indexOf(q), 1);
  await q.close(1000);
}

let ns = 0;
/** A Deployment `web` (2 replicas, `pods` pods) with an HPA `web-hpa` (min 2, max 6) in a fresh namespace. */
function workload(pods = 1): { namespace: string; uids: string[] } {
  const namespace = `r${++ns}`;
  const uids = kube.addDeployment(namespace, 'web', 2, pods);
  kube.addHpa(namespace, 'web-hpa', 'web', 2, 6);
  return { namespace, uids };
}

const minOf = (namespace: string): number => kube.hpas.get(`${namespace}/web-hpa`)!.spec.minReplicas!;
const hpaPatches = (namespace: string): number[] =>
  kube
    .patches()
    .filter((p) => p.path.endsWith(`/namespaces/${namespace}/horizontalpodautoscalers/web-hpa`))
    .map((p) => p.body.spec.minReplicas);

function trip(namespace: string, uid: string, pod: string): Incident {
  return incident(pod, Date.now(), { target: { pod: { uid } }, labels: { namespace, pod } });
}

async function send(q: ActionQueue, event: 'firing' | 'resolved', inc: Incident, s: ScaleActionSpec): Promise<void> {
  await q.enqueue({
    event,
    incident: event === 'resolved' ? resolved(inc, Date.now()) : inc,
    bundle: bundle(),
    spec: s,
    index: 1,
    actions: [{ type: 'slack' }, s],
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const notesOf = (key: string, kind: string): Note[] => notes.filter((n) => n.key === key && n.kind === kind);

for (const make of [redisBackend, memoryBackend]) {
  const label = make().kind;

  test(`${label}: raise, resolve, and after restore_after the HPA floor is back, with a thread message`, async () => {
    const { namespace, uids } = workload();
    const q = await engine(make(), uniqueName());
    const a = trip(namespace, uids[0], 'web-1');
    await send(q, 'firing', a, spec());
    await until('the raise', () => minOf(namespace) === 3);
    const resolvedAt = Date.now();
    await send(q, 'resolved', a, spec());
    await until('the restore', () => minOf(namespace) === 2);
    assert.ok(Date.now() - resolvedAt >= 400, 'not before restore_after');
    await until('the thread message', () => notesOf(a.key, 'restored').length === 1);
    assert.match(
      notesOf(a.key, 'restored')[0].text,
      new RegExp(
        `Restored HorizontalPodAutoscaler ${namespace}/web-hpa minReplicas of Deployment/${namespace}/web from 3 to 2`,
      ),
    );
    assert.deepEqual(hpaPatches(namespace), [3, 2]);
    await stop(q);
  });

  test(`${label}: a floor someone changed meanwhile is left as it is, and the thread says so`, async () => {
    const { namespace, uids } = workload();
    const q = await engine(make(), uniqueName());
    const a = trip(namespace, uids[0], 'web-1');
    await send(q, 'firing', a, spec());
    await until('the raise', () => minOf(namespace) === 3);
    const h = kube.hpas.get(`${namespace}/web-hpa`)!;
    kube.hpas.set(`${namespace}/web-hpa`, { ...h, spec: { ...h.spec, minReplicas: 5 } });
    await send(q, 'resolved', a, spec());
    await until('the message', () => notesOf(a.key, 'restore-skipped').length === 1);
    assert.match(
      notesOf(a.key, 'restore-skipped')[0].text,
      /minReplicas is 5, not the 3 tripline set, so someone changed it meanwhile; left as is/,
    );
    assert.equal(minOf(namespace), 5);
    assert.deepEqual(hpaPatches(namespace), [3]);
    await stop(q);
  });

  test(`${label}: two incidents on one workload: restored after the last resolves, to the original floor`, async () => {
    const { namespace, uids } = workload(2);
    const q = await engine(make(), uniqueName());
    // A short cooldown: the second incident raises the floor again (3 → 4).
    const s = spec({ cooldownMs: 1 });
    const a = trip(namespace, uids[0], 'web-1');
    const b = trip(namespace, uids[1], 'web-2');
    await send(q, 'firing', a, s);
    await until('the first raise', () => minOf(namespace) === 3);
    await new Promise((r) => setTimeout(r, 10));
    await send(q, 'firing', b, s);
    await until('the second raise', () => minOf(namespace) === 4);
    await send(q, 'resolved', a, s);
    await until('the first restore job', () => notesOf(a.key, 'restore-waiting').length === 1);
    assert.match(
      notesOf(a.key, 'restore-waiting')[0].text,
      /1 incident on Deployment\/.*\/web still firing .*goes back to 2/,
    );
    assert.equal(minOf(namespace), 4, 'kept while the other incident fires');
    await send(q, 'resolved', b, s);
    await until('the restore', () => minOf(namespace) === 2);
    await until('the thread message', () => notesOf(b.key, 'restored').length === 1);
    assert.deepEqual(hpaPatches(namespace), [3, 4, 2]);
    await stop(q);
  });

  test(`${label}: a restart between the raise and the restore: restored once`, async () => {
    const { namespace, uids } = workload();
    const backend = make();
    const name = uniqueName();
    const first = await engine(backend, name);
    const a = trip(namespace, uids[0], 'web-1');
    const s = spec({ restoreAfterMs: 1500 });
    await send(first, 'firing', a, s);
    await until('the raise', () => minOf(namespace) === 3);
    await send(first, 'resolved', a, s);
    // The resolved job ran (it scheduled the restore), then the engine stops before the restore is due.
    await until('the resolution recorded', () =>
      settled.some((x) => x.key === a.key && x.event === 'resolved' && x.type === 'scale'),
    );
    await stop(first);
    assert.equal(minOf(namespace), 3);
    // Restarted (on Redis: two engines, as two hosts would): the restore still runs, once.
    const again = [await engine(backend, name)];
    if (backend.kind === 'redis') again.push(await engine(backend, name));
    await until('the restore', () => minOf(namespace) === 2);
    await until('the thread message', () => notesOf(a.key, 'restored').length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(hpaPatches(namespace), [3, 2]);
    assert.equal(notesOf(a.key, 'restored').length, 1);
    for (const q of again) await stop(q);
  });
}
