import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../../src/actions/scale/verify.ts';
import type { EventDetail } from '../../../src/actions/types.ts';

function harness(breachingFor: number): {
  clock: { t: number };
  reports: EventDetail[];
  run: (verifyMs: number, signal?: AbortSignal) => ReturnType<typeof verify>;
} {
  const clock = { t: 0 };
  const reports: EventDetail[] = [];
  return {
    clock,
    reports,
    run: (verifyMs, signal) =>
      verify({
        verifyMs,
        change: 'Deployment/shop/web 2 → 3',
        signal,
        everyMs: 10_000,
        probe: async () => clock.t < breachingFor,
        report: async (d) => {
          reports.push(d);
        },
        sleep: async (ms) => {
          clock.t += ms;
        },
        now: () => clock.t,
      }),
  };
}

test('recovered when the probe stops breaching inside the window', async () => {
  const h = harness(25_000);
  assert.equal(await h.run(120_000), 'recovered');
  assert.equal(h.reports.length, 1);
  assert.equal(h.reports[0].kind, 'recovered');
  assert.match(String(h.reports[0].text), /Recovered 30s after scaling Deployment\/shop\/web 2 → 3/);
});

test('not recovered when it breaches the whole window; probe errors count as breaching', async () => {
  const h = harness(Infinity);
  assert.equal(await h.run(120_000), 'not-recovered');
  assert.equal(h.clock.t, 120_000, 'watched the whole window, not longer');
  assert.match(String(h.reports[0].text), /Not recovered 2 min after scaling/);
  const errs: EventDetail[] = [];
  let t = 0;
  const v = await verify({
    verifyMs: 20_000,
    change: 'x',
    everyMs: 5000,
    probe: async () => {
      throw new Error('no data');
    },
    report: async (d) => {
      errs.push(d);
    },
    sleep: async (ms) => {
      t += ms;
    },
    now: () => t,
  });
  assert.equal(v, 'not-recovered');
  assert.match(String(errs[0].text), /probe errors/);
});

test('aborted when the engine stops: nothing reported', async () => {
  const h = harness(Infinity);
  const ac = new AbortController();
  ac.abort();
  assert.equal(await h.run(60_000, ac.signal), 'aborted');
  assert.equal(h.reports.length, 0);
});
