// The deployment files grant only what is needed and deploy as they are: the DaemonSet's two containers, the
// objects they refer to, the config and rules they mount, the systemd unit (systemd-analyze verify) and the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { buildConfig } from '../../src/config.ts';
import { loadRuleSet } from '../../src/rules/load.ts';
import { ACTIONS } from '../../src/actions/registry.ts';

const root = join(import.meta.dirname, '..', '..');
const manifestText = readFileSync(join(root, 'deploy', 'kubernetes', 'tripline.yaml'), 'utf8');
type Doc = any;
const docs: Doc[] = parseAllDocuments(manifestText).map((d) => {
  assert.deepEqual(d.errors, []);
  return d.toJS();
});
const find = (kind: string, name: string): Doc => docs.find((d) => d.kind === kind && d.metadata?.name === name);
const ds = find('DaemonSet', 'tripline');
const pod = ds.spec.template.spec;
const container = (name: string): Doc => pod.containers.find((c: Doc) => c.name === name);

test('every object the DaemonSet refers to is defined (config, rules, secrets, Redis service, service account)', () => {
  for (const v of pod.volumes) {
    if (v.configMap) assert.ok(find('ConfigMap', v.configMap.name), `ConfigMap ${v.configMap.name}`);
  }
  for (const c of pod.containers) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref)
        assert.ok(find('Secret', ref.name)?.stringData?.[ref.key] !== undefined, `Secret ${ref.name}/${ref.key}`);
    }
    for (const e of c.envFrom ?? []) assert.ok(find('Secret', e.secretRef.name), `Secret ${e.secretRef.name}`);
  }
  assert.ok(find('ServiceAccount', pod.serviceAccountName));
  const redisUrl = container('network').env.find((e: Doc) => e.name === 'REDIS_URL').value as string;
  const svc = /@([a-z0-9-]+)\.tripline\.svc:(\d+)/.exec(redisUrl)!;
  assert.ok(find('Service', svc[1]), `Service ${svc[1]}`);
  assert.match(redisUrl, /:\$\(REDIS_PASSWORD\)@/, 'Redis with a password from a Secret');
  assert.ok(find('Deployment', 'tripline-redis').spec.template.spec.containers[0].args.includes('noeviction'));
  assert.ok(find('NetworkPolicy', 'tripline'), 'a NetworkPolicy');
});

test('the mounted config and rules are valid; /api is on loopback; the probe side waits for its network container', () => {
  const config = buildConfig(parse(find('ConfigMap', 'tripline-config').data['tripline.yaml']), {});
  assert.match(config.api.listen!, /^127\.0\.0\.1:/);
  assert.equal(config.network.channel, '/run/tripline/channel.sock');
  const dir = mkdtempSync(join(tmpdir(), 'tripline-manifest-'));
  try {
    for (const [name, text] of Object.entries(find('ConfigMap', 'tripline-rules').data as Record<string, string>)) {
      writeFileSync(join(dir, name), text);
      assert.equal(text, readFileSync(join(root, 'rules', name), 'utf8'), `${name} equals the bundled rule`);
    }
    assert.ok(loadRuleSet([dir], { actions: ACTIONS }).ruleSet.rules.length >= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the network container holds nothing; the probe container only the capabilities it uses, each justified', () => {
  const net = container('network');
  assert.deepEqual(net.command.slice(1, 2), ['network']);
  const sc = net.securityContext;
  assert.equal(sc.runAsNonRoot, true);
  assert.ok(sc.runAsUser > 0);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  const probe = container('probe');
  assert.deepEqual(probe.securityContext.capabilities.drop, ['ALL']);
  assert.equal(probe.securityContext.allowPrivilegeEscalation, false);
  assert.ok(!probe.ports, 'the probe container listens on no port');
  assert.ok(!probe.securityContext.privileged);
  for (const cap of probe.securityContext.capabilities.add as string[])
    assert.match(manifestText, new RegExp(`- ${cap} +# \\S`), `${cap} has a comment saying why`);
  assert.ok(
    !(probe.env ?? []).some((e: Doc) => /TOKEN|PASSWORD|REDIS/.test(e.name)),
    'no secret in the probe container',
  );
  assert.ok(!probe.envFrom, 'no secret in the probe container');
});

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
  assert.match(stages[1], /useradd .*--uid 10001 .*tripline/);
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['.git', 'node_modules', 'build', '.runtime']) assert.ok(ignore.includes(p), `.dockerignore ${p}`);
});
