// A real, small deep probe that is not a kernel probe (for tests of the capture manager and what drives it).
import { readFileSync } from 'node:fs';
import { TriplineError } from '../../src/errors.ts';
import type {
  DeepProbe,
  PreparedProbe,
  ProbeBudget,
  ProbeResult,
  ProbeTarget,
  RunningProbe,
} from '../../src/probes/deep/types.ts';

// A real, small deep probe that is not a kernel probe: it samples /proc/PID/stat of the target pids every 10 ms
// (scheduler state and CPU ticks) and reports the time it spent doing so as its CPU cost. `burnMs` makes each
// tick also burn that much CPU, to exercise the CPU cap.
export function procstat(
  name: string,
  opts: { burnMs?: number; failPrepare?: boolean } = {},
): DeepProbe & { prepared: number; stops: number[] } {
  const probe = {
    name,
    description: 'samples /proc/PID/stat of the target',
    prepared: 0,
    stops: [] as number[],
    prepare(): PreparedProbe {
      if (opts.failPrepare)
        throw new TriplineError('PROBE_ERR_UNSUPPORTED', `${name}: not supported here`, { hint: 'test probe' });
      readFileSync('/proc/self/stat'); // proves /proc is readable before any trip
      probe.prepared++;
      let used = false;
      return {
        close() {
          used = true;
        },
        start(target: ProbeTarget, budget: ProbeBudget): RunningProbe & { cpuNs(): number } {
          if (used) throw new Error('prepared instance used twice');
          used = true;
          const startedAt = Date.now();
          const records: Record<string, unknown>[] = [];
          let events = 0,
            dropped = 0,
            cpuNs = 0;
          const tick = setInterval(() => {
            const t0 = process.hrtime.bigint();
            if (opts.burnMs)
              while (Number(process.hrtime.bigint() - t0) < opts.burnMs * 1e6) {
                /* burn */
              }
            for (const pid of target.pids ?? []) {
              try {
                const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
                const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // comm may hold spaces and parentheses
                events++;
                if (records.length < budget.maxEvents)
                  records.push({ pid, state: f[0], utime: Number(f[11]), stime: Number(f[12]) });
                else dropped++;
              } catch {
                /* exited */
              }
            }
            cpuNs += Number(process.hrtime.bigint() - t0);
          }, 10);
          let result: Promise<ProbeResult> | undefined;
          return {
            cpuNs: () => cpuNs,
            stop(o = {}) {
              if (!result) {
                clearInterval(tick);
                probe.stops.push(Date.now());
                result = Promise.resolve({
                  probe: name,
                  startedAt,
                  endedAt: Date.now(),
                  partial: o.partial ?? false,
                  events,
                  dropped,
                  errors: [],
                  records,
                  summary: { samples: events },
                  redactions: [],
                });
              }
              return result;
            },
          };
        },
      };
    },
  };
  return probe;
}
