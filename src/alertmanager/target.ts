/**
 * An alert's labels → the capture target on this host, or why the alert is not this host's. Pure (table test:
 * test/alertmanager/target.test.ts). In order: `namespace` + `pod` (+ `container`) name a pod (the probe side
 * captures it only if it runs on this node); `container_id` (a runtime URI like `containerd://<id>` or bare hex);
 * `cgroup`; `pid`; and for what names none of these, `instance`/`node`/`host`/`nodename` equal to this host make
 * a node-level alert. A cgroup, pid or node-level alert whose host labels name another host is another host's; a
 * cgroup or pid alert must name this host in one of them (a pid or a cgroup path means something on every node: one
 * without a host is no node's in particular, so not this one's). Pods and container ids are unique in the cluster:
 * the probe side captures them only where they run.
 */
import type { CaptureTargetSpec } from '../capture/request-schema.ts';

/** Labels that name the host an alert is about. */
export const HOST_LABELS = ['instance', 'node', 'host', 'nodename', 'hostname'] as const;

export type AlertTarget =
  | { readonly ok: true; readonly target: CaptureTargetSpec }
  | { readonly ok: false; readonly reason: 'other_host' | 'no_target'; readonly detail: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CGROUP = /^(\/[A-Za-z0-9_@:.\\-]+)+$/;

/** The host part of an `instance` (`node-1:9100`, `[::1]:9100`, `10.0.0.5`), lower case. */
export function hostPart(v: string): string {
  const s = v.trim().toLowerCase();
  if (s.startsWith('[')) return s.slice(1, s.indexOf(']') > 0 ? s.indexOf(']') : undefined);
  const colons = s.split(':').length - 1;
  return colons === 1 ? s.slice(0, s.indexOf(':')) : s;
}

/** Whether the alert's host labels name this host (`true`), another (`false`), or none is set (`undefined`). */
export function onThisHost(labels: Readonly<Record<string, string>>, names: readonly string[]): boolean | undefined {
  const mine = new Set(names.map((n) => n.toLowerCase()));
  let any = false;
  for (const l of HOST_LABELS) {
    const v = labels[l];
    if (!v) continue;
    any = true;
    const h = hostPart(v);
    if (mine.has(h) || mine.has(h.split('.')[0])) return true;
  }
  return any ? false : undefined;
}

/** The target of an alert on this host (`names`: the config's host and its aliases). */
export function alertTarget(labels: Readonly<Record<string, string>>, names: readonly string[]): AlertTarget {
  const { namespace, pod, container } = labels;
  if (namespace && pod) {
    if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(pod))
      return { ok: false, reason: 'no_target', detail: `namespace/pod ${namespace}/${pod} is not a pod name` };
    const c = container && DNS_LABEL.test(container) && container !== 'POD' ? container : undefined;
    return { ok: true, target: { kind: 'pod', namespace, pod, ...(c ? { container: c } : {}) } };
  }
  const here = onThisHost(labels, names);
  if (here === false)
    return {
      ok: false,
      reason: 'other_host',
      detail: `${HOST_LABELS.filter((l) => labels[l])
        .map((l) => `${l}=${labels[l]}`)
        .join(', ')} is not this host (${names[0]})`,
    };
  const cid = (labels.container_id ?? '').replace(/^[a-z-]+:\/\//, '').toLowerCase();
  if (/^[0-9a-f]{12,64}$/.test(cid)) return { ok: true, target: { kind: 'container', id: cid } };
  const cg = labels.cgroup ?? '';
  const noHost = (what: string): AlertTarget => ({
    ok: false,
    reason: 'other_host',
    detail: `a ${what} alert must name this host (${names[0]}) in ${HOST_LABELS.join(', ')}: ${what}s are per node`,
  });
  if (cg && CGROUP.test(cg) && !cg.split('/').some((s) => s === '.' || s === '..'))
    return here ? { ok: true, target: { kind: 'cgroup', path: cg } } : noHost('cgroup');
  const pid = Number(labels.pid);
  if (labels.pid && Number.isInteger(pid) && pid > 0 && pid <= 4_194_304)
    return here ? { ok: true, target: { kind: 'pid', pid } } : noHost('pid');
  if (here) return { ok: true, target: { kind: 'node' } };
  return {
    ok: false,
    reason: 'no_target',
    detail: 'no namespace+pod, container_id, cgroup, pid, or instance/node naming this host',
  };
}
