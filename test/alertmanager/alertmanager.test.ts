// Alertmanager both ways, with the real Alertmanager 0.25 and amtool: an alert naming a pod of this node captures its
// container's cgroup and posts the bundle to the Slack stand-in; an alert naming another node's pod captures nothing;
// repeats are dropped. tripline's own incidents show in `amtool alert query` while firing and leave after they
// resolve; a silence stops the notifications of the one it matches.
import assert from 'node:assert/strict';
import { kernelTest } from '../support/kernel.ts';
import { alertmanagerMissing, amtool, Recorder } from '../support/alertmanager.ts';
import { AmWorld, CHANNEL, NODE, RULE, until } from './harness.ts';

kernelTest(
  'alertmanager: amtool alert of a pod here → capture posted to Slack, another node’s → none; incidents in amtool alert query until resolved; silences hold',
  async () => {
    const missing = alertmanagerMissing();
    if (missing) throw new Error(missing);
    const w = new AmWorld();
    const recorder = await new Recorder().start();
    let ok = false;
    try {
      const a = w.pod('web-a'); // no quota: tripline's rule stays quiet on it, the alert's capture is its own
      const b = w.pod('web-b', NODE, 0.1);
      const c = w.pod('web-c', NODE, 0.1);
      w.pod('far-a', 'node-2'); // another node's pod: no cgroup here
      for (const p of [a, b, c]) w.load(p);
      await w.start();
      const am = await w.startAm(`${recorder.url}/notify`);
      // web-b's notifications are silenced in Alertmanager before tripline's incident for it exists.
      await amtool(am.url, 'silence', 'add', 'pod=web-b', `alertname=${RULE}`, '-c', 'test', '-d', '1h');

      await amtool(
        am.url,
        'alert',
        'add',
        'alertname=PodSlow',
        'to=tripline',
        'namespace=shop',
        'pod=web-a',
        'container=app',
        'severity=critical',
        '--annotation=summary=web-a answers slowly',
      );
      await amtool(am.url, 'alert', 'add', 'alertname=PodSlow', 'to=tripline', 'namespace=shop', 'pod=far-a');

      // The pod here: its container's cgroup captured, the incident recorded with its bundle, posted to Slack.
      const rec = await until(
        'the alert’s incident with its bundle',
        45_000,
        async () => ((await w.get('/api/incidents')).incidents as any[]).find((r) => r.rule === 'podslow' && r.bundle),
        () => w.engineLog().slice(-3000),
      );
      assert.equal(rec.incident.target.cgroupId, a.cg.id);
      assert.equal(rec.incident.labels.pod, 'web-a');
      assert.equal(rec.incident.severity, 'critical');
      const upload = await until(
        'the bundle in Slack',
        30_000,
        () => [...w.slack.files.values()].find((f) => f.name === `${rec.bundle.id}.tar.gz` && f.threadTs),
        () => JSON.stringify([...w.slack.files.values()]),
      );
      const parent = w.slack.messages.find((m) => m.ts === upload!.threadTs);
      assert.ok(parent && parent.channel === CHANNEL, 'uploaded into the thread of the alert’s message');
      assert.match(parent.text, /podslow/);

      // The other node's pod: no capture; counted.
      const metrics: string = await until('the other-host alert counted', 20_000, async () => {
        const m = (await w.get('/metrics')) as string;
        return /tripline_alertmanager_alerts_received_total\{outcome="other_host"\} [1-9]/.test(m) ? m : '';
      });
      assert.match(metrics, /tripline_alertmanager_alerts_received_total\{outcome="captured"\} 1\b/);
      const podslow = ((await w.get('/api/incidents')).incidents as any[]).filter((r) => r.rule === 'podslow');
      assert.equal(podslow.length, 1, JSON.stringify(podslow.map((r) => r.incident.labels)));

      // tripline's incidents of web-b and web-c are in Alertmanager; web-b's is silenced (not active).
      const active = await until('web-c’s incident active in Alertmanager', 45_000, async () => {
        const out = await amtool(am.url, 'alert', 'query', `alertname=${RULE}`, '-o', 'json');
        const list = JSON.parse(out) as { labels: Record<string, string>; annotations: Record<string, string> }[];
        return list.some((x) => x.labels.pod === 'web-c') ? list : undefined;
      });
      if (!active) throw new Error('unreachable');
      const cAlert = active.find((x) => x.labels.pod === 'web-c')!;
      assert.equal(cAlert.labels.host, NODE);
      assert.equal(cAlert.labels.namespace, 'shop');
      assert.equal(cAlert.labels.severity, 'warning');
      assert.match(cAlert.annotations.summary, /throttled/);
      assert.ok(!active.some((x) => x.labels.pod === 'web-b'), 'the silenced one is not active');
      const silenced = await until('web-b’s incident silenced in Alertmanager', 30_000, async () => {
        const out = await amtool(
          am.url,
          'alert',
          'query',
          '--silenced',
          `alertname=${RULE}`,
          'pod=web-b',
          '-o',
          'json',
        );
        return (JSON.parse(out) as unknown[]).length > 0;
      });
      assert.ok(silenced);
      await until('a notification of web-c', 20_000, () =>
        recorder.bodies.some((b) => JSON.stringify(b.body).includes('"pod":"web-c"')),
      );

      // web-c's load stops: its incident resolves and leaves Alertmanager's active alerts; the recorder hears it.
      w.unload(c);
      await until('web-c’s alert gone from amtool alert query', 60_000, async () => {
        const out = await amtool(am.url, 'alert', 'query', `alertname=${RULE}`, 'pod=web-c', '-o', 'json');
        return (JSON.parse(out) as unknown[]).length === 0;
      });
      await until('the resolved notification of web-c', 20_000, () =>
        recorder.bodies.some(
          (b) => (b.body as { status?: string })?.status === 'resolved' && JSON.stringify(b.body).includes('web-c'),
        ),
      );
      assert.ok(
        !recorder.bodies.some((b) => JSON.stringify(b.body).includes('"pod":"web-b"')),
        'no notification of the silenced incident',
      );
      ok = true;
    } finally {
      await recorder.stop();
      await w.close(!ok);
      if (!ok) console.error(`kept ${w.dir}`);
    }
  },
  { timeout: 180_000 },
);
