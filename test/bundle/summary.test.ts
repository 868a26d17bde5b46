import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSummary, plain, code, humanSeconds } from '../../src/bundle/summary.ts';
import { findings, HOSTILE } from './fixtures/results.ts';

const head = {
  id: '20260304T050607-cpu-throttled-0a1b2c3d',
  title: 'cpu-throttled: api throttled',
  partial: false,
  probes: [{ name: 'profile', status: 'ok', events: 665, dropped: 0 }],
  errors: [],
  redactions: ['sql literals'],
};

test('summary.md: headlines, neighbours, stacks, queries, shifts, probes, redactions', () => {
  const md = renderSummary(head, findings);
  assert.match(md, /^# cpu-throttled: api throttled\n/);
  assert.match(
    md,
    /^- runnable but waiting 38% of the time, preempted mostly by pid 4711 \\\(backup.sh\\\) in \/other$/m,
  );
  assert.match(md, /^- pid 4711 `backup.sh` in `\/other`: 57 delays, 1.90 s in total$/m);
  assert.match(md, /^- 420 samples \(63\.6%\) in `api`: `memcpy ← json_parse ← handle_request ← main ← _start`$/m);
  assert.match(
    md,
    /^- 1\.25 s \(76\.7%\) in `api` \[blocked\]: `futex_wait ← pthread_cond_wait ← wait_for_work ← main`$/m,
  );
  assert.match(md, /^- 201\.3 ms pid 812: `SELECT pg_sleep\(\?\)`$/m);
  assert.match(md, /^\| runq\\_delay\\_p99\\_seconds \| 0\.0008 \| 0\.024 \|$/m);
  assert.match(md, /^Redacted: sql literals\.$/m);
  assert.doesNotMatch(md, /Partial capture/);
});

test('summary.md: hostile text cannot open links, code spans or headings', () => {
  const evil = `x](https://evil.example) \`rm\` \n# owned ${HOSTILE}`;
  const md = renderSummary(
    { ...head, title: evil },
    { ...findings, headlines: [evil], topOnCpu: [{ frames: [evil], weight: 1, unit: 'samples', comm: evil }] },
  );
  // Outside code spans (where markdown is inert) every bracket is escaped.
  const outside = md.replace(/`[^`\n]*`/g, '');
  assert.doesNotMatch(outside, /(^|[^\\])\]\(/m);
  assert.doesNotMatch(outside, /(^|[^\\])</m);
  assert.doesNotMatch(md, /^# owned/m);
  assert.ok(!md.split('\n').some((l) => l.startsWith('- x]')), 'bracket escaped');
  assert.equal(plain('[a](b)'), '\\[a\\]\\(b\\)');
  assert.equal(code('a`b\nc'), "`a'b c`");
  assert.equal(humanSeconds(0.0000421), '42 µs');
});
