import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { TriplineError } from '../../src/errors.ts';
import type { Incident } from '../../src/incident.ts';
import { IncidentPipeline } from '../../src/pipeline/incident-pipeline.ts';
import type { IncidentReport } from '../../src/pipeline/events.ts';
import { ruleActionsHash } from '../../src/rules/actions-hash.ts';
import { makeIncident, recordingLogger } from '../actions/fixtures/incident.ts';
import { rule } from '../support/rule-fixtures.ts';
import { CGROUP_ID, SCRIPTED_HOST, ScriptedEngine, throttleRule, waitFor } from '../support/scripted-engine.ts';

test('engine on scripted counters: a trip is captured by the deep probe, bundled, and its action job runs with the bundle', async () => {
  const w = new ScriptedEngine();
  try {
    w.writeRule('a.yaml', throttleRule('a'));
    await w.start();
    w.hot = true;
    await waitFor('the firing action', 10_000, () => w.executed.length >= 1);
    const firing = w.incidents.find((i) => i.status === 'firing');
    assert.ok(firing);
    assert.equal(firing.key, `a{cgroup_id="${CGROUP_ID}",host="${SCRIPTED_HOST}"}`);
    assert.equal(firing.target.cgroupId, CGROUP_ID);
    assert.deepEqual(
      w.captures.map((c) => c.phase),
      ['started', 'attached', 'finished'],
    );
    assert.equal(w.probe.targets[0].cgroupId, BigInt(CGROUP_ID));
    const job = w.executed[0];
    assert.equal(job.event, 'firing');
    assert.equal(job.incident.id, firing.id);
    const finished = w.captures[2];
    assert.ok(finished.phase === 'finished');
    assert.equal(job.bundle?.id, finished.id);
    assert.ok(existsSync(finished.dir), 'the bundle is on disk');
    await waitFor('the settled event', 5000, () => w.actions.length >= 1);
    const rec = w.engine!.incidents.get(firing.id)!;
    assert.equal(rec.capture, 'done');
    assert.equal(rec.bundle?.id, finished.id);
    assert.deepEqual(Object.values(rec.actions), ['completed: recorded firing']);
  } finally {
    await w.stop();
  }
});

test('engine on scripted counters: a resolve during the capture is delivered after the firing job', async () => {
  const w = new ScriptedEngine();
  const order: string[] = [];
  try {
    // A long capture: the series resolves while it runs, and its resolve must wait for the firing job.
    w.writeRule('a.yaml', throttleRule('a', { captureMs: 3000 }));
    const engine = await w.start();
    engine.on('incident', (i) => {
      order.push(`incident ${i.status}`);
      if (i.status === 'firing') w.hot = false;
    });
    engine.on('capture', (c) => order.push(`capture ${c.phase}`));
    w.hot = true;
    await waitFor('both action jobs', 10_000, () => w.executed.length >= 2);
    assert.deepEqual(
      w.executed.map((j) => j.event),
      ['firing', 'resolved'],
    );
    assert.equal(w.executed[0].incident.id, w.executed[1].incident.id);
    assert.ok(w.executed[0].bundle, 'the firing job carries the bundle');
    assert.ok(
      order.indexOf('incident resolved') < order.indexOf('capture finished'),
      `the resolve came during the capture: ${order.join(', ')}`,
    );
  } finally {
    await w.stop();
  }
});

test('engine on scripted counters: a reload that removes a firing rule resolves its incident with that rule’s actions', async () => {
  const w = new ScriptedEngine();
  try {
    w.writeRule('a.yaml', throttleRule('a'));
    const engine = await w.start();
    w.hot = true;
    await waitFor('the firing action', 10_000, () => w.executed.length >= 1);
    rmSync(`${w.rulesDir}/a.yaml`);
    w.writeRule('b.yaml', throttleRule('b', { signal: 'cpu_periods' }));
    assert.equal(engine.reload(), true);
    assert.deepEqual(w.reloads, [{ ok: true, changed: true, reason: 'signal', error: undefined }]);
    await waitFor('the resolve action', 10_000, () => w.executed.length >= 2);
    const resolved = w.executed[1];
    assert.equal(resolved.event, 'resolved');
    assert.equal(resolved.incident.rule, 'a');
    assert.equal(resolved.incident.status, 'resolved');
    assert.equal(resolved.incident.id, w.executed[0].incident.id);
    // The series keeps climbing, but rule a is gone: nothing fires again.
    await w.family.afterReads(5);
    assert.equal(w.incidents.filter((i) => i.status === 'firing').length, 1);
  } finally {
    await w.stop();
  }
});

const logRule = rule({
  name: 'kill-test',
  actions: [{ type: 'log' }],
  capture: { probes: ['offcpu'], durationMs: 1000, options: {} },
});

test('pipeline: a failed capture is reported and the actions are dispatched without a bundle', async () => {
  const reports: IncidentReport[] = [];
  const capture = Object.assign(new EventEmitter(), {
    capture: () =>
      Promise.reject(new TriplineError('CAPTURE_ERR_BUSY', '2 captures running, the cap is 2', { hint: 'raise it' })),
  });
  const p = new IncidentPipeline({
    log: recordingLogger() as never,
    outlet: (r) => void reports.push(r),
    capture: capture as never,
    captureDurationMs: 1000,
    ruleOf: (n) => (n === logRule.name ? logRule : undefined),
  });
  const inc = makeIncident('kill-test', { pod: 'web-1' });
  p.handle(inc);
  await p.drain(5000);
  assert.deepEqual(
    reports.map((r) => [r.capture, r.dispatch]),
    [
      ['running', undefined],
      ['failed', 'firing'],
    ],
  );
  assert.equal(reports[1].bundle, undefined);
  assert.match(reports[1].captureError ?? '', /CAPTURE_ERR_BUSY/);
  assert.equal(reports[1].ruleHash, ruleActionsHash(logRule), 'the rule version the actions are rebuilt from');
});

test('pipeline: an incident of an unknown rule is reported but not dispatched; the events reach the listeners', async () => {
  const reports: IncidentReport[] = [];
  const seen: Incident[] = [];
  const p = new IncidentPipeline({
    log: recordingLogger() as never,
    outlet: (r) => void reports.push(r),
    captureDurationMs: 1000,
    ruleOf: () => undefined,
    on: { incident: (i) => seen.push(i) },
  });
  p.handle(makeIncident('gone', { pod: 'web-1' }));
  await p.drain(1000);
  assert.equal(seen.length, 1);
  assert.deepEqual(
    reports.map((r) => [r.capture, r.dispatch]),
    [['none', undefined]],
  );
  assert.equal(p.inFlight, 0);
});

test('pipeline: a trip and its resolve tell the capture side (the offender watch list), even when the capture fails', async () => {
  const resolved: string[] = [];
  const fired: string[] = [];
  const capture = Object.assign(new EventEmitter(), {
    capture: () => Promise.reject(new TriplineError('CAPTURE_ERR_BUSY', 'busy')),
    fired: (i: Incident) => void fired.push(i.key),
    resolved: (key: string) => void resolved.push(key),
  });
  const p = new IncidentPipeline({
    log: recordingLogger() as never,
    outlet: () => {},
    capture: capture as never,
    captureDurationMs: 1000,
    ruleOf: (n) => (n === logRule.name ? logRule : undefined),
  });
  const inc = makeIncident('kill-test', { pod: 'web-1' });
  p.handle(inc);
  await p.drain(5000);
  assert.deepEqual(fired, [inc.key]);
  assert.deepEqual(resolved, [], 'not while it fires');
  p.handle({ ...inc, status: 'resolved', resolvedAt: '2023-11-14T22:20:00.000Z' });
  await p.drain(5000);
  assert.deepEqual(resolved, [inc.key]);
});
