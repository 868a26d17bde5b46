// The probe side's checks of capture.request / capture.extend (src/pipeline/capture-requests.ts), called as the
// channel calls them, with a real capture manager running a small /proc probe and cgroup targets looked up in a
// directory laid out like a cgroup hierarchy: the 300 s cap holds per capture across requests sharing it, extensions
// are rate-limited, a join captures the joined incident's own target, the resolved names win over the request's
// labels, the policy (capture.requests) and the schema's bounds are enforced here, not only by the channel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CaptureManager } from '../../src/capture/manager.ts';
import {
  CaptureRequests,
  EXTENDS_PER_MINUTE,
  type CaptureRequestsOptions,
} from '../../src/pipeline/capture-requests.ts';
import { CaptureRequestsPolicySchema } from '../../src/capture/schema/requests.ts';
import { cpuCgroupOf, policyRefusal, procView, type ProcessView } from '../../src/capture/request-policy.ts';
import type { CaptureReply, CaptureRequestMsg } from '../../src/capture/request-schema.ts';
import type { IncidentReport } from '../../src/pipeline/events.ts';
import type { Incident } from '../../src/incident.ts';
import { createLogger } from '../../src/log.ts';
import { procstat } from '../support/procstat-probe.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-capreq-`));
const cgroups = join(root, 'cg');
for (const d of ['kubepods/web', 'kubepods/other', 'system.slice/x']) mkdirSync(join(cgroups, d), { recursive: true });
const managers: CaptureManager[] = [];
const pids: number[] = [];
const children: ChildProcess[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** A process that is not this one's child (the shell that started it exits): not the engine's. */
function stranger(): number {
  const r = spawnSync('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 0, r.stderr);
  pids.push(pid);
  return pid;
}

function setup(over: Partial<CaptureRequestsOptions> = {}) {
  const manager = new CaptureManager({
    registry: { procstat: procstat('procstat') },
    objDir: '/nonexistent',
    redact: true,
    bundlesDir: join(root, `bundles-${managers.length}`),
    maxConcurrent: 8,
    maxCpuPercent: 400,
    defaultDurationMs: 1000,
  });
  manager.start();
  managers.push(manager);
  const reports: IncidentReport[] = [];
  const requests = new CaptureRequests({
    capture: manager,
    probes: ['procstat'],
    lookup: { mount: { version: 2, dir: cgroups, root: '/' }, pod: () => undefined },
    host: 'node-1',
    defaultDurationMs: 1000,
    outlet: (r) => void reports.push(r),
    firing: () => undefined,
    log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    ...over,
  });
  return { manager, requests, reports };
}

const source = { kind: 'slack' as const, id: 'action-1', who: 'U123' };
const code = (r: CaptureReply) => (r.accepted ? 'accepted' : r.code);

test('the 300 s cap holds per capture across requests that share it; extensions are rate-limited', () => {
  const { requests } = setup();
  const req: CaptureRequestMsg = {
    target: { kind: 'pid', pid: stranger() },
    probes: ['procstat'],
    durationMs: 1000,
    source,
  };
  const a = requests.request(req);
  const b = requests.request(req); // the same key: joins the running capture
  assert.ok(a.accepted && b.accepted, JSON.stringify([a, b]));
  assert.equal(a.key, b.key);
  const ext = (captureId: string, seconds: number) => requests.extend({ captureId, seconds });
  assert.equal(ext(a.captureId, 120).extended, true);
  assert.equal(ext(b.captureId, 120).extended, true);
  // 1 + 120 + 120 s: another minute is past 300 s, whichever request asks.
  for (const id of [b.captureId, a.captureId]) {
    const r = ext(id, 60);
    assert.deepEqual([r.extended, !r.extended && r.code], [false, 'limit'], JSON.stringify(r));
  }
  assert.equal(ext(a.captureId, 59).extended, true, 'up to 300 s in all');

  const fresh = setup().requests;
  for (let i = 0; i < EXTENDS_PER_MINUTE; i++)
    assert.equal((fresh.extend({ captureId: 'nope', seconds: 1 }) as { code: string }).code, 'unknown');
  assert.equal((fresh.extend({ captureId: 'nope', seconds: 1 }) as { code: string }).code, 'rate');
});

test('a join captures the joined incident’s own target; a request naming another target is refused', () => {
  const pid = stranger();
  const web = join(cgroups, 'kubepods/web');
  const joined = {
    key: 'cpu-throttled{cgroup="/kubepods/web"}',
    target: { cgroupPath: '/kubepods/web', cgroupId: String(statSync(web).ino), pids: [pid] },
  } as unknown as Incident;
  const { requests, reports } = setup({ firing: (key) => (key === joined.key ? joined : undefined) });
  const join_ = { key: joined.key };
  const other = requests.request({
    target: { kind: 'cgroup', path: '/kubepods/other' },
    probes: ['procstat'],
    source,
    join: join_,
  });
  assert.equal(code(other), 'join', JSON.stringify(other));
  const node = requests.request({ target: { kind: 'node' }, probes: ['procstat'], source, join: join_ });
  assert.equal(code(node), 'join');
  const gone = requests.request({
    target: { kind: 'cgroup', path: '/kubepods/web' },
    probes: ['procstat'],
    source,
    join: { key: 'x{}' },
  });
  assert.equal(code(gone), 'join');
  const ok = requests.request({
    target: { kind: 'pid', pid },
    probes: ['procstat'],
    source,
    join: join_,
    labels: { cgroup: '/evil', pod: 'someone-else', alertname: 'Slow' },
  });
  assert.ok(ok.accepted, JSON.stringify(ok));
  assert.equal(ok.key, joined.key);
  assert.deepEqual(ok.target, { cgroupPath: '/kubepods/web', cgroupId: joined.target.cgroupId, pids: [pid] });
  // The names the probe side resolved win over the request's labels.
  const inc = reports.find((r) => r.request?.captureId === ok.captureId)?.incident;
  assert.equal(inc?.labels.cgroup, '/kubepods/web');
  assert.equal(inc?.labels.pod, 'someone-else', 'a label the target does not name stays');
  assert.equal(inc?.labels.alertname, 'Slow');

  // An incident naming its cgroup by path only: the id is found on this host. A host-level incident: a node target.
  const byPath = { key: 'p{}', target: { cgroupPath: '/kubepods/other' } } as unknown as Incident;
  const hostLevel = { key: 'h{}', target: {} } as unknown as Incident;
  const incidents = new Map([byPath, hostLevel].map((i) => [i.key, i]));
  const nodes = CaptureRequestsPolicySchema.parse({ targets: ['cgroup', 'node'] });
  const more = setup({ firing: (key) => incidents.get(key), policy: nodes }).requests;
  const p = more.request({
    target: { kind: 'cgroup', path: '/kubepods/other' },
    probes: ['procstat'],
    source,
    join: { key: 'p{}' },
  });
  assert.ok(p.accepted, JSON.stringify(p));
  assert.equal(p.target.cgroupId, String(statSync(join(cgroups, 'kubepods/other')).ino));
  const h = more.request({ target: { kind: 'node' }, probes: ['procstat'], source, join: { key: 'h{}' } });
  assert.ok(h.accepted && h.target.hostWide, JSON.stringify(h));
  const wrong = more.request({
    target: { kind: 'cgroup', path: '/kubepods/web' },
    probes: ['procstat'],
    source,
    join: { key: 'h{}' },
  });
  assert.equal(code(wrong), 'join');
});

test('the schema is checked on the probe side too: no .. in cgroup paths, at most 120 s', () => {
  const { requests } = setup();
  for (const path of ['/kubepods/..', '/kubepods/web/../other', '/../cg'])
    assert.equal(
      code(requests.request({ target: { kind: 'cgroup', path }, probes: ['procstat'], source })),
      'bad_target',
      path,
    );
  const long = requests.request({
    target: { kind: 'cgroup', path: '/kubepods/web' },
    probes: ['procstat'],
    durationMs: 121_000,
    source,
  });
  assert.equal(code(long), 'bad_target', JSON.stringify(long));
  assert.match(long.accepted ? '' : long.reason, /durationMs/);
  const fine = requests.request({
    target: { kind: 'cgroup', path: '/kubepods/web' },
    probes: ['procstat'],
    durationMs: 120_000,
    source,
  });
  assert.equal(code(fine), 'accepted', JSON.stringify(fine));
});

test('policy: target kinds, probes and cgroup prefixes of capture.requests; never the engine’s own processes', () => {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  const policy = (p: unknown) => CaptureRequestsPolicySchema.parse(p);
  const { requests } = setup();
  const refused = (r: CaptureReply, re: RegExp) => {
    assert.equal(code(r), 'policy', JSON.stringify(r));
    assert.match(r.accepted ? '' : r.reason, re);
  };
  refused(requests.request({ target: { kind: 'node' }, probes: ['procstat'], source }), /capture\.requests\.targets/);
  refused(requests.request({ target: { kind: 'pid', pid: process.pid }, probes: ['procstat'], source }), /probe side/);
  refused(requests.request({ target: { kind: 'pid', pid: child.pid! }, probes: ['procstat'], source }), /started/);
  const stranger_ = stranger();
  assert.equal(
    code(requests.request({ target: { kind: 'pid', pid: stranger_ }, probes: ['procstat'], source })),
    'accepted',
  );

  // The network side: any process of its user.
  const uid = process.getuid!();
  const net = setup({ procs: procView({ version: 2, networkUid: uid }) }).requests;
  refused(net.request({ target: { kind: 'pid', pid: stranger() }, probes: ['procstat'], source }), /network side/);

  const narrow = setup({ policy: policy({ probes: ['other'], cgroup_prefixes: ['/kubepods'] }) }).requests;
  refused(
    narrow.request({ target: { kind: 'cgroup', path: '/kubepods/web' }, probes: ['procstat'], source }),
    /probes/,
  );
  const prefixed = setup({ policy: policy({ cgroup_prefixes: ['/kubepods'] }) }).requests;
  refused(
    prefixed.request({ target: { kind: 'cgroup', path: '/system.slice/x' }, probes: ['procstat'], source }),
    /prefixes/,
  );
  const under = prefixed.request({ target: { kind: 'cgroup', path: '/kubepods/web' }, probes: ['procstat'], source });
  assert.equal(code(under), 'accepted', JSON.stringify(under));
  const all = setup({ policy: policy({ targets: ['node'] }) }).requests;
  assert.equal(code(all.request({ target: { kind: 'node' }, probes: ['procstat'], source })), 'accepted');
  assert.throws(() => policy({ probes: ['bpftrace'] }), /bpftrace/);
});

test('policy: a cgroup that holds the engine’s cgroup, or is inside it, is refused', () => {
  const view: ProcessView = {
    engineProcess: () => undefined,
    engineCgroups: () => ['/system.slice/tripline.service'],
    cgroupOf: () => '/user.slice',
  };
  const p = CaptureRequestsPolicySchema.parse({});
  const check = (cgroupPath: string) =>
    policyRefusal(p, { kind: 'cgroup', probes: ['profile'], target: { cgroupPath } }, view, ['profile', 'bpftrace']);
  assert.match(check('/system.slice') ?? '', /holds the engine/);
  assert.match(check('/system.slice/tripline.service') ?? '', /inside the engine/);
  assert.match(check('/system.slice/tripline.service/sub') ?? '', /inside the engine/);
  assert.equal(check('/system.slice/nginx.service'), undefined);
  assert.equal(check('/system.slice/tripline.service2'), undefined);
  assert.match(
    policyRefusal(p, { kind: 'pid', probes: ['bpftrace'], target: { pids: [1] } }, view, ['bpftrace']) ?? '',
    /bpftrace: not allowed/,
  );
  // /proc/PID/cgroup: the v2 line, or the v1 line of the cpu controller.
  assert.equal(cpuCgroupOf('0::/system.slice/a.service\n', 2), '/system.slice/a.service');
  assert.equal(cpuCgroupOf('4:memory:/m\n2:cpu,cpuacct:/kubepods/x\n0::/\n', 1), '/kubepods/x');
  assert.equal(typeof cpuCgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), 2), 'string');
});
