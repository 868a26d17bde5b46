/**
 * `capture.requests`: what the probe side lets a capture request (capture.request over the channel: an Alertmanager
 * alert, a Slack button, the API, all through the network side) capture on this host. Checked by the probe side
 * (src/capture/request-policy.ts) after it resolved the target and before any probe attaches; the engine's own
 * processes and cgroups (probe side and network side) are refused whatever this says.
 */
import { z } from 'zod';

/** Target kinds a request may name (src/capture/request-schema.ts). */
export const REQUEST_TARGET_KINDS = ['pod', 'container', 'cgroup', 'pid', 'node'] as const;
export type RequestTargetKind = (typeof REQUEST_TARGET_KINDS)[number];

const probe = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'a deep probe name (tripline probes)');
const cgroupPath = z
  .string()
  .max(4096)
  .regex(/^(\/[A-Za-z0-9_@:.\\-]+)+$/, 'a cgroup path like /kubepods or /system.slice/nginx.service')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'no . or .. segments');

export const CaptureRequestsPolicySchema = z
  .object({
    /**
     * Target kinds a request may name. `node` captures every task on the host (the engine's own included): off
     * unless listed. [] refuses every request. @defaultValue [pod, container, cgroup, pid]
     */
    targets: z
      .array(z.enum(REQUEST_TARGET_KINDS))
      .max(REQUEST_TARGET_KINDS.length)
      .default(['pod', 'container', 'cgroup', 'pid']),
    /**
     * Deep probes a request may run (the catalog's names). bpftrace is never requestable (a request carries no
     * program). @defaultValue every probe of the catalog but bpftrace
     */
    probes: z
      .array(probe)
      .max(64)
      .refine((p) => !p.includes('bpftrace'), 'bpftrace cannot be requested (a request carries no program)')
      .optional(),
    /**
     * When not empty, the cgroup a request captures (a cgroup target's, a pod's or container's, a pid's) must be
     * one of these or under one, e.g. [/kubepods]. @defaultValue [] (any cgroup)
     */
    cgroup_prefixes: z.array(cgroupPath).max(64).default([]),
  })
  .strict()
  .prefault({});
export type CaptureRequestsPolicy = z.output<typeof CaptureRequestsPolicySchema>;
