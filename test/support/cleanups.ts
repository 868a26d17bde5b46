// Cleanups of a kernel test file (families to close, cgroups to remove, processes to kill), run after its tests,
// last first, each best effort: a cgroup or process may be gone already, and the others must still run.
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
