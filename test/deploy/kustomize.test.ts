// deploy/kubernetes deploys as it is: every object of the kustomization is valid against the Kubernetes API schema,
// everything the pods refer to is defined, the mounted config and rules load, the rules ConfigMap is generated from
// rules/, and the pods get only what they need (limits, non-root network side, justified host access, templates
// for secrets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildConfig } from '../../src/config.ts';
import { loadRuleSet } from '../../src/rules/load.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { loadApiToken } from '../../src/server/auth.ts';
import { buildKustomization, containersOf, KUSTOMIZE_DIR, securityDocCapabilities } from '../support/kustomize.ts';
import { schemaProblems } from '../support/k8s-schema.ts';
import {
  GEN_DEPLOY_COMMAND,
  RULES_CONFIGMAP_PATH,
  bundledRuleFiles,
  rulesConfigMapText,
} from '../../scripts/gen-deploy.ts';

const root = join(import.meta.dirname, '..', '..');
const objects = buildKustomization();
type Doc = any;
const find = (kind: string, name: string): Doc => {
  const hit = objects.find((o) => o.obj.kind === kind && o.obj.metadata?.name === name);
  assert.ok(hit, `${kind} ${name} is defined`);
  return hit.obj;
};
// Two pods per node: the probe side (host pids, BPF capabilities) and the network side (nothing of the host but
// the socket directory and the bundles, read-only), joined by the socket in the host directory /run/tripline.
const ds = find('DaemonSet', 'tripline-probe');
const netDs = find('DaemonSet', 'tripline-network');
const pod = ds.spec.template.spec;
const netPod = netDs.spec.template.spec;
const pods = [pod, netPod];
const container = (name: string): Doc => [...pod.containers, ...netPod.containers].find((c: Doc) => c.name === name);
const text = (file: string): string => readFileSync(join(KUSTOMIZE_DIR, file), 'utf8');
const workloads = objects.filter((o) => o.obj.kind === 'DaemonSet' || o.obj.kind === 'Deployment');

test('every object of kustomization.yaml validates against the Kubernetes API schema, with no unknown field', () => {
  assert.ok(objects.length >= 12, `${objects.length} objects`);
  for (const { file, obj } of objects)
    assert.deepEqual(schemaProblems(obj), [], `${file}: ${obj.kind} ${obj.metadata?.name}`);
  // The checker itself: a typo, a wrong type and an unknown kind are each caught.
  const typo = structuredClone(ds);
  typo.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
  assert.deepEqual(schemaProblems(typo), [
    'unknown field /spec/template/spec/containers/0/securityContext/readOnlyRootFilesytem',
  ]);
  const wrong = structuredClone(ds);
  wrong.spec.template.spec.containers[0].resources.limits.memory = '192 MB';
  assert.match(schemaProblems(wrong).join(), /limits\/memory/);
  assert.match(
    schemaProblems({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' }).join(),
    /unknown kind/,
  );
  const names = objects.map((o) => `${o.obj.kind}/${o.obj.metadata.namespace ?? ''}/${o.obj.metadata.name}`);
  assert.equal(new Set(names).size, names.length, 'no object defined twice');
  for (const { obj } of objects)
    if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(obj.kind))
      assert.equal(obj.metadata.namespace, 'tripline', `${obj.kind} ${obj.metadata.name} in the tripline namespace`);
});

test('everything the pods refer to is defined: ConfigMaps, Secrets and their keys, the service account, Redis', () => {
  for (const { obj } of workloads) {
    const spec = obj.spec.template.spec;
    const volumes = spec.volumes ?? [];
    const sources = volumes.flatMap((v: Doc) => [v, ...(v.projected?.sources ?? [])]);
    for (const v of sources) {
      // kube-root-ca.crt is published in every namespace by the cluster itself.
      if (v.configMap && v.configMap.name !== 'kube-root-ca.crt') find('ConfigMap', v.configMap.name);
      const secret = v.secret && find('Secret', v.secret.secretName);
      for (const item of v.secret?.items ?? []) assert.ok(item.key in secret.stringData, `Secret key ${item.key}`);
    }
    for (const c of containersOf(obj)) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        // An optional key (the Slack app token) may be absent: the Secret must exist all the same.
        if (ref)
          assert.ok(
            find('Secret', ref.name).stringData[ref.key] !== undefined || ref.optional === true,
            `Secret ${ref.name}/${ref.key}`,
          );
      }
      for (const m of c.volumeMounts ?? [])
        assert.ok(
          volumes.some((v: Doc) => v.name === m.name),
          `${obj.metadata.name}/${c.name}: volume ${m.name}`,
        );
      for (const m of c.volumeMounts ?? []) if (m.subPath) assert.equal(m.readOnly, true, `${m.mountPath} read-only`);
    }
  }
  for (const p of pods) assert.ok(find('ServiceAccount', p.serviceAccountName));
  const config = parse(find('ConfigMap', 'tripline-config').data['tripline.yaml']);
  const redis = /^redis:\/\/([a-z0-9-]+)\.tripline\.svc:(\d+)\/\d+$/.exec(config.redis.url)!;
  assert.ok(redis, `redis.url ${config.redis.url}: a Service of this namespace, no password in it`);
  const svc = find('Service', redis[1]);
  assert.equal(String(svc.spec.ports[0].port), redis[2]);
  const redisPod = find('Deployment', svc.metadata.name).spec.template;
  assert.deepEqual(svc.spec.selector, redisPod.metadata.labels, 'the Redis Service selects the Redis pod');
  const script = redisPod.spec.containers[0].args.join('\n');
  for (const flag of ['--requirepass "$REDIS_PASSWORD"', '--maxmemory-policy noeviction'])
    assert.ok(script.includes(flag), `redis-server ${flag}`);
  assert.equal(find('Deployment', 'tripline-redis').spec.strategy.type, 'Recreate', 'never two Redis at once');
  const metrics = find('Service', 'tripline-metrics');
  assert.deepEqual(
    metrics.spec.selector,
    netDs.spec.template.metadata.labels,
    'the metrics Service selects the network pods (they serve /metrics)',
  );
  assert.equal(metrics.spec.clusterIP, 'None', 'headless: every node is its own scrape target');
  const net = container('network');
  assert.ok(net.ports.some((p: Doc) => p.name === metrics.spec.ports[0].targetPort && p.containerPort === 9464));
});

test(`the rules ConfigMap is generated from rules/ (regenerate: ${GEN_DEPLOY_COMMAND})`, () => {
  const want = rulesConfigMapText(root);
  assert.ok(
    text('rules.yaml') === want,
    `${RULES_CONFIGMAP_PATH} is out of date with rules/: regenerate it with ${GEN_DEPLOY_COMMAND}`,
  );
  const data = find('ConfigMap', 'tripline-rules').data as Record<string, string>;
  assert.deepEqual(Object.keys(data), bundledRuleFiles(root));
  assert.ok(Object.keys(data).length >= 7);
  const dir = mkdtempSync(join(tmpdir(), 'tripline-manifest-'));
  try {
    for (const [name, body] of Object.entries(data)) {
      assert.equal(body, readFileSync(join(root, 'rules', name), 'utf8'), `${name} equals the bundled rule`);
      writeFileSync(join(dir, name), body);
    }
    const loaded = loadRuleSet([dir], { actions: ACTIONS });
    assert.equal(loaded.ruleSet.rules.length, Object.keys(data).length, 'every bundled rule loads from the ConfigMap');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the engine config loads through the real config parser; what it names is mounted where it says', () => {
  const config = buildConfig(parse(find('ConfigMap', 'tripline-config').data['tripline.yaml']), {});
  assert.match(config.api.listen!, /^127\.0\.0\.1:/, '/api on loopback only');
  assert.match(config.listen, /^0\.0\.0\.0:9464$/);
  assert.equal(config.network.channel, '/run/tripline/channel.sock');
  const probe = container('probe');
  const net = container('network');
  // The deepest mount holding `path` (the network pod mounts bundles inside its data folder).
  const mountedAt = (c: Doc, path: string): Doc =>
    c.volumeMounts
      .filter((m: Doc) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
      .sort((a: Doc, b: Doc) => b.mountPath.length - a.mountPath.length)[0];
  assert.equal(mountedAt(probe, '/etc/tripline/tripline.yaml').name, 'config');
  assert.equal(probe.command.at(-1), '/etc/tripline/tripline.yaml');
  assert.deepEqual(config.rules, ['/etc/tripline/rules']);
  assert.equal(mountedAt(probe, config.rules[0]).name, 'rules');
  assert.equal(mountedAt(probe, config.api.token_file!).name, 'api-token');
  // Both sides open Redis (rule state, the queue): both read the password file, at the same path.
  for (const c of [probe, net]) assert.equal(mountedAt(c, config.redis.password_file!).name, 'redis-password');
  for (const c of [probe, net]) assert.equal(mountedAt(c, config.data_dir).name, 'state');
  for (const c of [probe, net]) assert.equal(mountedAt(c, config.network.channel!).name, 'channel');
  assert.ok(!mountedAt(net, config.api.token_file!), 'the API token stays with the probe side');
  // File modes as the kubelet writes them (no fsGroup on the pod, so no group bits are added): the API token
  // root's alone (the probe side refuses a token file others can read), the Redis password readable by uid 10001.
  for (const p of pods) assert.equal(p.securityContext.fsGroup, undefined);
  const volume = (p: Doc, name: string): Doc => p.volumes.find((v: Doc) => v.name === name);
  assert.equal(volume(pod, 'api-token').secret.defaultMode, 0o400);
  assert.equal(volume(pod, 'redis-password').secret.defaultMode, 0o400, 'root reads it in the probe pod');
  assert.equal(volume(netPod, 'redis-password').secret.defaultMode, 0o444, 'the network uid reads it');
  assert.ok(!volume(netPod, 'api-token'), 'the API token comes over the channel, never mounted in the network pod');
  // The network side's data_dir (<data_dir>/network, from its hello) is its own emptyDir; the bundles the probe
  // pod writes are mounted read-only where the hello says they are.
  assert.equal(volume(netPod, 'state').emptyDir?.sizeLimit, '16Mi');
  assert.deepEqual(mountedAt(net, join(config.data_dir, 'bundles')), {
    name: 'bundles',
    mountPath: join(config.data_dir, 'bundles'),
    readOnly: true,
  });
  assert.ok(net.command.includes(config.network.channel));
});

test('every container has requests and limits, a pinned image and health checks', () => {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  for (const { obj } of workloads)
    for (const c of containersOf(obj)) {
      const where = `${obj.metadata.name}/${c.name}`;
      for (const r of ['cpu', 'memory']) {
        assert.ok(c.resources?.requests?.[r], `${where}: requests.${r}`);
        assert.ok(c.resources?.limits?.[r], `${where}: limits.${r}`);
      }
      assert.match(c.image, /^[a-z0-9./-]+:[A-Za-z0-9._-]+$/, `${where}: image pinned by tag`);
      assert.doesNotMatch(c.image, /:latest$/, `${where}: not latest`);
      assert.ok(c.readinessProbe, `${where}: readinessProbe`);
    }
  for (const c of pods.flatMap((p) => p.containers))
    assert.equal(c.image, `tripline:${version}`, `${c.name}: the image of this release`);
  const net = container('network');
  assert.equal(net.readinessProbe.httpGet.path, '/readyz');
  assert.equal(net.livenessProbe.httpGet.path, '/healthz');
  // Liveness waits while the network side waits for its probe pod (connectChannel's 600 s).
  assert.equal(net.startupProbe.httpGet.path, '/healthz');
  assert.ok(net.startupProbe.periodSeconds * net.startupProbe.failureThreshold > 600, 'startup window over 600 s');
  assert.ok(text('kustomization.yaml').includes(`newTag: ${version}`), 'kustomization images: this release');
  // NODE_NAME from the downward API: the pod cache's node and the `host` setting's default.
  for (const c of pods.flatMap((p) => p.containers))
    assert.deepEqual(
      c.env.find((e: Doc) => e.name === 'NODE_NAME')?.valueFrom,
      { fieldRef: { fieldPath: 'spec.nodeName' } },
      `${c.name}: NODE_NAME`,
    );
});

test('the network container holds nothing; the probe container exactly the capabilities of docs/security.md', () => {
  for (const { obj } of workloads)
    assert.equal(obj.spec.template.spec.securityContext.seccompProfile.type, 'RuntimeDefault', obj.metadata.name);
  const net = container('network');
  assert.deepEqual(net.command.slice(1, 2), ['network']);
  const sc = net.securityContext;
  // A uid no host or common image uses (deploy/Containerfile creates it), for the whole pod.
  assert.equal(netPod.securityContext.runAsNonRoot, true);
  assert.equal(netPod.securityContext.runAsUser, 2000010001);
  assert.equal(netPod.securityContext.runAsGroup, 2000010001);
  assert.ok(netPod.securityContext.runAsUser < 2 ** 31, 'tools that store uids signed handle it');
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  assert.ok(!net.securityContext.privileged);
  const probe = container('probe');
  const psc = probe.securityContext;
  assert.deepEqual(psc.capabilities.drop, ['ALL']);
  assert.equal(psc.allowPrivilegeEscalation, false);
  assert.equal(psc.readOnlyRootFilesystem, true);
  assert.ok(!psc.privileged);
  assert.ok(!probe.ports, 'the probe container listens on no port');
  const table = securityDocCapabilities();
  const podCaps = [...table].filter(([, where]) => where.includes('pod')).map(([cap]) => cap);
  assert.deepEqual([...psc.capabilities.add].sort(), podCaps.sort(), 'probe capabilities = docs/security.md (pod)');
  for (const cap of psc.capabilities.add as string[])
    assert.match(text('daemonset.yaml'), new RegExp(`- ${cap} +# \\S`), `${cap} has a comment saying why`);
  assert.ok(!(probe.env ?? []).some((e: Doc) => e.valueFrom?.secretKeyRef), 'no secret in the probe environment');
  assert.ok(!probe.envFrom);
  for (const { obj } of workloads) assert.equal(obj.spec.template.spec.hostNetwork, undefined, 'no host network');
  assert.ok(!find('Deployment', 'tripline-redis').spec.template.spec.hostPID);
});

test('host access: the probe pod alone has hostPID and read-only host paths, each justified; state is the one writable', () => {
  assert.equal(pod.hostPID, true);
  const ds = text('daemonset.yaml');
  assert.match(ds, /# [^\n]*\n(\s+# [^\n]*\n)*\s+hostPID: true/, 'hostPID is justified');
  const hostPaths = pod.volumes.filter((v: Doc) => v.hostPath);
  assert.deepEqual(hostPaths.map((v: Doc) => v.hostPath.path).sort(), [
    '/run/tripline',
    '/sys/fs/cgroup',
    '/sys/kernel/tracing',
    '/var/lib/tripline',
  ]);
  for (const v of hostPaths) {
    assert.match(ds, new RegExp(`# [^\\n]*\\n\\s+- \\{ name: ${v.name}, hostPath`), `${v.name} is justified`);
    for (const c of pod.containers)
      for (const m of c.volumeMounts.filter((m: Doc) => m.name === v.name))
        assert.equal(
          m.readOnly === true,
          !['/var/lib/tripline', '/run/tripline'].includes(v.hostPath.path),
          `${c.name}: ${m.mountPath}`,
        );
  }
  // No API credential for the probe pod: an account bound to nothing, no automatic token, no projected one.
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(find('ServiceAccount', pod.serviceAccountName).automountServiceAccountToken, false);
  assert.notEqual(pod.serviceAccountName, netPod.serviceAccountName);
  assert.ok(!pod.volumes.some((v: Doc) => v.projected), 'no projected volume (token) in the probe pod');
});

test('the network pod: no host namespace, no host path but the socket directory and bundles, read-only; its token', () => {
  for (const k of ['hostPID', 'hostNetwork', 'hostIPC', 'hostUsers', 'shareProcessNamespace'])
    assert.equal(netPod[k], undefined, k);
  const nd = text('daemonset-network.yaml');
  const hostPaths = netPod.volumes.filter((v: Doc) => v.hostPath);
  assert.deepEqual(
    hostPaths.map((v: Doc) => [v.hostPath.path, v.hostPath.type]),
    [
      ['/var/lib/tripline/bundles', 'Directory'],
      ['/run/tripline', 'Directory'],
    ],
    'type Directory: the network pod never creates a host directory, the probe pod does',
  );
  for (const v of hostPaths) {
    assert.match(nd, new RegExp(`# [^\\n]*\\n\\s+- \\{ name: ${v.name}, hostPath`), `${v.name} is justified`);
    for (const m of container('network').volumeMounts.filter((m: Doc) => m.name === v.name))
      assert.equal(m.readOnly, true, m.mountPath);
  }
  // The socket directory is the same host directory in both pods, at the path of network.channel.
  const channel = (p: Doc): Doc => p.volumes.find((v: Doc) => v.name === 'channel').hostPath.path;
  assert.equal(channel(netPod), channel(pod));
  assert.ok(!container('network').volumeMounts.some((m: Doc) => ['cgroup', 'tracefs', 'api-token'].includes(m.name)));
  // The service account token: projected into the network pod only, the account the ClusterRoleBinding names.
  assert.equal(netPod.automountServiceAccountToken, false);
  const tokenVolumes = netPod.volumes
    .filter((v: Doc) => v.projected?.sources.some((s: Doc) => s.serviceAccountToken))
    .map((v: Doc) => v.name);
  assert.equal(tokenVolumes.length, 1);
  assert.ok(container('network').volumeMounts.some((m: Doc) => m.name === tokenVolumes[0] && m.readOnly));
  // Both pods on every node (the same tolerations), the network pod's own labels: the selectors tell them apart.
  assert.deepEqual(netPod.tolerations, pod.tolerations);
  assert.notDeepEqual(netDs.spec.selector.matchLabels, ds.spec.selector.matchLabels);
});

test('NetworkPolicies: in, only scrapes of the metrics port; out, only DNS, Redis and HTTPS; Redis reached only by tripline', () => {
  const policy = find('NetworkPolicy', 'tripline');
  assert.deepEqual(policy.spec.podSelector.matchLabels, netDs.spec.template.metadata.labels);
  assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
  const metricsPort = container('network').ports.find((p: Doc) => p.name === 'metrics').containerPort;
  assert.deepEqual(
    policy.spec.ingress.flatMap((r: Doc) => r.ports),
    [{ port: metricsPort, protocol: 'TCP' }],
    'only the metrics port is reachable (/api is on loopback)',
  );
  for (const r of policy.spec.ingress) assert.ok(r.from?.length, 'ingress from named sources only');
  const egress = policy.spec.egress.flatMap((r: Doc) => r.ports.map((p: Doc) => `${p.protocol}/${p.port}`)).sort();
  assert.deepEqual(egress, ['TCP/443', 'TCP/53', 'TCP/6379', 'TCP/6443', 'UDP/53']);
  const redisPod = find('Deployment', 'tripline-redis').spec.template.metadata.labels;
  const toRedis = policy.spec.egress.find((r: Doc) => r.ports.some((p: Doc) => p.port === 6379));
  assert.deepEqual(toRedis.to, [{ podSelector: { matchLabels: redisPod } }]);
  const redis = find('NetworkPolicy', 'tripline-redis');
  assert.deepEqual(redis.spec.podSelector.matchLabels, redisPod);
  assert.deepEqual(redis.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(redis.spec.egress, undefined, 'Redis reaches nothing');
  assert.deepEqual(redis.spec.ingress, [
    {
      from: [{ podSelector: { matchLabels: { app: 'tripline' } } }],
      ports: [{ port: 6379, protocol: 'TCP' }],
    },
  ]);
  for (const d of [ds, netDs]) assert.equal(d.spec.template.metadata.labels.app, 'tripline', 'both pods reach Redis');
  // The probe pod: nothing in, out only DNS and Redis.
  const probePolicy = find('NetworkPolicy', 'tripline-probe');
  assert.deepEqual(probePolicy.spec.podSelector.matchLabels, ds.spec.template.metadata.labels);
  assert.deepEqual(probePolicy.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(probePolicy.spec.ingress, undefined, 'nothing reaches the probe pod');
  const probeEgress = probePolicy.spec.egress.flatMap((r: Doc) => r.ports.map((p: Doc) => `${p.protocol}/${p.port}`));
  assert.deepEqual(probeEgress.sort(), ['TCP/53', 'TCP/6379', 'UDP/53']);
});

test('Secrets are templates: marked, placeholders only, refused at start until replaced', () => {
  const secrets = objects.filter((o) => o.obj.kind === 'Secret').map((o) => o.obj);
  assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), ['tripline-api', 'tripline-redis', 'tripline-slack']);
  assert.match(text('secrets.yaml'), /^# TEMPLATES/);
  for (const s of secrets) {
    assert.ok(s.metadata.annotations['tripline.dev/template'], `${s.metadata.name} is marked as a template`);
    assert.equal(s.data, undefined, `${s.metadata.name}: no base64 data`);
    for (const [key, value] of Object.entries(s.stringData))
      assert.equal(value, 'replace-me', `${s.metadata.name}/${key} holds the placeholder, not a real-looking value`);
  }
  // The placeholder starts nothing: the probe side refuses it as an API token, the Redis container as a password.
  const dir = mkdtempSync(join(tmpdir(), 'tripline-secret-'));
  try {
    writeFileSync(join(dir, 'api-token'), 'replace-me\n', { mode: 0o600 });
    assert.throws(() => loadApiToken(join(dir, 'api-token')), /holds no usable token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const redis = find('Deployment', 'tripline-redis').spec.template.spec.containers[0];
  assert.deepEqual(redis.command, ['sh', '-c']);
  for (const password of ['replace-me', '']) {
    const run = spawnSync('sh', ['-c', redis.args[0]], { env: { REDIS_PASSWORD: password }, encoding: 'utf8' });
    assert.equal(run.status, 1, `Redis refuses ${JSON.stringify(password)}`);
    assert.match(run.stderr, /set a password in the tripline-redis Secret/);
  }
});
