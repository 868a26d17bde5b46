import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import { effectiveCaps } from '../../src/probes/host-checks.ts';
import { FAMILY_NAMES } from '../../src/probes/counters/spec/index.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

test('effective capabilities are read from /proc status text', () => {
  assert.equal(effectiveCaps('Name:\tx\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.equal(effectiveCaps('Name:\tx\nCapEff:\t0000000000000000\n'), 0n);
  assert.equal(effectiveCaps('garbage'), 0n);
});

kernelTest('tripline doctor: every check with a verdict, exit 0 on this host, JSON on request', () => {
  const r = spawnSync(bin, ['doctor', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const checks = JSON.parse(r.stdout) as {
    name: string;
    ok: boolean;
    required: boolean;
    detail: string;
    fix?: string;
  }[];
  for (const n of ['kernel', 'node', 'privileges', 'bpf objects', 'btf', 'bpf load', 'tracepoints', 'cgroups'])
    assert.ok(
      checks.some((c) => c.name === n),
      `check ${n}`,
    );
  assert.ok(checks.filter((c) => c.required).every((c) => c.ok));
  for (const c of checks.filter((x) => !x.ok)) assert.ok(c.fix || c.detail, `${c.name} says why`);
  assert.equal(spawnSync(bin, ['doctor', '--nope'], { encoding: 'utf8' }).status, 2);
});

test('tripline doctor as an unprivileged user fails the privilege check with its fix', () => {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', bin, 'doctor'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAIL\s+privileges\s+missing CAP_BPF/);
  assert.match(r.stdout, /fix: run as root, or grant CAP_BPF/);
});

kernelTest('tripline probes: each counter and deep probe really loaded, unavailable ones with the reason', () => {
  const r = spawnSync(bin, ['probes', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { kind: string; name: string; ok: boolean; detail: string }[];
  // Every family but those needing what this host may lack: a PostgreSQL server (pg), PSI on the kernel command line.
  for (const n of FAMILY_NAMES.filter((f) => f !== 'pg' && f !== 'psi'))
    assert.equal(rows.find((x) => x.kind === 'counter' && x.name === n)?.ok, true, `counter ${n}`);
  for (const n of ['offcpu', 'profile', 'runqslower'])
    assert.equal(rows.find((x) => x.kind === 'deep' && x.name === n)?.ok, true, `deep ${n}`);
  // This kernel has no kprobes: the feature is reported unavailable with the reason.
  const kp = rows.find((x) => x.kind === 'feature' && x.name === 'kprobes')!;
  if (!kp.ok) assert.match(kp.detail, /kprobe/);
});
