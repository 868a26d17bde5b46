/**
 * The Slack silence document in the action store is hostile input (anyone who can write Redis can write it): each
 * entry is checked before the engine applies it to its probe side's silence service, and its tag is rebuilt from
 * its fleet id, so one write can neither silence everything for 30 days nor make every engine add a silence every
 * few seconds until the silence cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SilenceSync } from '../../../src/actions/slack/interactive/silence-sync.ts';
import { localSilences } from '../../../src/rules/silence-service.ts';
import { Suppressor } from '../../../src/rules/evaluate/suppress.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';

function setup() {
  const store = new MemoryStore();
  const suppressor = new Suppressor();
  const warnings: string[] = [];
  const log = {
    debug() {},
    info() {},
    error() {},
    warn: (o: object, m?: string) => void warnings.push(`${m} ${JSON.stringify(o)}`),
  };
  const sync = new SilenceSync(
    store,
    localSilences(() => suppressor),
    log,
  );
  const write = (entries: unknown) => store.set('slack:silences', JSON.stringify({ entries }));
  return { store, suppressor, warnings, sync, write };
}

const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
/** A well-formed entry of `hours` (fields overridable). */
function entry(over: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) {
  const sid = randomUUID();
  return {
    sid,
    spec: {
      matchers: { rule: 'cpu-throttling', namespace: 'shop', pod: 'web-1' },
      starts_at: iso(now),
      ends_at: iso(now + 3600_000),
      author: 'slack:alice',
      comment: `Silenced from Slack [slack ${sid}]`,
      ...spec,
    },
    until: now + 3600_000,
    ...over,
  };
}

test('hostile entries are skipped: no rule, a regex or negative matcher, no matchers, too long, a bad sid', async () => {
  const s = setup();
  await s.write([
    entry({}, { matchers: {} }),
    entry({}, { matchers: { namespace: 'shop' } }),
    entry({}, { matchers: { rule: { regex: '.*' } } }),
    entry({}, { matchers: { rule: 'cpu-throttling', pod: { not: 'x' } } }),
    entry({}, { matchers: { rule: '' } }),
    entry({}, { ends_at: iso(now + 30 * 86_400_000) }),
    entry({ until: now + 60_000 }, { ends_at: iso(now + 29 * 86_400_000) }),
    entry({ sid: 'not-a-uuid' }),
    entry({}, { author: 'mallory' }),
    'junk',
    null,
  ]);
  await s.sync.sync();
  assert.deepEqual(s.suppressor.list(), [], 'nothing applied');
  assert.match(s.warnings.join('\n'), /invalid silences from Slack skipped.*"skipped":11/);
  // A valid entry among them is applied, for at most 24 h.
  const ok = entry({}, { ends_at: iso(now + 86_400_000) });
  await s.write([entry({}, { matchers: {} }), ok]);
  await s.sync.sync();
  assert.equal(s.suppressor.list().length, 1);
  assert.ok(s.suppressor.silencedBy({ rule: 'cpu-throttling', namespace: 'shop', pod: 'web-1' }, now + 1000));
  assert.ok(!s.suppressor.silencedBy({ rule: 'other', namespace: 'shop', pod: 'web-1' }, now + 1000));
});

test("an entry's tag is rebuilt from its sid: a comment without it (or naming another) is applied once, not every sync", async () => {
  const s = setup();
  const a = entry({}, { comment: 'no tag here' });
  const b = entry({}, { comment: `pretends [slack ${randomUUID()}]`, matchers: { rule: 'r2' } });
  await s.write([a, b]);
  for (let n = 0; n < 4; n++) await s.sync.sync();
  const list = s.suppressor.list();
  assert.equal(list.length, 2, 'one local silence per entry, whatever the syncs');
  assert.ok(list.some((x) => x.comment.endsWith(`[slack ${a.sid}]`)));
  assert.ok(list.some((x) => x.comment === `pretends [slack ${b.sid}]`));
  // And removing the entry removes its silence.
  await s.write([{ ...a, removed: true }, b]);
  await s.sync.sync();
  assert.equal(s.suppressor.list().length, 1);
});

test('the document is bounded: at most 500 entries are read, a huge or malformed document is ignored', async () => {
  const s = setup();
  await s.write(Array.from({ length: 700 }, (_, n) => entry({}, { matchers: { rule: 'r', pod: `p${n}` } })));
  await s.sync.sync();
  assert.equal(s.suppressor.list().length, 500);
  const t = setup();
  await t.store.set('slack:silences', JSON.stringify({ entries: [entry()], pad: 'x'.repeat(5 * 1024 * 1024) }));
  await t.sync.sync();
  await t.store.set('slack:silences', '{"entries": 5}');
  await t.sync.sync();
  assert.deepEqual(t.suppressor.list(), []);
  assert.match(t.warnings.join('\n'), /larger than/);
  assert.match(t.warnings.join('\n'), /no entries list/);
});
