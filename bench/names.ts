/**
 * What names (namespace, pod, container, workload from the pod directory) cost per tick: the sampler and the rules'
 * windows at N kubelet-style cgroups, without a pod directory, with one that names every cgroup, and with a directory
 * replaced before every tick (the worst case: every cgroup's labels rebuilt and compared, every window's labels
 * checked). Pure user space (scripted readings), so it runs anywhere.
 *   scripts/node bench/names.ts [--cgroups 1000] [--ticks 300]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createSampler } from '../src/sampler/sampler.ts';
import { buildConfig } from '../src/config.ts';
import { parseCgroupPath } from '../src/probes/cgroup-path.ts';
import { PodDirectory } from '../src/probes/pod-directory.ts';
import type { CgroupInfo } from '../src/probes/cgroups.ts';
import type { PodMeta } from '../src/pod-meta.ts';
import type { Reading } from '../src/probes/counters/types.ts';
import { Evaluator } from '../src/rules/evaluate/evaluate.ts';
import { cond, rule, ruleSet } from '../test/support/rule-fixtures.ts';

const { values: args } = parseArgs({
  options: { cgroups: { type: 'string', default: '1000' }, ticks: { type: 'string', default: '300' } },
});
const N = Number(args.cgroups);
const TICKS = Number(args.ticks);

const hex = (i: number, len: number): string => i.toString(16).padStart(len, '0');
const uidOf = (i: number): string => `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
const cidOf = (i: number): string => hex(i, 64);
const infos = new Map<string, CgroupInfo>();
for (let i = 0; i < N; i++) {
  const path = `/kubepods/burstable/pod${uidOf(i)}/${cidOf(i)}`;
  infos.set(String(1000 + i), { id: String(1000 + i), rel: path, path, dir: '', labels: parseCgroupPath(path) });
}
const pods: PodMeta[] = Array.from({ length: N }, (_, i) => ({
  uid: uidOf(i),
  namespace: `ns-${i % 20}`,
  name: `web-${i}-7d9f-abcde`,
  qos: 'Burstable',
  workload: { kind: 'Deployment', name: `web-${i % 50}` },
  containers: [{ id: cidOf(i), name: 'app' }],
}));
const labels = [...infos.keys()].map((id) => Object.freeze({ cgroup_id: id }));

function run(mode: 'none' | 'named' | 'replaced'): { p50: number; p99: number } {
  let n = 0;
  const family = {
    name: 'scripted',
    read: (): Reading[] => {
      n++;
      return labels.flatMap((l, i) => [
        { kind: 'counter' as const, signal: 'runq_delay_over_threshold', labels: l, value: n * (i % 7) },
        { kind: 'counter' as const, signal: 'cpu_periods', labels: l, value: n * 10 },
        { kind: 'counter' as const, signal: 'cpu_throttled_periods', labels: l, value: n * (i % 3) },
      ]);
    },
    stats: () => ({ programs: 0, dropped: 0 }),
    close() {},
  };
  const dir = mode === 'none' ? undefined : new PodDirectory();
  dir?.replace({ pods });
  const sampler = createSampler({
    families: [family],
    resolver: { resolve: (id) => infos.get(id) },
    pods: dir,
    config: buildConfig({ sampler: { tick: '1s', history: '1m' } }, {}),
    now: (() => {
      let t = 0;
      return () => (t += 1000);
    })(),
  });
  const ev = new Evaluator(
    ruleSet([
      rule({
        name: 'hot',
        groupBy: ['cgroup'],
        when: cond({ signal: 'runq_delay_over_threshold', stat: 'rate', windowMs: 30_000, threshold: 1e9 }),
      }),
    ]),
    { host: 'bench' },
  );
  const times: number[] = [];
  for (let i = 0; i < TICKS; i++) {
    if (mode === 'replaced') dir!.replace({ pods });
    const t0 = performance.now();
    ev.tick(sampler.tick());
    times.push(performance.now() - t0);
  }
  const s = times.slice(Math.floor(TICKS / 5)).sort((a, b) => a - b); // warm-up ticks left out
  return { p50: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)] };
}

console.log(`scripts/node bench/names.ts --cgroups ${N} --ticks ${TICKS}  (sampler tick + rules tick, ms)`);
for (const mode of ['none', 'named', 'replaced', 'none', 'named', 'replaced'] as const) {
  const r = run(mode);
  console.log(`${mode.padEnd(9)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
}
