/**
 * SIGKILL leaves nothing behind: a child that attached every BPF counter family is killed with SIGKILL; afterwards
 * `bpftool prog show` lists none of the programs it had loaded (tripline pins nothing; the kernel frees programs
 * when the last file descriptor and link go away).
 */
import { programsHeldBy } from '../support/bpf-programs.ts';
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';

interface ProgInfo {
  id: number;
  name?: string;
}

/** Names of the counter families' programs start with this (bpf/README.md), also as the kernel cuts them to 15. */
const FAMILY_PREFIX = 'tlc_';

function programs(): ProgInfo[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as ProgInfo[];
}
const ours = (p: ProgInfo): boolean => p.name?.startsWith(FAMILY_PREFIX) ?? false;

let child: ChildProcess | undefined;
after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

kernelTest('SIGKILL of a process with every counter family attached leaves none of its programs loaded', async () => {
  child = spawn(
    join(import.meta.dirname, '..', '..', 'scripts', 'node'),
    [join(import.meta.dirname, 'fixtures', 'counters-child.ts')],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = once(child, 'exit');
  const deadline = Date.now() + 60_000;
  while (!out.includes('\n')) {
    assert.ok(child.exitCode === null, `child exited early: ${out}`);
    assert.ok(Date.now() < deadline, 'child did not get ready within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(out, /^ready \d+ runq,syscalls,tcp,blockio(,pg)?,http\n/);

  // Attribute programs by the child's own file descriptors: other processes may run the same families meanwhile.
  const held = programsHeldBy(child.pid!);
  const during = programs().filter((p) => held.has(p.id) && ours(p));
  // 3 runq + 2 syscalls + 2 tcp + 2 blockio + 1 http programs: the tp_btf or the raw_tp set, never both; + 2 pg (USDT)
  // when started (the http family's TLS uprobes are off by default).
  assert.equal(
    during.length,
    out.includes(',pg') ? 12 : 10,
    `programs held by the child: ${during.map((p) => p.name).join(', ')}`,
  );

  child.kill('SIGKILL');
  await exited;
  const ids = new Set(during.map((p) => p.id));
  let left: ProgInfo[] = [];
  // Programs are freed after an RCU grace period: poll briefly.
  for (let i = 0; i < 100; i++) {
    left = programs().filter((p) => ids.has(p.id));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(
    left.map((p) => `${p.id}:${p.name}`),
    [],
    'programs left after SIGKILL',
  );
});
