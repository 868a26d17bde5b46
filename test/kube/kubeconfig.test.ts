import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inClusterCredentials, parseKubeconfig, resolveCredentials } from '../../src/kube/kubeconfig.ts';
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

test('kubeconfig: current context, server, CA data, token', () => {
  const c = parseKubeconfig(
    kubeconfig(
      'https://10.0.0.1:6443',
      `    certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}`,
      '    token: abc.def',
    ),
    '/x/config',
  );
  assert.equal(c.server, 'https://10.0.0.1:6443');
  assert.equal(c.ca?.toString(), 'CA PEM');
  assert.equal(c.token, 'abc.def');
  assert.equal(c.insecureSkipTlsVerify, false);
});

test('kubeconfig: file paths relative to the kubeconfig, client certificates, insecure-skip-tls-verify', () => {
  writeFileSync(join(dir, 'ca.crt'), 'CA FILE');
  writeFileSync(join(dir, 'client.crt'), 'CERT');
  writeFileSync(join(dir, 'client.key'), 'KEY');
  const c = parseKubeconfig(
    kubeconfig(
      'https://h:6443',
      '    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true',
      '    client-certificate: client.crt\n    client-key: client.key',
    ),
    join(dir, 'config'),
  );
  assert.equal(c.ca?.toString(), 'CA FILE');
  assert.equal(c.cert?.toString(), 'CERT');
  assert.equal(c.key?.toString(), 'KEY');
  assert.equal(c.insecureSkipTlsVerify, true);
});

test('kubeconfig errors name the file and what is missing, never a token', () => {
  const cases: [string, RegExp][] = [
    ['kind: Config\n', /no current-context/],
    ['current-context: x\ncontexts: []\n', /context "x" not found/],
    [kubeconfig('https://h', '', '    exec: { command: aws }'), /exec\/auth-provider plugin/],
    ['current-context: [unclosed\n', /not valid YAML/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => parseKubeconfig(text, '/etc/kube/config'),
      (e: unknown) =>
        hasCode(e, 'ACTION_ERR_CONFIG') && want.test(e.message) && e.message.startsWith('/etc/kube/config:'),
      String(want),
    );
  }
  assert.throws(
    () => resolveCredentials({}, {}),
    (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && /KUBECONFIG/.test(e.hint),
  );
});

test('in-cluster credentials come from the service account folder and the service env', () => {
  const sa = join(dir, 'sa');
  execFileSync('mkdir', ['-p', sa]);
  writeFileSync(join(sa, 'token'), 'sa-token\n');
  writeFileSync(join(sa, 'ca.crt'), 'SA CA');
  assert.equal(inClusterCredentials({}, sa), undefined);
  const c = inClusterCredentials({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa)!;
  assert.equal(c.server, 'https://10.96.0.1:443');
  assert.equal(c.tokenFile, join(sa, 'token'));
  assert.equal(c.ca?.toString(), 'SA CA');
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
    const noCa = new KubeClient({ server: kube.url, token: 'tok-123', source: 'test' });
    await assert.rejects(
      noCa.get('/api/v1/pods'),
      (e: unknown) => e instanceof RetryableError && e.reason === 'network',
    );
    const wrongToken = new KubeClient({ ...resolveCredentials({ kubeconfig: file }, {}), token: 'nope' });
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

test('KUBECONFIG with several files uses the first that exists', () => {
  const file = join(dir, 'second');
  writeFileSync(file, kubeconfig('https://second:6443', '', '    token: t2'));
  const c = resolveCredentials({ kubeconfig: `${join(dir, 'missing')}:${file}` }, {});
  assert.equal(c.server, 'https://second:6443');
  assert.equal(c.source, file);
});

test('api_url overrides the server and works without other credentials', () => {
  assert.deepEqual(resolveCredentials({ api_url: 'http://127.0.0.1:8001/' }, {}), {
    server: 'http://127.0.0.1:8001',
    source: 'api_url',
  });
});
