/**
 * Which BPF programs are loaded, and which a process holds, for tests that check a tripline process leaves nothing
 * loaded or attached after it exits. The kernel's list comes from `bpftool prog show -j`; ownership from the
 * process's open `bpf-prog` and `bpf_link` descriptors (`prog_id:` in /proc/PID/fdinfo), because the bpftool here
 * is built without the pid iterator (its JSON has no `pids`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The kernel keeps at most 15 characters of a program's name (BPF_OBJ_NAME_LEN − 1). */
const NAME_LEN = 15;

/** Loaded programs now: id → name. */
export function loadedPrograms(): Map<number, string> {
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const progs = JSON.parse(out) as { id: number; name?: string }[];
  return new Map(progs.map((p) => [p.id, p.name ?? '']));
}

/** Ids of the programs a process holds through its descriptors (programs and links); empty when it is gone. */
export function programsHeldBy(pid: number): Set<number> {
  const held = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return held;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:bpf-prog' && target !== 'anon_inode:bpf_link') continue;
    try {
      const m = /^prog_id:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) held.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return held;
}

/** Ids of the programs any live process holds. */
export function programsHeldByAnyone(): Set<number> {
  const held = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const id of programsHeldBy(Number(entry))) held.add(id);
  }
  return held;
}

/** Names (as the kernel shows them) of every program in tripline's BPF sources: the function after each SEC(...). */
export function triplineProgramNames(bpfDir = join(import.meta.dirname, '..', '..', 'bpf')): Set<string> {
  const names = new Set<string>();
  // bpf/counters/ and bpf/deep/ hold the programs (bpf/ itself only the feature probes): walk the tree.
  for (const file of readdirSync(bpfDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.bpf.c'))) {
    const src = readFileSync(join(bpfDir, file), 'utf8');
    // SEC("...") then `int NAME(` or `int BPF_PROG(NAME,` / BPF_USDT / BPF_KPROBE ...; maps' SEC(".maps") never match.
    for (const m of src.matchAll(/SEC\("[^"]*"\)\s*int\s+(?:BPF_[A-Z_]+\(\s*)?(\w+)/g))
      names.add(m[1].slice(0, NAME_LEN));
  }
  return names;
}

/** Collects, every `everyMs` until stopped, the ids of the programs a process holds (its probes come and go). */
export class HeldProgramsWatch {
  /** Every program id seen held by the process. */
  readonly ids = new Set<number>();
  /** Names of those programs (looked up when an id is first seen, while it is surely loaded). */
  readonly names = new Map<number, string>();
  private readonly pid: number;
  private readonly timer: NodeJS.Timeout;
  constructor(pid: number, everyMs = 500) {
    this.pid = pid;
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  /** Takes one sample now (also useful right before the process is told to stop). */
  sample(): void {
    const fresh = [...programsHeldBy(this.pid)].filter((id) => !this.ids.has(id));
    if (fresh.length === 0) return;
    const loaded = loadedPrograms();
    for (const id of fresh) {
      this.ids.add(id);
      this.names.set(id, loaded.get(id) ?? '');
    }
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Waits until none of `ids` is loaded any more (the kernel frees a program shortly after its last descriptor
 * closes) and returns those still loaded after `timeoutMs`, as "id name".
 */
export async function stillLoaded(ids: Iterable<number>, timeoutMs = 15_000): Promise<string[]> {
  const wanted = [...ids];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = loadedPrograms();
    const left = wanted.filter((id) => loaded.has(id)).map((id) => `${id} ${loaded.get(id)}`);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Programs with a tripline name, loaded now but not before `before` was taken, that no live process holds: what a
 * tripline process that exited would have left behind (pinned or attached without a descriptor). Waits up to
 * `timeoutMs` for the kernel to free programs of processes that just exited.
 */
export async function orphanedTriplinePrograms(before: ReadonlySet<number>, timeoutMs = 15_000): Promise<string[]> {
  const names = triplineProgramNames();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = programsHeldByAnyone();
    const orphans = [...loadedPrograms()]
      .filter(([id, name]) => !before.has(id) && names.has(name) && !held.has(id))
      .map(([id, name]) => `${id} ${name}`);
    if (orphans.length === 0 || Date.now() >= deadline) return orphans;
    await new Promise((r) => setTimeout(r, 500));
  }
}
