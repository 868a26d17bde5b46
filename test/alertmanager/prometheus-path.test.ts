// Prometheus → Alertmanager → tripline, all real (Prometheus 2.42, Alertmanager 0.25): a Prometheus alerting rule on
// tripline's own metrics (the throttled ratio of a cgroup the test throttles) fires through Alertmanager to
// tripline's webhook; the alert joins tripline's own incident of that cgroup, a bundle of the cgroup is written and
// posted into that incident's Slack thread, and the alert resolving ends the alert's incident.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { kernelTest } from '../support/kernel.ts';
import { alertmanagerMissing, Recorder } from '../support/alertmanager.ts';
import { PROMETHEUS_BIN, startPrometheus } from '../support/prom-server.ts';
import { AmWorld, NODE, RULE, until } from './harness.ts';

kernelTest(
  'prometheus → alertmanager → tripline: a throttled-ratio alert captures the cgroup, joins tripline’s incident, posts to Slack; its resolve ends it',
  async () => {
    const missing = alertmanagerMissing() ?? (existsSync(PROMETHEUS_BIN) ? undefined : `${PROMETHEUS_BIN} is missing`);
    if (missing) throw new Error(missing);
    const w = new AmWorld();
    const recorder = await new Recorder().start();
    let ok = false;
    try {
      const cg = w.plain('throttled', 0.1);
      w.load(cg);
      await w.start();
      await w.startAm(`${recorder.url}/notify`);
      // tripline's own incident of the cgroup fires first (its rule: throttled in over 20% of periods for 3 s).
      const own = await until(
        'tripline’s own incident of the cgroup, with its bundle',
        30_000,
        async () =>
          ((await w.get('/api/incidents')).incidents as any[]).find(
            (r) => r.rule === RULE && r.incident.target.cgroupId === cg.cg.id && r.bundle,
          ),
        () => w.engineLog().slice(-2000),
      );
      const thread = await until('the Slack thread of tripline’s incident', 30_000, () =>
        [...w.slack.files.values()].find((f) => f.name === `${own.bundle.id}.tar.gz` && f.threadTs),
      );
      const prom = await startPrometheus(
        `global: {scrape_interval: 1s, evaluation_interval: 1s}
alerting:
  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:${w.amPort}']}]}]
rule_files: [rules.yml]
scrape_configs:
  - job_name: tripline
    static_configs: [{targets: ['127.0.0.1:${w.engine!.address!.port}'], labels: {node: '${NODE}'}}]
`,
        {
          'rules.yml': `groups:
  - name: tripline-test
    rules:
      - alert: CgroupThrottled
        expr: >-
          rate(tripline_cpu_throttled_periods_total{cgroup="${cg.cg.path}"}[5s])
          / rate(tripline_cpu_periods_total{cgroup="${cg.cg.path}"}[5s]) > 0.2
        labels: {to: tripline, severity: warning}
        annotations: {summary: 'cgroup {{ $labels.cgroup }} throttled'}
`,
        },
      );
      try {
        // The alert's capture: its own incident (rule cgroupthrottled) under tripline's incident key, with a bundle
        // of the cgroup, uploaded into the thread of tripline's incident.
        const alert = await until(
          'the alert’s incident with a bundle',
          60_000,
          async () =>
            ((await w.get('/api/incidents')).incidents as any[]).find((r) => r.rule === 'cgroupthrottled' && r.bundle),
          () => w.engineLog().slice(-3000),
        );
        assert.equal(alert.incident.target.cgroupId, cg.cg.id);
        assert.equal(alert.incident.target.cgroupPath, cg.cg.path);
        assert.equal(alert.key, own.key, 'joined with tripline’s own incident');
        assert.notEqual(alert.bundle.id, own.bundle.id, 'a capture of its own, after tripline’s');
        assert.equal(alert.incident.labels.requested_by, 'alertmanager');
        await until(
          'the alert’s bundle in the thread of tripline’s incident',
          30_000,
          () =>
            [...w.slack.files.values()].some(
              (f) => f.name === `${alert.bundle.id}.tar.gz` && f.threadTs === thread!.threadTs,
            ),
          () => JSON.stringify([...w.slack.files.values()]),
        );
        // The load stops: Prometheus resolves the alert, Alertmanager sends the resolve, the alert's incident ends.
        w.unload(cg);
        await until(
          'the alert’s incident resolved',
          90_000,
          async () => (await w.get(`/api/incidents/${encodeURIComponent(alert.id)}`)).status === 'resolved',
          () => w.engineLog().slice(-2000),
        );
        ok = true;
      } finally {
        await prom.stop();
      }
    } finally {
      await recorder.stop();
      await w.close(!ok);
      if (!ok) console.error(`kept ${w.dir}`);
    }
  },
  { timeout: 240_000 },
);
