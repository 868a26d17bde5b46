/**
 * What an off-CPU or on-CPU stack was doing, from its frames (pure). Frames are root first: user frames, then
 * kernel frames (src/symbols/symbolizer.ts). Kernel function names are stable enough across 5.x–6.x to match:
 * - throttling: CFS's task-based throttling parks a task in task work on its way back to user space (6.x);
 * - lock: a futex wait (the kernel side of pthread mutexes, Go and Rust locks), unless the user frames show a
 *   condition variable, semaphore, join or other parking; a futex wait with no telling user frames counts as a lock
 *   only when the syscalls probe saw several threads wait on one address (a contended lock, not an idle pool);
 * - I/O: waiting for block I/O, page writeback or a journal commit (fsync and friends);
 * - memory: direct reclaim, compaction, memcg high-limit throttling, swap-in.
 */
import type { StackWeight } from '../bundle/types.ts';

const THROTTLE = /\bthrottle_cfs_rq\w*|\btask_work_run\b/;
const FUTEX = /^(_*futex_\w+|do_futex|__\w+_sys_futex)$/;
const MUTEX_USER = /lll_lock|mutex_lock|rwlock|lock_wait|Mutex|RwLock|[Ll]ock\b|lock_slow/;
const PARKED_USER =
  /cond_wait|cond_timedwait|cond_clockwait|futex_abstimed_wait|sem_wait|sem_timedwait|sem_clockwait|pthread_join|barrier|uv_cond|uv_sem|futexsleep|notesleep|park|Condvar|wait_for_work/;
const IO =
  /^(io_schedule\w*|blk_mq_get_tag|folio_wait_bit\w*|folio_wait_writeback|wait_on_page_\w+|__wait_on_buffer|jbd2_\w+|file_write_and_wait\w*|filemap_fdatawait\w*|filemap_write_and_wait\w*|submit_bio_wait|blkdev_issue_flush|ext4_sync_file|xfs_file_fsync|xfs_log_force\w*|btrfs_sync_file|bit_wait_io|blk_execute_rq|__filemap_fdatawait_range)$/;
const RECLAIM =
  /^(try_to_free_pages|try_to_free_mem_cgroup_pages|shrink_node\w*|shrink_lruvec|shrink_folio_list|do_try_to_free_pages|__alloc_pages_slowpath\w*|__alloc_pages_direct_reclaim|__alloc_pages_direct_compact|mem_cgroup_handle_over_high|__perform_reclaim|compact_zone\w*|try_to_compact_pages|throttle_direct_reclaim|reclaim_high|swap_read_folio|swap_readpage|do_swap_page|out_of_memory|mem_cgroup_out_of_memory)$/;
const SYSCALL = /^(?:__x64_sys_|__arm64_sys_|__ia32_sys_|__se_sys_|__do_sys_)(\w+)$/;
/** Scheduler and entry frames: true of every off-CPU stack, noise when a stack is shown. */
const NOISE =
  /^(_*schedule\w*|preempt_schedule\w*|schedule_\w+|finish_task_switch\w*|context_switch|entry_SYSCALL_64\w*|do_syscall_64|x64_sys_call|el0_svc\w*|invoke_syscall|__cond_resched|\[unknown\])$/;

export const isThrottleStack = (frames: readonly string[]): boolean => frames.some((f) => THROTTLE.test(f));
const isIoStack = (frames: readonly string[]): boolean => frames.some((f) => IO.test(f));
export const isReclaimStack = (frames: readonly string[]): boolean => frames.some((f) => RECLAIM.test(f));
const isFutexStack = (frames: readonly string[]): boolean => frames.some((f) => FUTEX.test(f));

/** Frames of the kernel's syscall entry and exit path (the handler itself is often inlined into it). */
const SYSCALL_PATH = /^(entry_SYSCALL_64\w*|do_syscall_64|x64_sys_call|syscall_exit\w*|el0_svc\w*|invoke_syscall)$/;

/**
 * The syscall a stack is in: its name from `__x64_sys_NAME` and kin, '' when the stack is in the syscall path
 * without naming the call (inlined handlers, entry and exit work), undefined when it is not in a syscall.
 */
export function syscallOfStack(frames: readonly string[]): string | undefined {
  let inPath = false;
  for (const f of frames) {
    const m = SYSCALL.exec(f);
    if (m) return m[1];
    if (SYSCALL_PATH.test(f)) inPath = true;
  }
  return inPath ? '' : undefined;
}

/**
 * The user part of a stack in a syscall (the frames before the kernel's syscall entry), leaf first: who makes the
 * call. The whole stack, as leafFirst shows it, when it has no entry frame.
 */
export function syscallCaller(frames: readonly string[], n: number): string {
  const entry = frames.findIndex((f) => SYSCALL_ENTRY.test(f));
  return leafFirst(entry > 0 ? frames.slice(0, entry) : frames, n);
}
const SYSCALL_ENTRY = /^(entry_SYSCALL_64\w*|do_syscall_64|el0_svc\w*)$/;

/** Kernel machinery shown by its leaf-most frame only: the futex path, the I/O wait path, the reclaim path. */
const FAMILIES = [FUTEX, IO, RECLAIM];

/**
 * A stack leaf first in at most `n` frames, scheduler and entry noise left out and each kernel path (futex, I/O
 * wait, reclaim) shown by its leaf-most frame: "futex_wait ← __lll_lock_wait ← hold_lock_and_work ← locker".
 */
export function leafFirst(frames: readonly string[], n: number): string {
  const shown: string[] = [];
  let family: RegExp | undefined;
  for (const f of [...frames].reverse()) {
    if (NOISE.test(f)) continue;
    const fam = FAMILIES.find((r) => r.test(f));
    if (fam && fam === family) continue;
    family = fam;
    shown.push(f);
  }
  return shown.slice(0, n).join(' ← ') || '[no frames]';
}

/** Off-CPU thread-seconds by what the threads waited for, with the heaviest stack of each kind. */
export interface OffcpuTime {
  /** Waiting for a CPU, throttling apart. */
  readonly runnable: number;
  /** Runnable on throttling stacks: the quota's doing. */
  readonly throttled: number;
  readonly lock: number;
  readonly io: number;
  readonly memory: number;
  /** Every blocked second, idle included. */
  readonly blockedTotal: number;
  /** True when offcpu stacks were there to classify. */
  readonly offcpuSeen: boolean;
  readonly lockStack?: StackWeight;
  readonly ioStack?: StackWeight;
  readonly memoryStack?: StackWeight;
}

/** Lock, or parked? See the module comment. `contended`: several threads waited on one address (syscalls probe). */
export function isLockStack(frames: readonly string[], contended: boolean): boolean {
  if (!isFutexStack(frames)) return false;
  if (frames.some((f) => PARKED_USER.test(f))) return false;
  const user = frames.filter((f) => !FUTEX.test(f) && !NOISE.test(f));
  if (user.some((f) => MUTEX_USER.test(f))) return true;
  return contended;
}

/** Classifies offcpu's stacks (unit 'seconds', reason runnable|blocked). */
export function classifyOffcpu(
  stacks: readonly StackWeight[],
  futexWaits: readonly { readonly threads: number; readonly waits: number; readonly seconds: number }[],
): OffcpuTime {
  // A contended lock: several threads, many short waits (an idle pool parks few times, for long).
  const contended = futexWaits.some((w) => w.threads >= 2 && w.waits >= 10 && w.seconds / w.waits < 1);
  let runnable = 0;
  let throttled = 0;
  let lock = 0;
  let io = 0;
  let memory = 0;
  let blockedTotal = 0;
  let lockStack: StackWeight | undefined;
  let ioStack: StackWeight | undefined;
  let memoryStack: StackWeight | undefined;
  const heavier = (a: StackWeight | undefined, b: StackWeight) => (!a || b.weight > a.weight ? b : a);
  for (const s of stacks) {
    if (s.unit !== 'seconds') continue;
    if (s.reason === 'runnable') {
      if (isThrottleStack(s.frames)) throttled += s.weight;
      else runnable += s.weight;
      continue;
    }
    blockedTotal += s.weight;
    if (isReclaimStack(s.frames)) {
      memory += s.weight;
      memoryStack = heavier(memoryStack, s);
    } else if (isIoStack(s.frames)) {
      io += s.weight;
      ioStack = heavier(ioStack, s);
    } else if (isLockStack(s.frames, contended)) {
      lock += s.weight;
      lockStack = heavier(lockStack, s);
    }
  }
  return {
    runnable,
    throttled,
    lock,
    io,
    memory,
    blockedTotal,
    offcpuSeen: stacks.length > 0,
    ...(lockStack ? { lockStack } : {}),
    ...(ioStack ? { ioStack } : {}),
    ...(memoryStack ? { memoryStack } : {}),
  };
}
