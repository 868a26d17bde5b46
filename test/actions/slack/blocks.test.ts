import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderIncidentMessage, renderNoteReply } from '../../../src/actions/slack/blocks.ts';
import type { Block } from '../../../src/actions/slack/blocks.ts';
import { SLACK_LIMITS } from '../../../src/actions/slack/escape.ts';
import { bundle, incident, resolved } from './helpers.ts';
import type { Incident } from '../../../src/incident.ts';

const NOW = Date.parse('2026-11-25T14:00:00Z');

/** Every text string in a message, with the limit that applies to it. */
function texts(blocks: readonly Block[]): { text: string; limit: number; type: string }[] {
  const out: { text: string; limit: number; type: string }[] = [];
  for (const b of blocks) {
    const t = b.text as { text: string; type: string } | undefined;
    if (t)
      out.push({
        text: t.text,
        type: t.type,
        limit: b.type === 'header' ? SLACK_LIMITS.header : SLACK_LIMITS.sectionText,
      });
    for (const f of (b.fields as { text: string; type: string }[] | undefined) ?? [])
      out.push({ text: f.text, type: f.type, limit: SLACK_LIMITS.field });
    for (const e of (b.elements as { text: string; type: string }[] | undefined) ?? [])
      out.push({ text: e.text, type: e.type, limit: SLACK_LIMITS.contextText });
  }
  return out;
}

test('the incident message shows severity, rule, target, value vs threshold, duration, findings and diagnosis', () => {
  const m = renderIncidentMessage({ incidents: [incident('web-1', NOW - 10_000)], bundle: bundle(), now: NOW });
  const all = texts(m.blocks)
    .map((t) => t.text)
    .join('\n');
  assert.match(all, /CRITICAL cpu-throttling firing/);
  assert.match(all, /\*Host\*\n`node-a`/);
  assert.match(
    all,
    /\*Target\*\nshop\/web-1 \(Deployment shop\/web\), container app\ncgroup `\/kubepods\/burstable\/pod-web-1\/c1`/,
  );
  assert.match(all, /84% vs threshold 25%/);
  assert.match(all, /1m 10s/);
  assert.match(all, /Diagnosis:\* `limit-bound` throttled in 84% of CFS periods/);
  assert.match(all, /top on-CPU stack: json_encode \(41%\)/);
  assert.match(all, /captured bundle `20261125T140000-cpu-throttling-0badc0de`/);
  assert.match(
    m.text,
    /CRITICAL cpu-throttling firing on node-a for shop\/web-1 \(Deployment shop\/web\), container app:/,
  );
  assert.doesNotMatch(all, /Test incident/);
});

test('with a lead line, the message starts with the answer and what to do, right under its header', () => {
  const b = bundle();
  const lead = 'lock contention: 78% of off-CPU time in futex_wait ← hold_lock_and_work';
  const diagnosis = { ...b.findings.diagnosis!, cause: 'lock-contention' as const, lead, advice: 'shorten it' };
  const m = renderIncidentMessage({
    incidents: [incident('web-1', NOW - 10_000)],
    bundle: { ...b, findings: { ...b.findings, diagnosis, headlines: [lead, ...b.findings.headlines] } },
    now: NOW,
  });
  const t = texts(m.blocks).map((x) => x.text);
  assert.match(t[0], /cpu-throttling firing/, 'the header');
  assert.equal(t[1], `*${lead}*\n_What to do:_ shorten it`);
  assert.equal(t.filter((x) => x.includes('78% of off-CPU')).length, 1, 'not repeated among the findings');
});

test('a synthetic incident is marked as a test; a resolved one says so without a mention', () => {
  const t = renderIncidentMessage({
    incidents: [incident('web-1', NOW, { test: true })],
    now: NOW,
    mention: '<!here>',
  });
  assert.match(JSON.stringify(t.blocks), /\[TEST\] CRITICAL/);
  assert.match(JSON.stringify(t.blocks), /Test incident/);
  assert.match(JSON.stringify(t.blocks), /<!here>/, 'the operator-written mention passes');
  const r = renderIncidentMessage({
    incidents: [resolved(incident('web-1', NOW - 60_000), NOW)],
    now: NOW,
    mention: '<!here>',
  });
  assert.match(JSON.stringify(r.blocks), /cpu-throttling resolved/);
  assert.doesNotMatch(JSON.stringify(r.blocks), /<!here>/);
});

test('hostile incident text is escaped and every text stays within Slack limits', () => {
  const hostile = '<!channel> <@U123> *bold* <https://evil.example|click> ' + 'A'.repeat(10_000);
  const i = incident('web-1', NOW, {
    rule: 'cpu-throttling',
    host: hostile,
    labels: { pod: hostile, namespace: 'x'.repeat(10_000) },
    annotations: { summary: hostile },
    target: { pod: { uid: 'u', name: hostile, namespace: 'ns' }, cgroupPath: hostile },
  });
  const b = bundle();
  const evil = {
    ...b,
    id: hostile,
    findings: {
      ...b.findings,
      headlines: [hostile, hostile],
      diagnosis: { cause: 'limit-bound' as const, summary: hostile, evidence: {} },
    },
  };
  const m = renderIncidentMessage({
    incidents: [i, { ...i, key: 'k2', id: 'i2' }],
    bundle: evil,
    notes: [{ kind: 'scaled', text: hostile, at: 'now' }],
    now: NOW,
  });
  const json = JSON.stringify(m);
  assert.doesNotMatch(json, /<!channel>|<@U123>|<https:\/\/evil/);
  for (const t of texts(m.blocks)) {
    assert.ok(t.text.length <= t.limit, `${t.type} text of ${t.text.length} chars over ${t.limit}`);
    // Outside inline code (where Slack shows text literally) no formatting marker may pair up.
    if (t.type === 'mrkdwn')
      assert.doesNotMatch(
        t.text.replace(/`[^`]*`/g, ''),
        /\*bold\*/,
        `unescaped formatting in: ${t.text.slice(0, 80)}`,
      );
  }
  assert.ok(m.text.length <= SLACK_LIMITS.fallbackText);
  assert.ok(m.blocks.length <= SLACK_LIMITS.blocks);
});

test('a grouped message lists the series; suppressed repeats are counted', () => {
  const series = Array.from({ length: 14 }, (_, k) => incident(`web-${k}`, NOW));
  const m = renderIncidentMessage({ incidents: series, now: NOW, suppressed: { count: 17, windowMs: 600_000 } });
  const all = JSON.stringify(m.blocks);
  assert.match(all, /14 series/);
  assert.match(all, /and 4 more/);
  assert.match(all, /17 similar in the last 10m/);
});

test('a note reply escapes its text', () => {
  const r = renderNoteReply(incident('web-1', NOW), {
    kind: 'scale-skipped',
    text: 'not scaled <!channel>: contention',
    at: 'x',
  });
  assert.match(JSON.stringify(r.blocks), /not scaled &lt;!channel&gt;: contention/);
});

test('the target names what people search for; ids only when no names are known', () => {
  const at = (target: Incident['target']): string =>
    renderIncidentMessage({ incidents: [incident('web-1', NOW, { target })], now: NOW })
      .blocks.flatMap((b) => (b.fields as { text: string }[] | undefined) ?? [])
      .find((f) => f.text.startsWith('*Target*'))!.text;
  assert.equal(
    at({ pod: { uid: 'u1', name: 'web-7d9f-abcde', namespace: 'shop' }, workload: 'Deployment/web', container: 'app' }),
    '*Target*\nshop/web-7d9f-abcde (Deployment shop/web), container app',
  );
  assert.equal(
    at({ pod: { uid: 'u1' }, containerId: 'f'.repeat(64), cgroupPath: '/kubepods/podu1/x' }),
    '*Target*\npod uid `u1`\ncontainer id `ffffffffffff`\ncgroup `/kubepods/podu1/x`',
  );
  assert.equal(
    at({ workload: 'nginx.service', cgroupPath: '/system.slice/nginx.service' }),
    '*Target*\nnginx.service\ncgroup `/system.slice/nginx.service`',
  );
  assert.equal(at({}), '*Target*\nhost-wide on `node-a`');
  // Hostile names stay text (the schema bounds them; the renderer escapes them).
  assert.match(at({ pod: { uid: 'u', name: '<!channel>', namespace: 'a' } }), /a\/&lt;!channel&gt;/);
});
