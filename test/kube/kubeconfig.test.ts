import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { inClusterConfig, resolveCredentials } from '../../src/kube/kubeconfig.ts';
import { KubeClient, KubeHttpError } from '../../src/kube/client.ts';
import { RateLimitedError, RetryableError } from '../../src/actions/errors.ts';
import { hasCode } from '../../src/errors.ts';
import { FakeKube } from '../support/fake-kube.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-kube-`));
after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(server: string, cluster: string, user: string): string {
  return `apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: other
  context: { cluster: nope, user: nope }
- name: prod
  context: { cluster: c1, user: u1 }
clusters:
- name: c1
  cluster:
    server: ${server}/
${cluster}
users:
- name: u1
  user:
${user}
`;
}

/** Writes a kubeconfig file and loads credentials from it. */
function load(name: string, text: string) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return resolveCredentials({ kubeconfig: file }, {});
}

/** The request options credentials give one request (CA, certificate, Authorization header). */
async function applied(creds: ReturnType<typeof resolveCredentials>): Promise<RequestOptions> {
  const opts: RequestOptions = { headers: {} };
  await creds.apply!(opts);
  return opts;
}

test('kubeconfig: current context, server, CA data, token', async () => {
  const c = load(
    'basic',
    kubeconfig(
      'https://10.0.0.1:6443',
      `    certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}`,
      '    token: abc.def',
    ),
  );
  assert.equal(c.server, 'https://10.0.0.1:6443');
  const o = await applied(c);
  assert.equal(o.ca?.toString(), 'CA PEM');
  assert.equal((o.headers as Record<string, string>).Authorization, 'Bearer abc.def');
  assert.equal(o.rejectUnauthorized, undefined, 'TLS verified');
});

test('kubeconfig: file paths relative to the kubeconfig, client certificates, insecure-skip-tls-verify', async () => {
  writeFileSync(join(dir, 'ca.crt'), 'CA FILE');
  writeFileSync(join(dir, 'client.crt'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const o = await applied(
    load(
      'config',
      kubeconfig(
        'https://h:6443',
        '    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true',
        '    client-certificate: client.crt\n    client-key: client.key',
      ),
    ),
  );
  assert.equal(o.ca?.toString(), 'CA FILE');
  assert.equal(o.cert?.toString(), 'CERT');
  assert.equal(o.key?.toString(), 'KEY');
  assert.equal(o.rejectUnauthorized, false);
});

test('kubeconfig errors name the file and what is missing, never a token', () => {
  const cases: [string, RegExp][] = [
    ['kind: Config\n', /no current-context/],
    ['current-context: x\ncontexts: []\n', /context "x" not found/],
    [
      'current-context: a\ncontexts: [{ name: a, context: { cluster: c, user: u } }]\nclusters: []\nusers: []\n',
      /cluster "c" not found/,
    ],
    ['current-context: [unclosed\n', /not valid YAML/],
    [kubeconfig('http://10.0.0.9:8080', '', '    token: secret-tok'), /clear text/],
  ];
  for (const [text, want] of cases) {
    const file = join(dir, 'bad');
    writeFileSync(file, text);
    assert.throws(
      () => resolveCredentials({ kubeconfig: file }, {}),
      (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && want.test(e.message) && !/secret-tok/.test(e.message),
      String(want),
    );
  }
  assert.throws(
    () => resolveCredentials({ kubeconfig: join(dir, 'absent') }, {}),
    (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && /absent/.test(e.message),
  );
  assert.throws(
    () => resolveCredentials({}, {}, join(dir, 'no-sa')),
    (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && /KUBECONFIG/.test(e.hint),
  );
});

test('in-cluster credentials come from the service account folder and the service env', async () => {
  const sa = join(dir, 'sa');
  execFileSync('mkdir', ['-p', sa]);
  writeFileSync(join(sa, 'token'), 'sa-token\n');
  writeFileSync(join(sa, 'ca.crt'), 'SA CA');
  assert.equal(inClusterConfig({}, sa), undefined);
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const c = resolveCredentials({}, env, sa);
  assert.equal(c.server, 'https://10.96.0.1:443');
  assert.equal(c.source, 'in-cluster');
  const o = await applied(c);
  assert.equal((o.headers as Record<string, string>).Authorization, 'Bearer sa-token');
  assert.equal(o.ca?.toString(), 'SA CA');
});

test('an exec credential plugin runs and its token is sent (client-node ExecAuth)', async () => {
  const plugin = join(dir, 'plugin.sh');
  writeFileSync(
    plugin,
    `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-tok"}}'\n`,
  );
  chmodSync(plugin, 0o755);
  const kube = await new FakeKube().start();
  try {
    kube.token = 'exec-tok';
    kube.addDeployment('shop', 'web', 2);
    const creds = load(
      'exec',
      kubeconfig(
        kube.url,
        '',
        `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never`,
      ),
    );
    const scale = await new KubeClient(creds).get<{ spec: { replicas: number } }>(
      '/apis/apps/v1/namespaces/shop/deployments/web/scale',
    );
    assert.equal(scale.spec.replicas, 2);
    assert.equal(kube.calls.at(-1)!.authorization, 'Bearer exec-tok');
  } finally {
    await kube.stop();
  }
});

test('the client talks HTTPS with the kubeconfig CA and token; errors map to action error classes', async (t) => {
  const key = join(dir, 'srv.key'),
    cert = join(dir, 'srv.crt');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    t.skip('openssl is not installed: cannot make a test certificate');
    return;
  }
  const kube = await new FakeKube().start({ key: readFileSync(key), cert: readFileSync(cert) });
  try {
    kube.token = 'tok-123';
    kube.addDeployment('shop', 'web', 2);
    const file = join(dir, 'tls-config');
    writeFileSync(file, kubeconfig(kube.url, `    certificate-authority: ${cert}`, '    token: tok-123'));
    const client = new KubeClient(resolveCredentials({ kubeconfig: file }, {}));
    const scale = await client.get<{ spec: { replicas: number } }>(
      '/apis/apps/v1/namespaces/shop/deployments/web/scale',
    );
    assert.equal(scale.spec.replicas, 2);
    await client.patch('/apis/apps/v1/namespaces/shop/deployments/web/scale', { spec: { replicas: 3 } }, true);
    const last = kube.patches().at(-1)!;
    assert.equal(last.contentType, 'application/merge-patch+json');
    assert.equal(last.query.dryRun, 'All');
    assert.equal(kube.replicas.get('deployments/shop/web'), 2, 'a dry run changes nothing');

    // Without the CA the server's certificate is refused (retryable network error, like a real TLS failure).
    const noCa = new KubeClient(load('no-ca', kubeconfig(kube.url, '', '    token: tok-123')));
    await assert.rejects(
      noCa.get('/api/v1/pods'),
      (e: unknown) => e instanceof RetryableError && e.reason === 'network',
    );
    const wrongToken = new KubeClient(
      load('wrong-token', kubeconfig(kube.url, `    certificate-authority: ${cert}`, '    token: nope')),
    );
    await assert.rejects(
      wrongToken.get('/api/v1/pods'),
      (e: unknown) =>
        e instanceof KubeHttpError &&
        e.status === 401 &&
        /RBAC|service account/.test(e.hint) &&
        !/nope/.test(e.message),
    );
    kube.fail(/GET \/api\/v1\/pods/, 429);
    await assert.rejects(client.get('/api/v1/pods'), (e: unknown) => e instanceof RateLimitedError);
    kube.fail(/GET \/api\/v1\/pods/, 503);
    await assert.rejects(
      client.get('/api/v1/pods'),
      (e: unknown) => e instanceof RetryableError && e.reason === 'http_503',
    );
    await assert.rejects(
      client.get('/api/v1/namespaces/x/pods/y'),
      (e: unknown) => e instanceof KubeHttpError && e.status === 404,
    );
  } finally {
    await kube.stop();
  }
});

test('KUBECONFIG with several files: missing ones skipped, the rest merged as kubectl does (first wins)', async () => {
  const ctx = join(dir, 'ctx');
  writeFileSync(
    ctx,
    'current-context: prod\ncontexts: [{ name: prod, context: { cluster: c1, user: u1 } }]\n' +
      'clusters: [{ name: c1, cluster: { server: "https://second:6443" } }]\nusers: []\n',
  );
  const users = join(dir, 'users');
  writeFileSync(
    users,
    'current-context: other\ncontexts: []\nclusters: [{ name: c1, cluster: { server: "https://ignored:1" } }]\n' +
      'users: [{ name: u1, user: { token: t2 } }]\n',
  );
  const c = resolveCredentials({ kubeconfig: `${join(dir, 'missing')}:${ctx}:${users}` }, {});
  assert.equal(c.server, 'https://second:6443');
  assert.equal(((await applied(c)).headers as Record<string, string>).Authorization, 'Bearer t2');
});

test('api_url overrides the server and works without other credentials', async () => {
  const c = resolveCredentials({ api_url: 'http://127.0.0.1:8001/' }, {}, join(dir, 'no-sa'));
  assert.equal(c.server, 'http://127.0.0.1:8001');
  assert.equal(c.source, 'api_url');
  assert.equal(((await applied(c)).headers as Record<string, string>).Authorization, undefined);
  const file = join(dir, 'basic');
  const over = resolveCredentials({ kubeconfig: file, api_url: 'http://127.0.0.1:8001' }, {});
  assert.equal(over.server, 'http://127.0.0.1:8001');
  assert.match(over.source, /server from api_url/);
});

test('a hostile API server is cut off: an answer that trickles, one over the size limit; a hung credential plugin', async (t) => {
  // A raw server (not the fake): one path trickles a byte every 50 ms forever, one sends 2 MB of JSON.
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url!.includes('/pods/slow')) {
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    } else res.end(`{"items":"${'x'.repeat(2_000_000)}"}`);
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  const creds = resolveCredentials({ api_url: url }, {}, join(dir, 'no-sa'));
  const client = new KubeClient(creds, { deadlineMs: 500, maxBodyBytes: 1_000_000, credentialsTimeoutMs: 300 });
  const t0 = Date.now();
  await assert.rejects(client.get('/api/v1/namespaces/a/pods/slow'), (e: Error) => {
    assert.ok(e instanceof RetryableError);
    assert.match(e.message, /no complete answer in 500 ms/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, 'cut off at the deadline although bytes kept coming');
  await assert.rejects(client.get('/api/v1/namespaces/a/pods/big'), /answer over 1000000 bytes, cut off/);
  const hung = new KubeClient({ ...creds, apply: () => new Promise<void>(() => {}) }, { credentialsTimeoutMs: 300 });
  await assert.rejects(hung.get('/api/v1/namespaces/a/pods/big'), (e: Error) => {
    assert.ok(e instanceof RetryableError);
    assert.match(e.message, /the credential plugin did not answer in 300 ms/);
    return true;
  });
});
