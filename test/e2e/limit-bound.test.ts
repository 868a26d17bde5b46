// End to end, limit-bound: a pod's container cgroup throttled by its own CPU quota (0.2 cores, two busy loops)
// trips the bundled cpu-throttling rule on the real kernel; the real engine captures a bundle diagnosed
// limit-bound, posts to the local Slack server with the bundle in the thread, scales the pod's Deployment once
// (2 → 3) on the local Kubernetes server; after the load stops the incident resolves, the verification says
// recovered in the thread and the parent message is updated. Prints the time from the first over-threshold
// tick to the Slack delivery.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import { apiGet } from '../support/api.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { RULE, waitFor, withWorld } from './support.ts';

const NS = 'shop';
const DEPLOY = 'web';
const SCALE_PATH = `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}/scale`;

kernelTest(
  'e2e limit-bound: throttled pod → bundle (limit-bound) → Slack + one scale PATCH → resolved, verified recovered',
  (t) =>
    withWorld(t, async (w) => {
      const uid = w.deployment(NS, DEPLOY, 2);
      const pod = w.podCgroup(uid, 0.2);
      // The pod's names come from the network side's pod cache (list + watch of node-1's pods on the stand-in): the
      // kubelet reports the container's id, the cache sends the snapshot, the engine's pod directory takes it.
      const podName = [...w.kube.pods.values()].find((p) => p.metadata.uid === uid)!.metadata.name;
      w.kube.modifyPod(NS, podName, (p) => {
        p.status.containerStatuses = [{ name: 'app', containerID: `containerd://${pod.containerId}` }];
      });
      await waitFor(
        "the pod in the engine's pod directory, with its Deployment",
        30_000,
        () => {
          const known = w.engine!.pods.pod(uid);
          return known?.workload?.kind === 'Deployment' && known.containers.some((c) => c.id === pod.containerId)
            ? known
            : undefined;
        },
        () => w.describe(),
      );
      w.watch(pod.cg.id);
      w.busy(pod.cg, 'e2e-app-worker');
      w.busy(pod.cg, 'e2e-app-worker');
      const state = (): string => w.describe();

      // The rule needs its 30 s window and 30 s `for`; the box leaves room for a loaded machine.
      const fired = await waitFor(
        'the incident of the throttled pod',
        200_000,
        () => w.incidents.find((i) => i.rule === RULE && i.status === 'firing' && i.labels.pod_uid === uid),
        state,
      );
      assert.equal(fired.target.containerId, pod.containerId);
      assert.deepEqual(fired.target.pod, { uid, qos: 'burstable', name: podName, namespace: NS });
      assert.equal(fired.target.container, 'app');
      assert.equal(fired.target.workload, `Deployment/${DEPLOY}`);

      // The bundle: written, valid against its schema, diagnosed limit-bound.
      const rec = await waitFor(
        'the capture',
        60_000,
        () => {
          const r = w.engine!.incidents.get(fired.id);
          return r && (r.capture === 'done' || r.capture === 'failed') ? r : undefined;
        },
        state,
      );
      assert.equal(rec.capture, 'done', rec.captureError ?? '');
      assert.ok(
        rec.bundle && existsSync(join(rec.bundle.dir, 'manifest.json')),
        `no manifest.json in ${rec.bundle?.dir}`,
      );
      const check = await validateBundle(rec.bundle.dir);
      assert.deepEqual(check.problems, []);
      assert.equal(
        check.findings?.diagnosis?.cause,
        'limit-bound',
        check.findings?.diagnosis?.summary ?? 'no diagnosis',
      );
      assert.equal(rec.diagnosis?.cause, 'limit-bound');
      const tm = check.manifest!.timings;
      t.diagnostic(
        `bundle ${rec.bundle!.id}: partial ${check.manifest!.partial}${check.manifest!.partial_reason ? ` (${check.manifest!.partial_reason})` : ''}, attached ${tm.trip_to_attach_ms} ms after the trip, captured ${((Date.parse(tm.detached_at) - Date.parse(tm.attached_at)) / 1000).toFixed(1)} s; ${check.findings?.diagnosis?.summary}`,
      );

      // Slack: the message, and the bundle uploaded into its thread; the scale result as a reply.
      const scaled = await waitFor(
        'the scale action and its Slack note',
        60_000,
        () => {
          const s = w.settled(fired.key, 'scale', 'firing')[0];
          return s &&
            w.settled(fired.key, 'slack', 'scaled').length > 0 &&
            w.settled(fired.key, 'slack', 'firing').length > 0
            ? s
            : undefined;
        },
        state,
      );
      assert.equal(scaled.state, 'completed', scaled.state === 'failed' ? scaled.reason : '');
      for (const s of w.settled(fired.key, 'slack'))
        assert.equal(s.state, 'completed', s.state === 'failed' ? s.reason : '');
      const parent = w.slack
        .parents()
        .find((m) =>
          w.slack.replies(m.ts).some((r) => /Scaled Deployment\/shop\/web from 2 to 3/.test(JSON.stringify(r))),
        );
      assert.ok(parent, `no Slack thread with the scale reply: ${JSON.stringify(w.slack.messages.map((m) => m.text))}`);
      assert.equal(parent.channel, '#e2e-incidents');
      assert.ok(
        JSON.stringify(parent.blocks).includes(`${NS}/${podName} (Deployment ${NS}/${DEPLOY}), container app`),
        JSON.stringify(parent.blocks),
      );
      const upload = [...w.slack.files.values()].find((f) => f.name === `${rec.bundle!.id}.tar.gz`);
      assert.ok(upload, `bundle ${rec.bundle.id} not uploaded: ${JSON.stringify([...w.slack.files.values()])}`);
      assert.equal(upload.threadTs, parent.ts);
      assert.ok(upload.completions >= 1 && upload.received === upload.length && upload.length > 0);

      // Kubernetes: exactly one real (not dry-run) PATCH, on the Deployment's scale subresource, 2 → 3.
      const patches = w.kube.patches();
      assert.equal(patches.length, 1, JSON.stringify(patches));
      assert.equal(patches[0].path, SCALE_PATH);
      assert.equal(patches[0].query.dryRun, undefined);
      assert.deepEqual(patches[0].body, { spec: { replicas: 3 } });
      assert.equal(w.kube.replicas.get(`deployments/${NS}/${DEPLOY}`), 3);

      // The API lists it, with its bundle and diagnosis.
      const listed = (await (await apiGet(w.api, '/api/incidents', w.dataDir)).json()) as {
        incidents: { id: string; bundle?: { dir: string }; diagnosis?: { cause: string } }[];
      };
      const mine = listed.incidents.find((i) => i.id === fired.id);
      assert.ok(mine, `incident ${fired.id} not in /api/incidents`);
      assert.equal(mine.bundle?.dir, rec.bundle.dir);
      assert.equal(mine.diagnosis?.cause, 'limit-bound');

      // Time from the first over-threshold tick to the Slack delivery of the message.
      const firstOver = w.firstOver.get(pod.cg.id);
      assert.ok(firstOver !== undefined, 'no tick showed the pod over its threshold');
      // The group's message may predate this incident (another throttled cgroup on the host): delivery is the
      // first post or update of a parent message that shows this pod.
      const delivery = w.slack.requests.find(
        (r) =>
          (r.method === 'chat.postMessage' || r.method === 'chat.update') &&
          r.params.thread_ts === undefined &&
          JSON.stringify(r.params).includes(uid),
      );
      assert.ok(delivery, 'no Slack message showed the pod');
      const delivered = delivery.at;
      assert.ok(delivered > firstOver);
      t.diagnostic(
        `first over-threshold tick → Slack message: ${((delivered - firstOver) / 1000).toFixed(1)} s (fired ${((Date.parse(fired.firedAt) - firstOver) / 1000).toFixed(1)} s after it)`,
      );
      console.log(
        `e2e limit-bound: first over-threshold delay → Slack delivery ${((delivered - firstOver) / 1000).toFixed(1)} s`,
      );

      // Stop the load: the incident resolves, the verification says recovered, the parent is updated.
      const updatesBefore = w.slack.calls('chat.update').filter((r) => r.params.ts === parent.ts).length;
      w.stopLoad();
      await waitFor(
        'the resolve',
        200_000,
        () => w.incidents.find((i) => i.key === fired.key && i.status === 'resolved'),
        state,
      );
      const verified = await waitFor(
        'the verification note',
        120_000,
        () => w.settled(fired.key, 'slack', 'verified')[0],
        state,
      );
      assert.equal(verified.state, 'completed', verified.state === 'failed' ? verified.reason : '');
      assert.equal(verified.job.detail?.kind, 'recovered', JSON.stringify(verified.job.detail));
      // The verdict comes from the rule's signal re-read for the scaled workload's series, before and after.
      assert.match(String(verified.job.detail?.text), /was [\d.e-]+ before scaling, [\d.e-]+ now \(trips above/);
      assert.ok(
        Number(verified.job.detail?.before) > Number(verified.job.detail?.after),
        JSON.stringify(verified.job.detail),
      );
      const replies = w.slack.replies(parent.ts).map((r) => JSON.stringify([r.text, r.blocks]));
      assert.ok(
        replies.some((r) => /recovered/i.test(r) && !/not recovered/i.test(r)),
        `no "recovered" reply: ${replies.join('\n')}`,
      );
      await waitFor(
        'the update of the parent',
        30_000,
        () => w.slack.calls('chat.update').filter((r) => r.params.ts === parent.ts).length > updatesBefore,
        state,
      );
      assert.ok(parent.updates > 0);
      assert.equal(w.kube.patches().length, 1, 'the resolve must not scale again');
    }),
  { timeout: 360_000 },
);
