import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { writeBundle, bundleId, type BundleInput } from '../../src/bundle/writer.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { listBundles, showBundle } from '../../src/bundle/store.ts';
import { hasCode } from '../../src/errors.ts';
import { findings, offcpuResult, pgResult, profileResult } from './fixtures/results.ts';
import type { Incident } from '../../src/incident.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-bundles-`));
after(() => rmSync(root, { recursive: true, force: true }));

function input(over: Partial<BundleInput> = {}): BundleInput {
  const t0 = Date.parse('2026-03-04T05:06:07Z');
  const budget = { durationMs: 10_000, maxEvents: 10_000, maxBytes: 1 << 20 };
  return {
    root,
    rule: 'cpu-throttled',
    probesFrom: 'rule',
    durationMs: 10_000,
    target: { cgroupId: '4242', cgroupPath: '/kubepods/pod1/c1', pids: [812] },
    timings: { tripAt: t0, attachStartedAt: t0 + 1, attachedAt: t0 + 4, detachedAt: t0 + 10_004 },
    probes: [
      { name: 'profile', status: 'ok', budget, result: profileResult(t0 + 4) },
      { name: 'offcpu', status: 'ok', budget, result: offcpuResult(t0 + 4) },
      { name: 'pg', status: 'ok', budget, result: pgResult(t0 + 4) },
      { name: 'tcp', status: 'skipped', reason: 'probe CPU cap reached', budget },
    ],
    findings,
    partial: false,
    history: { before: [{ at: t0 - 1000, samples: [] }], during: [] },
    ...over,
  };
}

test('bundle id: UTC time, rule, 8 hex; a bad rule name is refused', () => {
  assert.match(
    bundleId('cpu-throttled', Date.parse('2026-03-04T05:06:07Z')),
    /^20260304T050607-cpu-throttled-[0-9a-f]{8}$/,
  );
  assert.throws(
    () => bundleId('../etc', 0),
    (e) => hasCode(e, 'BUNDLE_ERR_WRITE'),
  );
});

test('a complete bundle: files, permissions, manifest, passes its own schema check', async () => {
  const ref = await writeBundle(input());
  assert.equal(ref.partial, false);
  const names = readdirSync(ref.dir).sort();
  assert.deepEqual(names, [
    'baseline.json',
    'events.ndjson',
    'findings.json',
    'flamegraph.html',
    'manifest.json',
    'offcpu.folded',
    'offcpu.pb.gz',
    'profile.folded',
    'profile.pb.gz',
    'summary.md',
  ]);
  // Readable by the owner's group (the network side's), by nobody else.
  assert.equal(statSync(ref.dir).mode & 0o777, 0o750);
  for (const n of names) assert.equal(statSync(join(ref.dir, n)).mode & 0o777, 0o640, n);
  assert.equal(statSync(ref.tarball).mode & 0o777, 0o640);
  const check = await validateBundle(ref.dir);
  assert.deepEqual(check.problems, []);
  const m = check.manifest!;
  assert.equal(m.schema_version, 1);
  assert.equal(m.timings.trip_to_attach_ms, 4);
  assert.equal(m.drops, 3);
  assert.deepEqual(m.redactions, ['sql literals']);
  assert.equal(m.probes.find((p) => p.name === 'tcp')!.status, 'skipped');
  assert.equal(m.kernel.release, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  const events = readFileSync(join(ref.dir, 'events.ndjson'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(events.length, 3);
  assert.equal(events[0].probe, 'pg');
  assert.match(readFileSync(join(ref.dir, 'summary.md'), 'utf8'), /preempted mostly by pid 4711/);
  // The profile's 99 Hz becomes the pprof period.
  const prof = Profile.decode(gunzipSync(readFileSync(join(ref.dir, 'profile.pb.gz'))));
  assert.equal(Number(prof.period), Math.round(1e9 / 99));
});

test('the tarball extracts with tar -xzf to the same files', async () => {
  const ref = await writeBundle(input());
  const out = mkdtempSync(join(root, 'x-'));
  try {
    execFileSync('tar', ['-xzf', ref.tarball, '-C', out]);
    const extracted = join(out, ref.id);
    assert.deepEqual(readdirSync(extracted).sort(), readdirSync(ref.dir).sort());
    for (const n of readdirSync(ref.dir))
      assert.ok(readFileSync(join(extracted, n)).equals(readFileSync(join(ref.dir, n))), n);
    assert.equal((await validateBundle(extracted)).ok, true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the schema check detects tampering: changed, missing and extra files', async () => {
  const ref = await writeBundle(input());
  appendFileSync(join(ref.dir, 'summary.md'), 'edited\n');
  rmSync(join(ref.dir, 'profile.folded'));
  writeFileSync(join(ref.dir, 'extra.txt'), 'x');
  const check = await validateBundle(ref.dir);
  assert.equal(check.ok, false);
  assert.ok(
    check.problems.some((p) => p.startsWith('summary.md:')),
    check.problems.join('\n'),
  );
  assert.ok(check.problems.some((p) => p.startsWith('profile.folded: listed in the manifest but missing')));
  assert.ok(check.problems.some((p) => p.startsWith('extra.txt: present but not listed')));
  const m = JSON.parse(readFileSync(join(ref.dir, 'manifest.json'), 'utf8'));
  m.schema_version = 99;
  writeFileSync(join(ref.dir, 'manifest.json'), JSON.stringify(m));
  assert.ok((await validateBundle(ref.dir)).problems.some((p) => p.startsWith('manifest.json: schema_version')));
});

test('a capture cut short is marked partial in the manifest and the summary', async () => {
  const i = input();
  const ref = await writeBundle({
    ...i,
    partial: true,
    partialReason: 'engine stopping',
    probes: [{ ...i.probes[0], result: { ...profileResult(0), partial: true } }],
  });
  assert.equal(ref.partial, true);
  const check = await validateBundle(ref.dir);
  assert.equal(check.ok, true);
  assert.equal(check.manifest!.partial, true);
  assert.equal(check.manifest!.partial_reason, 'engine stopping');
  assert.equal(check.manifest!.probes[0].partial, true);
  assert.match(readFileSync(join(ref.dir, 'summary.md'), 'utf8'), /Partial capture.*engine stopping/);
});

test('events.ndjson stops at the byte budget and counts the rest as dropped', async () => {
  const i = input();
  const budget = { durationMs: 10_000, maxEvents: 100, maxBytes: 120 };
  const ref = await writeBundle({ ...i, probes: [{ name: 'pg', status: 'ok', budget, result: pgResult(0) }] });
  const lines = readFileSync(join(ref.dir, 'events.ndjson'), 'utf8').trimEnd().split('\n');
  assert.ok(lines.length < 3 && lines.length >= 1);
  assert.ok(Buffer.byteLength(lines.join('\n') + '\n') <= 120);
  const m = (await validateBundle(ref.dir)).manifest!;
  assert.equal(m.probes[0].dropped, 3 - lines.length);
});

test('a crashed write leaves only a .partial folder, which is never listed', async () => {
  const crashed = join(root, '.partial-20260304T050607-cpu-throttled-deadbeef');
  mkdirSync(crashed, { mode: 0o700 });
  writeFileSync(join(crashed, 'findings.json'), '{');
  writeFileSync(join(root, '.tmp-20260304T050607-cpu-throttled-deadbeef.tar.gz'), '');
  const listed = await listBundles(root);
  assert.ok(listed.length >= 4);
  assert.ok(listed.every((b) => /^\d{8}T\d{6}-cpu-throttled-[0-9a-f]{8}$/.test(b.id)));
  // The bundle whose manifest was tampered with above is listed with manifest null (so retention can still remove it).
  assert.equal(listed.filter((b) => b.manifest === null).length, 1);
  assert.ok(!listed.some((b) => b.id.includes('deadbeef')));
  const shown = await showBundle(root, listed.find((b) => b.manifest)!.id);
  assert.equal(shown.findings!.neighbours[0].pid, 4711);
  await assert.rejects(showBundle(root, '../../etc'), (e) => hasCode(e, 'BUNDLE_ERR_NOT_FOUND'));
  await assert.rejects(showBundle(root, '20260304T050607-cpu-throttled-deadbeef'), (e) =>
    hasCode(e, 'BUNDLE_ERR_NOT_FOUND'),
  );
});

test('a write that fails removes its partial folder and throws BUNDLE_ERR_WRITE', async () => {
  const i = input();
  await assert.rejects(
    writeBundle({ ...i, probes: [{ name: 'Bad/Name', status: 'ok', budget: i.probes[0].budget }] }),
    (e) => hasCode(e, 'BUNDLE_ERR_WRITE'),
  );
  assert.ok(!readdirSync(root).some((n) => n.startsWith('.partial-') && !n.includes('deadbeef')));
});

test('bigints in probe records (kernel ids) are written as decimal strings, not a failed bundle', async () => {
  const i = input();
  const budget = { durationMs: 1000, maxEvents: 10, maxBytes: 10_000 };
  const result = { ...pgResult(0), records: [{ pid: 1, cgroupId: 18446744073709551615n }] };
  const ref = await writeBundle({ ...i, probes: [{ name: 'pg', status: 'ok', budget, result }] });
  assert.equal(JSON.parse(readFileSync(join(ref.dir, 'events.ndjson'), 'utf8')).cgroupId, '18446744073709551615');
  assert.equal((await validateBundle(ref.dir)).ok, true);
});

test("the target's names go into the manifest, the summary and the bundle list", async () => {
  const t0 = Date.parse('2026-03-04T05:06:07Z');
  const cid = 'e'.repeat(64);
  const incident: Incident = {
    id: 'abc-1',
    key: 'cpu-throttled{cgroup="/kubepods/podu/c"}',
    rule: 'cpu-throttled',
    status: 'firing',
    severity: 'warning',
    labels: { cgroup: '/kubepods/podu/c', rule: 'cpu-throttled' },
    annotations: { summary: 'throttled' },
    target: {
      cgroupId: '4242',
      cgroupPath: '/kubepods/podu/c',
      container: 'app',
      containerId: cid,
      workload: 'Deployment/web',
      pod: { uid: 'u-1', qos: 'burstable', name: 'web-7d9f-abcde', namespace: 'shop' },
    },
    value: 1,
    threshold: 0.5,
    unit: 'ratio',
    stats: {},
    startsAt: new Date(t0).toISOString(),
    firedAt: new Date(t0).toISOString(),
    host: 'node-a',
  };
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-bundles-names-`));
  try {
    const ref = await writeBundle(input({ root: dir, incident, probes: [] }));
    const manifest = JSON.parse(readFileSync(join(ref.dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.target, {
      cgroup_id: '4242',
      cgroup_path: '/kubepods/pod1/c1',
      pids: [812],
      namespace: 'shop',
      pod: 'web-7d9f-abcde',
      pod_uid: 'u-1',
      container: 'app',
      container_id: cid,
      workload: 'Deployment/web',
    });
    assert.match(
      readFileSync(join(ref.dir, 'summary.md'), 'utf8'),
      // Markdown markup escaped (names are outside input): the parentheses render as written.
      /\nTarget: shop\/web-7d9f-abcde \\\(Deployment shop\/web\\\), container app\n/,
    );
    assert.equal((await validateBundle(ref.dir)).ok, true);
    const [listed] = await listBundles(dir);
    assert.equal(listed.target, 'shop/web-7d9f-abcde (Deployment shop/web), container app');
    // Without names: the cgroup path.
    const plain = await writeBundle(input({ root: dir, probes: [] }));
    assert.equal((await listBundles(dir)).find((b) => b.id === plain.id)?.target, '/kubepods/pod1/c1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
