/**
 * The demo's copy of the bundled throttling rule: the same conditions, thresholds, probes and actions, with
 * timings short enough for a one-minute demo, scoped to the demo's cgroups, and the scale action in dry run
 * against a named workload (the demo's cgroups belong to no Kubernetes pod).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml';

/** Timings of the demo rule, printed so the user knows what differs from the bundled file. */
export const DEMO_TIMINGS = { window: '10s', for: '5s', keep_firing_for: '5s', capture: '5s' } as const;

/** Writes the demo rule into `dir` and returns its path. */
export function writeDemoRule(bundledFile: string, dir: string, cgroupPrefix: string): string {
  const doc = parseDocument(readFileSync(bundledFile, 'utf8'));
  const spec = doc.get('spec') as YAMLMap;
  setWindows(spec.get('when'));
  spec.set('for', DEMO_TIMINGS.for);
  spec.set('keep_firing_for', DEMO_TIMINGS.keep_firing_for);
  spec.set('cooldown', '1m');
  spec.set('match', { cgroup: { regex: `${escapeRegex(cgroupPrefix)}.*` } });
  (spec.get('capture') as YAMLMap).set('duration', DEMO_TIMINGS.capture);
  const actions = spec.get('actions');
  if (isSeq(actions)) {
    for (const a of actions.items) {
      if (isMap(a) && a.get('type') === 'scale') {
        a.set('target', { kind: 'Deployment', namespace: 'demo', name: 'demo-app' });
        a.set('dry_run', true);
        a.set('verify', '0s');
      }
    }
  }
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'cpu-throttling.yaml');
  writeFileSync(
    out,
    `# Demo copy of ${bundledFile} (timings shortened, scoped to the demo's cgroups, scale in dry run).\n${doc.toString()}`,
  );
  return out;
}

function setWindows(node: unknown): void {
  if (isSeq(node)) {
    for (const item of node.items) setWindows(item);
    return;
  }
  if (!isMap(node)) return;
  if (node.has('window')) node.set('window', DEMO_TIMINGS.window);
  for (const key of ['all', 'any']) if (node.has(key)) setWindows(node.get(key));
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
