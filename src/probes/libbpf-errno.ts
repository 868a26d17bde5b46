/** How the probe runtime words a failed libbpf call: errno text and the hint for permission errors. */

/** errno values libbpf hands back (negated) that the probe runtime tells apart. */
export const ENOENT = 2;
export const EPERM = 1;
export const EACCES = 13;
export const ENOSPC = 28;
export const E2BIG = 7;
export const ENOMEM = 12;

/** "errno N", or "permission denied (errno N)" for EPERM/EACCES. */
export function errnoText(errno: number): string {
  return errno === EPERM || errno === EACCES ? `permission denied (errno ${errno})` : `errno ${errno}`;
}

/** The hint for an EPERM/EACCES failure (root or capabilities), or `otherwise` for any other errno. */
export function permissionHint(errno: number, otherwise: string): string {
  if (errno !== EPERM && errno !== EACCES) return otherwise;
  return process.geteuid?.() === 0
    ? 'running as root, so the kernel refuses this program type here (lockdown, or a program type this kernel forbids): see `tripline probes`'
    : 'run as root or grant CAP_BPF and CAP_PERFMON (and CAP_SYS_RESOURCE on older kernels)';
}
