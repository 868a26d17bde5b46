// The network side on its own: incident reports recorded and dispatched with the rule version they name, a
// version it was never given refused, reports of one key kept in order, settled jobs in the incident log, /metrics
// made of the probe side's text and its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { NetworkSide, ruleActions } from '../../src/split/network-side.ts';
import { localSilences } from '../../src/rules/silence-service.ts';
import { Suppressor } from '../../src/rules/evaluate/suppress.ts';
import { logAction } from '../../src/actions/log.ts';
import type { Action, ActionJob } from '../../src/actions/types.ts';
import type { JobSettled } from '../../src/actions/queue.ts';
import { makeIncident, recordingLogger } from '../actions/fixtures/incident.ts';
import { rule } from '../support/rule-fixtures.ts';
import type { SignalReader, SignalReading } from '../../src/signal-read.ts';

const TOKEN = 'network-side-test-token-0123456789';

async function side(over: { slowMs?: number; readSignal?: SignalReader } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-net-'));
  const ran: ActionJob[] = [];
  const readings: SignalReading[] = [];
  const settled: JobSettled[] = [];
  const record: Action = {
    ...logAction,
    async execute(job, ctx) {
      if (over.slowMs && job.event === 'firing') await new Promise((r) => setTimeout(r, over.slowMs));
      ran.push(job);
      if (ctx.readSignal) readings.push(await ctx.readSignal({ rule: job.incident.rule, match: [{ pod: ['web-1'] }] }));
      return { status: 'delivered', summary: `ran ${job.event}` };
    },
  } as Action;
  const ns = new NetworkSide({
    config: buildConfig({ listen: '127.0.0.1:0', data_dir: dir }, {}),
    log: recordingLogger() as never,
    probe: {
      metrics: async () => ({
        text: '# TYPE tripline_probe_side gauge\ntripline_probe_side 1\n',
        contentType: 'text/plain',
      }),
      silences: localSilences(() => new Suppressor()),
      ...(over.readSignal ? { readSignal: over.readSignal } : {}),
    },
    apiToken: TOKEN,
    actions: { log: record },
    metricsRegistry: new Registry(),
    onSettled: (s) => settled.push(s),
  });
  const address = await ns.start();
  return {
    ns,
    ran,
    readings,
    settled,
    base: `http://127.0.0.1:${address.port}`,
    async stop() {
      await ns.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const r1 = rule({ name: 'r1', actions: [{ type: 'log' }] });
const [v1] = ruleActions([r1]);

test('a report with dispatch queues the actions of the rule version it names; the log shows the outcome', async () => {
  const s = await side();
  try {
    s.ns.setRules([v1]);
    const inc = makeIncident('r1', { pod: 'web-1' });
    await s.ns.record({ incident: inc, capture: 'running' });
    assert.equal(s.ns.incidents.get(inc.id)?.capture, 'running');
    await s.ns.record({
      incident: inc,
      capture: 'failed',
      captureError: 'busy',
      dispatch: 'firing',
      ruleHash: v1.hash,
    });
    for (let i = 0; i < 50 && s.settled.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.ran.length, 1);
    assert.deepEqual(s.ran[0].spec, { type: 'log' });
    const rec = s.ns.incidents.get(inc.id)!;
    assert.equal(rec.capture, 'failed');
    assert.deepEqual(Object.values(rec.actions), ['completed: ran firing']);
  } finally {
    await s.stop();
  }
});

test('a version this side was never given is refused; an old version is kept for incidents that fired under it', async () => {
  const s = await side();
  try {
    s.ns.setRules([v1]);
    const inc = makeIncident('r1', { pod: 'web-2' });
    await s.ns.record({ incident: inc, capture: 'none', dispatch: 'firing', ruleHash: 'feedfacefeedface' });
    assert.equal(s.ran.length, 0, 'no actions from a version nobody loaded');
    // A reload changes the rule: the incident that fired under v1 still resolves with v1's actions.
    const [v2] = ruleActions([rule({ name: 'r1', actions: [{ type: 'log' }, { type: 'log' }] })]);
    s.ns.setRules([v2]);
    await s.ns.record({
      incident: { ...inc, status: 'resolved' },
      capture: 'none',
      dispatch: 'resolved',
      ruleHash: v1.hash,
    });
    for (let i = 0; i < 50 && s.ran.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.ran.length, 1);
    assert.notEqual(v1.hash, v2.hash);
  } finally {
    await s.stop();
  }
});

test('reports of one key are handled in order: a resolve is never queued before its trip', async () => {
  const s = await side();
  try {
    s.ns.setRules([v1]);
    const inc = makeIncident('r1', { pod: 'web-3' });
    const a = s.ns.record({ incident: inc, capture: 'done', dispatch: 'firing', ruleHash: v1.hash });
    const b = s.ns.record({
      incident: { ...inc, status: 'resolved' },
      capture: 'none',
      dispatch: 'resolved',
      ruleHash: v1.hash,
    });
    await Promise.all([a, b]);
    for (let i = 0; i < 50 && s.ran.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      s.ran.map((j) => j.event),
      ['firing', 'resolved'],
    );
  } finally {
    await s.stop();
  }
});

test('/metrics is the probe side text followed by the network side metrics; /api needs the token', async () => {
  const s = await side();
  try {
    const text = await (await fetch(`${s.base}/metrics`)).text();
    assert.match(text, /^# TYPE tripline_probe_side gauge\ntripline_probe_side 1\n/);
    assert.match(text, /\ntripline_action_queue_depth{/);
    assert.equal((await fetch(`${s.base}/api/incidents`)).status, 401);
    const ok = await fetch(`${s.base}/api/incidents`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(await ok.json(), { incidents: [] });
    assert.equal((await fetch(`${s.base}/readyz`)).status, 503, 'not ready before the probe side says so');
    s.ns.setReady(true);
    assert.equal((await fetch(`${s.base}/readyz`)).status, 200);
  } finally {
    await s.stop();
  }
});

test("actions get the probe side's signal reader (the scale action's verification re-reads the rule through it)", async () => {
  const asked: unknown[] = [];
  const s = await side({
    readSignal: async (q) => {
      asked.push(q);
      return { found: true, matched: 0, series: 1, at: 1, leaves: [], breaching: false };
    },
  });
  try {
    s.ns.setRules([v1]);
    await s.ns.record({
      incident: makeIncident('r1', { pod: 'web-1' }),
      capture: 'none',
      dispatch: 'firing',
      ruleHash: v1.hash,
    });
    for (let i = 0; i < 50 && s.settled.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(asked, [{ rule: 'r1', match: [{ pod: ['web-1'] }] }]);
    assert.equal(s.readings[0].breaching, false);
  } finally {
    await s.stop();
  }
});
