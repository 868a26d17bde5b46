// Cleanups of a kernel test file (families to close, cgroups to remove, processes to kill), run after its tests,
// last first, each best effort: a cgroup or process may be gone already, and the others must still run; and temp
// dirs that live as long as the test process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A list to push cleanups on; it runs after all tests of the file. */
export function cleanupsAfterAll(): (() => void)[] {
  const list: (() => void)[] = [];
  after(() => {
    for (const c of list.reverse()) {
      try {
        c();
      } catch {
        /* best effort */
      }
    }
  });
  return list;
}

const tempDirs: string[] = [];

/** A fresh temp dir `tripline-test-<pid>-<name>-XXXXXX`, removed when the test process exits. */
export function tempDir(name: string): string {
  if (tempDirs.length === 0)
    process.once('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  const d = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-${name}-`));
  tempDirs.push(d);
  return d;
}
