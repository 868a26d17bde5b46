import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kernelTest, objDir } from '../support/kernel.ts';
import { openObject, enableStats } from '../../src/probes/libbpf.ts';
import { ffi } from '../../src/probes/libbpf-ffi.ts';
import { features } from '../../src/probes/features.ts';
import { TriplineError } from '../../src/errors.ts';
import { HIST_LAYOUT } from '../../src/probes/decode/hist.ts';
import { RUNQ } from '../../src/probes/decode/runq.ts';

const obj = join(objDir, 'features.bpf.o');
const SYS_GETPID: Record<string, number> = { x64: 39, arm64: 172 };
const ONLY_SELFTEST = ['tlf_tp_btf', 'tlf_raw_tp', 'tlf_fentry', 'tlf_kprobe', 'tlf_sk_cookie'];

kernelTest('open → configure → load → attach → read maps and ring buffer → close', () => {
  const nr = SYS_GETPID[process.arch];
  const stats = enableStats();
  using o = openObject(obj, {
    rodata: { target_tgid: process.pid, syscall_nr: nr },
    disable: ONLY_SELFTEST,
    layouts: { selftest_event: { size: 16, fields: { tgid: 0, syscall: 4, ts_ns: 8 } } },
  });
  assert.deepEqual(o.programNames(), ['tlf_selftest']);
  o.attach('tlf_selftest');
  assert.equal(o.attached, 1);
  const events: Buffer[] = [];
  const rb = o.ringBuffer('tl_selftest_events', (d) => events.push(d));
  for (let i = 0; i < 7; i++) ffi().syscall5(nr);
  rb.consume();
  assert.equal(events.length, 7);
  for (const e of events) {
    assert.equal(e.length, 16);
    assert.equal(e.readUInt32LE(0), process.pid);
    assert.equal(e.readUInt32LE(4), nr);
  }
  const counts = o.map('tl_selftest_counts');
  assert.equal(counts.lookup(Buffer.alloc(4))?.readBigUInt64LE(0), 7n);
  assert.equal(counts.entries().length, 1);
  const st = o.programStats().find((p) => p.name === 'tlf_selftest')!;
  assert.ok(st.runCount >= 7, `run count ${st.runCount}`);
  o.detach();
  for (let i = 0; i < 3; i++) ffi().syscall5(nr);
  assert.equal(counts.lookup(Buffer.alloc(4))?.readBigUInt64LE(0), 7n, 'nothing counted after detach');
  stats.close();
});

kernelTest('configuration errors are coded and name the fix', () => {
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
      return 'none';
    } catch (e) {
      return (e as TriplineError).code;
    }
  };
  assert.equal(
    codeOf(() => openObject(obj, { rodata: { no_such_knob: 1 }, disable: ONLY_SELFTEST })),
    'PROBE_ERR_CONFIG',
  );
  assert.equal(
    codeOf(() => openObject(obj, { rodata: { target_tgid: 2 ** 40 }, disable: ONLY_SELFTEST })),
    'PROBE_ERR_CONFIG',
  );
  assert.equal(
    codeOf(() => openObject(obj, { layouts: { selftest_event: { size: 24 } }, disable: ONLY_SELFTEST })),
    'PROBE_ERR_LAYOUT',
  );
  assert.equal(
    codeOf(() =>
      openObject(obj, { layouts: { selftest_event: { size: 16, fields: { ts_ns: 4 } } }, disable: ONLY_SELFTEST }),
    ),
    'PROBE_ERR_LAYOUT',
  );
  assert.equal(
    codeOf(() => openObject(obj, { disable: ['nope'] })),
    'PROBE_ERR_CONFIG',
  );
  assert.equal(
    codeOf(() => openObject('/nonexistent/x.bpf.o')),
    'PROBE_ERR_OPEN',
  );
});

kernelTest('features name what this kernel has and why not', () => {
  const f = features(objDir);
  assert.equal(f.bpf.ok, true);
  assert.equal(f.btf.ok, true);
  // tp_btf or raw_tp must exist for the always-on counters.
  assert.ok(f.tpBtf.ok || f.rawTp.ok);
  for (const [name, v] of Object.entries(f)) assert.ok(v.reason.length > 0, `${name} has a reason`);
});

kernelTest('a per-CPU hash map read in several batches: every entry once, through buffers reused across reads', () => {
  using o = openObject(join(objDir, 'counters', 'runq.bpf.o'), {
    maxEntries: { runq_delay: 4096 },
    layouts: { hist: HIST_LAYOUT, ...RUNQ.layouts },
  });
  const map = o.map('runq_delay');
  const n = 1000; // several 64 KiB chunks of per-CPU values
  const value = Buffer.alloc(map.valueBytes);
  for (let i = 1; i <= n; i++) {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(BigInt(i));
    value.writeBigUInt64LE(BigInt(i * 3), 0); // CPU 0's first word
    map.update(key, value);
  }
  const read = (): Map<bigint, bigint> => {
    const seen = new Map<bigint, bigint>();
    map.forEach((k, v) => {
      const id = k.readBigUInt64LE(0);
      assert.ok(!seen.has(id), `entry ${id} seen twice`);
      seen.set(id, v.readBigUInt64LE(0));
    });
    return seen;
  };
  const first = read();
  assert.equal(first.size, n);
  for (const [id, v] of first) assert.equal(v, id * 3n);
  const buffers = new Set<ArrayBufferLike>();
  map.forEach((_k, v) => buffers.add(v.buffer));
  assert.equal(buffers.size, 1, 'one values buffer for the whole read');
  map.forEach((_k, v) => buffers.add(v.buffer));
  assert.equal(buffers.size, 1, 'the same buffer at the next read');
  assert.deepEqual(read(), first);
  // entries() copies: what it returns survives the next read.
  const kept = map.entries();
  read();
  assert.equal(kept.length, n);
  assert.deepEqual(new Set(kept.map((e) => e.key.readBigUInt64LE(0))), new Set(first.keys()));
});
