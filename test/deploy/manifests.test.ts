// The deployment files outside Kubernetes grant only what is needed and deploy as they are: the systemd unit
// (systemd-analyze verify, the capabilities of docs/security.md) and the image. deploy/kubernetes:
// test/deploy/kustomize.test.ts and test/deploy/rbac.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { securityDocCapabilities } from '../support/kustomize.ts';

const root = join(import.meta.dirname, '..', '..');

test('the systemd unit verifies and is hardened', () => {
  const unit = readFileSync(join(root, 'deploy', 'tripline.service'), 'utf8');
  for (const line of [
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'LockPersonality=yes',
    'RestrictSUIDSGID=yes',
    'UMask=0077',
    'NoNewPrivileges=yes',
  ])
    assert.ok(unit.includes(`\n${line}\n`), line);
  assert.match(unit, /\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n/);
  assert.match(unit, /\nSystemCallFilter=@system-service bpf perf_event_open\n/);
  assert.doesNotMatch(unit, /ReadWritePaths=.*\/sys\/fs\/cgroup/);
  // Exactly the capabilities of docs/security.md's table, granted (bounding set) and raised (ambient).
  const caps = [...securityDocCapabilities().keys()].map((c) => `CAP_${c}`).sort();
  for (const key of ['CapabilityBoundingSet', 'AmbientCapabilities'])
    assert.deepEqual(new RegExp(`\n${key}=(.*)\n`).exec(unit)![1].split(' ').sort(), caps, key);
  for (const cap of caps)
    assert.match(unit, new RegExp(`\n#   .*\\b${cap.slice(4)}\\b`), `${cap} has a comment saying why`);
  const dir = mkdtempSync(join(tmpdir(), 'tripline-unit-'));
  try {
    writeFileSync(
      join(dir, 'tripline.service'),
      unit.replaceAll('/opt/tripline/bin/tripline', join(root, 'bin', 'tripline')),
    );
    execFileSync('systemd-analyze', ['verify', join(dir, 'tripline.service')], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the image builds BPF in a build stage, pins its versions and ships no compiler', () => {
  const file = readFileSync(join(root, 'deploy', 'Containerfile'), 'utf8');
  const stages = file.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2);
  for (const s of stages) assert.match(s, /^debian:\d+\.\d+-slim/, 'a pinned base image');
  assert.match(stages[0], /scripts\/build-bpf/);
  assert.doesNotMatch(stages[1], /clang|llvm|npm |gcc|build-essential/, 'no compiler or npm in the final image');
  assert.match(stages[0], /node@24\.\d+\.\d+/, 'Node pinned');
  assert.match(stages[1], /groupadd --system --gid 2000010001 tripline/);
  assert.match(
    stages[1],
    /useradd .*--no-log-init --uid 2000010001 --gid tripline .*tripline/,
    'the uid of daemonset-network.yaml',
  );
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['.git', 'node_modules', 'build', '.runtime']) assert.ok(ignore.includes(p), `.dockerignore ${p}`);
});
