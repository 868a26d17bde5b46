// A monitored process plants a hostile perf map (a FIFO, a link to /dev/zero, a 10 GB sparse file): a real profile
// capture of it still finishes in its time box, its JIT frames stay unresolved, and the result says why.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { kernelTest } from '../support/kernel.ts';
import { profile } from '../../src/probes/deep/profile.ts';
import { budget, probeContext, sleep } from '../probes/deep/support.ts';

const PLANTS: [string, (path: string) => void, RegExp][] = [
  ['a FIFO', (p) => execFileSync('mkfifo', [p]), /is a FIFO, not a regular file/],
  ['a link to /dev/zero', (p) => symlinkSync('/dev/zero', p), /is a symbolic link/],
  [
    'a 10 GB sparse file',
    (p) => {
      writeFileSync(p, '');
      truncateSync(p, 10 * 2 ** 30);
    },
    /over the \d+-byte cap/,
  ],
];

for (const [what, plant, why] of PLANTS) {
  kernelTest(`profile of a JIT process whose perf map is ${what}: finishes, frames unresolved, says why`, async () => {
    // Node's JIT puts hot code in anonymous memory: its frames are looked up in the perf map.
    const child = spawn(process.execPath, ['-e', 'let x = 0; for (;;) { x = (x * 31 + 7) % 1000003; }'], {
      stdio: 'ignore',
    });
    await once(child, 'spawn');
    const map = `/tmp/perf-${child.pid}.map`;
    try {
      plant(map);
      await sleep(300); // let the loop get compiled
      const t0 = Date.now();
      const running = profile
        .prepare(probeContext({ frequency_hz: 99 }))
        .start({ pids: [child.pid!] }, budget({ durationMs: 2000 }));
      await sleep(1500);
      const r = await running.stop();
      assert.ok(Date.now() - t0 < 15_000, 'no hang');
      assert.ok((r.stacks ?? []).length > 0, 'the capture has stacks');
      const notes = r.errors.filter((e) => e.includes(`perf map of pid ${child.pid}`));
      assert.equal(notes.length, 1, r.errors.join('\n'));
      assert.match(notes[0], why);
    } finally {
      child.kill('SIGKILL');
      rmSync(map, { force: true });
    }
  });
}
