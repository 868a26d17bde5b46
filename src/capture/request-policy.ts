/**
 * The probe side's policy on requested captures (config `capture.requests`, src/capture/schema/requests.ts), checked
 * once the target is resolved on this host and before any probe attaches: the target kind and the probes must be
 * allowed, the captured cgroup under one of `cgroup_prefixes` when set; and whatever the config says, never the
 * engine itself: not the probe side (this process and its children), not the network side (any process of its
 * user), not a cgroup holding one of them (their own, or one above it: the probes match a cgroup's descendants too),
 * nor one below theirs (the root cgroup, where a container's processes may all sit, is not the engine's). Processes are read from /proc (`ProcessView`), so a test can give its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncidentTarget } from '../incident.ts';
import type { CaptureRequestsPolicy, RequestTargetKind } from './schema/requests.ts';

/** What the policy reads of the host's processes. */
export interface ProcessView {
  /** Why `pid` is one of the engine's own processes (probe side, its children, network side), else undefined. */
  engineProcess(pid: number): string | undefined;
  /** The cpu cgroups (paths) of the engine's processes, the root excepted. */
  engineCgroups(): readonly string[];
  /** The cpu cgroup path of a process, undefined when it cannot be read. */
  cgroupOf(pid: number): string | undefined;
}

/** The cpu cgroup of a /proc/PID/cgroup text: the v2 line (`0::/path`), or the v1 line whose controllers list cpu. */
export function cpuCgroupOf(text: string, version: 1 | 2): string | undefined {
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const controllers = line.slice(a + 1, b);
    if (version === 2 ? line.slice(0, a) === '0' && controllers === '' : controllers.split(',').includes('cpu'))
      return line.slice(b + 1);
  }
  return undefined;
}

/** Options of the /proc view. */
export interface ProcViewOptions {
  /** @defaultValue /proc */
  readonly proc?: string;
  /** The cpu hierarchy's version (which line of /proc/PID/cgroup counts). @defaultValue 2 */
  readonly version?: 1 | 2;
  /** The network side's uid (config network.user): its processes are the engine's. */
  readonly networkUid?: number;
  /** This process's pid. @defaultValue process.pid */
  readonly self?: number;
  /** How long the engine's cgroups are cached (a /proc scan). @defaultValue 10 s */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/** The ProcessView of this host's /proc. */
export function procView(o: ProcViewOptions = {}): ProcessView {
  const proc = o.proc ?? '/proc';
  const self = o.self ?? process.pid;
  const version = o.version ?? 2;
  const now = o.now ?? Date.now;
  const read = (pid: number | string, file: string): string | undefined => {
    try {
      return readFileSync(join(proc, String(pid), file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const field = (status: string, name: string): number[] =>
    (new RegExp(`^${name}:[ \t]*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
  const cgroupOf = (pid: number | string): string | undefined => {
    const t = read(pid, 'cgroup');
    return t === undefined ? undefined : cpuCgroupOf(t, version);
  };
  let cached: { at: number; cgroups: string[] } | undefined;
  return {
    engineProcess(pid) {
      const status = read(pid, 'status');
      if (status === undefined) return undefined;
      const tgid = field(status, 'Tgid')[0];
      if (pid === self || tgid === self) return 'the probe side itself';
      if (field(status, 'PPid')[0] === self) return 'a process the probe side started';
      if (o.networkUid !== undefined && field(status, 'Uid').includes(o.networkUid))
        return `the network side (a process of uid ${o.networkUid}, network.user)`;
      return undefined;
    },
    engineCgroups() {
      const t = now();
      if (cached && t - cached.at < (o.cacheMs ?? 10_000)) return cached.cgroups;
      const found = new Set<string>();
      const mine = cgroupOf(self);
      if (mine) found.add(mine);
      if (o.networkUid !== undefined) {
        let pids: string[] = [];
        try {
          pids = readdirSync(proc).filter((n) => /^\d+$/.test(n));
        } catch {
          /* no /proc: only our own */
        }
        for (const p of pids) {
          const status = read(p, 'status');
          if (!status || !field(status, 'Uid').includes(o.networkUid)) continue;
          const cg = cgroupOf(p);
          if (cg) found.add(cg);
        }
      }
      found.delete('/');
      cached = { at: t, cgroups: [...found] };
      return cached.cgroups;
    },
    cgroupOf: (pid) => cgroupOf(pid),
  };
}

/** Whether cgroup `a` is `b` or holds it. */
const holds = (a: string, b: string): boolean => a === b || b.startsWith(`${a === '/' ? '' : a}/`);

/** What a request asks for, once resolved on this host. */
export interface PolicySubject {
  readonly kind: RequestTargetKind;
  readonly probes: readonly string[];
  readonly target: IncidentTarget;
  readonly hostWide?: boolean;
}

/** Why the policy refuses a request (naming the config key or the engine's process), or undefined. */
export function policyRefusal(
  p: CaptureRequestsPolicy,
  s: PolicySubject,
  procs: ProcessView,
  catalog: readonly string[],
): string | undefined {
  if (!p.targets.includes(s.kind))
    return `${s.kind} targets are not allowed (capture.requests.targets: ${p.targets.join(', ') || 'none'})`;
  const allowed = p.probes ?? catalog.filter((n) => n !== 'bpftrace');
  const bad = s.probes.filter((n) => !allowed.includes(n));
  if (bad.length > 0) return `${bad.join(', ')}: not allowed (capture.requests.probes: ${allowed.join(', ')})`;
  if (s.hostWide) return undefined;
  const t = s.target;
  for (const pid of t.pids ?? []) {
    const own = procs.engineProcess(pid);
    if (own) return `pid ${pid} is ${own}: the engine does not capture itself`;
  }
  // A cgroup target takes its descendants too: it must not hold the engine's cgroup, nor be inside it.
  if (t.cgroupPath) {
    const cg = t.cgroupPath;
    const engine = procs.engineCgroups().find((e) => holds(e, cg) || holds(cg, e));
    if (engine)
      return `cgroup ${cg} ${holds(engine, cg) ? 'is inside' : 'holds'} the engine's own cgroup ${engine}: the engine does not capture itself`;
  }
  if (p.cgroup_prefixes.length === 0) return undefined;
  const cgroups = [...(t.cgroupPath ? [t.cgroupPath] : []), ...(t.pids ?? []).map((pid) => procs.cgroupOf(pid))];
  for (const cg of cgroups) {
    if (!cg) return 'the cgroup of the target cannot be read (capture.requests.cgroup_prefixes)';
    if (!p.cgroup_prefixes.some((prefix) => holds(prefix, cg)))
      return `cgroup ${cg} is not under capture.requests.cgroup_prefixes (${p.cgroup_prefixes.join(', ')})`;
  }
  return undefined;
}
