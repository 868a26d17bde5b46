/** Spec tier: the sizes the TypeScript decoders use match the #defines of the BPF headers (the C side asserts them). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEEP_TARGET_SIZE } from '../../../src/probes/deep/target-map.ts';
import { OFFCPU_KEY_SIZE, OFFCPU_SPELL_SIZE, OFFCPU_VAL_SIZE } from '../../../src/probes/deep/offcpu.ts';
import { PROFILE_KEY_SIZE } from '../../../src/probes/deep/profile.ts';
import { RUNQSLOWER_EVENT_SIZE, RUNQSLOWER_NB_SIZE } from '../../../src/probes/deep/runqslower.ts';
import { SYSCALLS_EVENT_SIZE, SYSCALLS_TOTAL_SIZE } from '../../../src/probes/deep/syscalls.ts';
import { IOD_EVENT_SIZE } from '../../../src/probes/deep/io.ts';
import { TCPD_EVENT_SIZE } from '../../../src/probes/deep/tcp.ts';
import { PG_EVENT_SIZE } from '../../../src/probes/deep/pg.ts';

const BPF = join(import.meta.dirname, '..', '..', '..', 'bpf');
function define(header: string, name: string): number {
  const m = new RegExp(`^#define ${name} (\\d+)`, 'm').exec(readFileSync(join(BPF, header), 'utf8'));
  assert.ok(m, `${header} defines ${name}`);
  return Number(m[1]);
}

test('decoder sizes match the BPF headers', () => {
  const cases: [string, string, number][] = [
    ['deep_target.h', 'DEEP_TARGET_SIZE', DEEP_TARGET_SIZE],
    ['deep/offcpu.h', 'OFFCPU_KEY_SIZE', OFFCPU_KEY_SIZE],
    ['deep/offcpu.h', 'OFFCPU_VAL_SIZE', OFFCPU_VAL_SIZE],
    ['deep/offcpu.h', 'OFFCPU_SPELL_SIZE', OFFCPU_SPELL_SIZE],
    ['deep/profile.h', 'PROFILE_KEY_SIZE', PROFILE_KEY_SIZE],
    ['deep/runqslower.h', 'RUNQSLOWER_EVENT_SIZE', RUNQSLOWER_EVENT_SIZE],
    ['deep/runqslower.h', 'RUNQSLOWER_NB_SIZE', RUNQSLOWER_NB_SIZE],
    ['deep/syscalls.h', 'SYSCALLS_EVENT_SIZE', SYSCALLS_EVENT_SIZE],
    ['deep/syscalls.h', 'SYSCALLS_TOTAL_SIZE', SYSCALLS_TOTAL_SIZE],
    ['deep/io.h', 'IOD_EVENT_SIZE', IOD_EVENT_SIZE],
    ['deep/tcp.h', 'TCPD_EVENT_SIZE', TCPD_EVENT_SIZE],
    ['deep/pg.h', 'PG_EVENT_SIZE', PG_EVENT_SIZE],
  ];
  for (const [h, name, ts] of cases) assert.equal(ts, define(h, name), `${h} ${name}`);
});
