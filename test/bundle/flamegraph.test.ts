import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderFlamegraph, flameTree } from '../../src/bundle/flamegraph.ts';
import { onCpu, offCpu, HOSTILE } from './fixtures/results.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// Kept after the run (the screenshot is the test's artifact); the browser profile is removed.
const artifacts = mkdtempSync(join(tmpdir(), `tripline-test-artifacts-${process.pid}-flamegraph-`));
const profileDir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-chromium-`));
after(() => rmSync(profileDir, { recursive: true, force: true }));

const html = renderFlamegraph(`cpu-throttled: ${HOSTILE}`, [
  { name: 'profile', stacks: onCpu },
  { name: 'offcpu', stacks: offCpu },
]);
const page = join(artifacts, 'flamegraph.html');
writeFileSync(page, html);

test('the call tree merges stacks under comm, children heaviest first', () => {
  const t = flameTree(onCpu);
  assert.equal(t.v, 665);
  const main = t.c[0].c[0].c[0];
  assert.equal(main.n, 'main');
  assert.deepEqual(
    main.c.map((c) => [c.n, c.v]),
    [
      ['handle_request', 600],
      ['gc_collect', 60],
      [HOSTILE.replace(/[;\n]/g, '_'), 5],
    ],
  );
});

test('the page is self-contained: no external src/href, a CSP forbidding network, hostile names only escaped', () => {
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  assert.doesNotMatch(html, /<script[^>]+src/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  // The hostile name never appears raw: not in the title, not in the JSON.
  assert.equal(html.includes('</script><img'), false);
  assert.equal((html.match(/<\/script>/g) ?? []).length, 2);
  assert.match(html, /<title>cpu-throttled: &lt;\/script&gt;&lt;img/);
});

test('headless Chromium renders a screenshot of the page', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);
  const shot = join(artifacts, 'flamegraph.png');
  await promisify(execFile)(
    CHROMIUM,
    [...FLAGS, `--user-data-dir=${profileDir}`, '--window-size=1300,700', `--screenshot=${shot}`, `file://${page}`],
    { timeout: 100_000 },
  );
  assert.ok(statSync(shot).size > 5000, 'screenshot too small to hold a graph');
  console.log(`flame graph screenshot: ${shot}`);
});

test(
  'in Chromium, without network access, the SVG holds the frame names, search and zoom work',
  { timeout: 120_000 },
  async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    try {
      const ctx = await browser.newContext({ offline: true });
      const tab = await ctx.newPage();
      const requests: string[] = [];
      const dialogs: string[] = [];
      tab.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      tab.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`file://${page}`);
      const names = await tab.$$eval('#graph-0 svg g', (gs) => gs.map((g) => g.getAttribute('data-name')));
      for (const f of ['all', 'api', 'main', 'handle_request', 'json_parse', 'memcpy', 'gc_collect'])
        assert.ok(names.includes(f), `${f} missing from the SVG`);
      assert.ok(names.includes(HOSTILE.replace(/[;\n]/g, '_')), 'the hostile frame is shown as text');
      const offNames = await tab.$$eval('#graph-1 svg g', (gs) => gs.map((g) => g.getAttribute('data-name')));
      assert.ok(offNames.includes('futex_wait'));
      assert.equal(await tab.$$eval('img', (i) => i.length), 0, 'no element injected by a frame name');
      // Search highlights and reports the matched share.
      await tab.fill('#graph-0 input', 'json');
      assert.match((await tab.textContent('#graph-0 .info')) ?? '', /matched 90\.23% of all/);
      // Zoom into gc_collect: handle_request is no longer drawn.
      await tab.fill('#graph-0 input', '');
      await tab.click('#graph-0 svg g[data-name="gc_collect"]');
      const zoomed = await tab.$$eval('#graph-0 svg g', (gs) => gs.map((g) => g.getAttribute('data-name')));
      assert.ok(!zoomed.includes('handle_request') && zoomed.includes('gc_collect'));
      assert.deepEqual(errors, []);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(requests, []);
    } finally {
      await browser.close();
    }
  },
);
