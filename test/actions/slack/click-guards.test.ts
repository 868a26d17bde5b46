/**
 * The click handler's guards, one by one, on a store holding one incident message: a capture click for another
 * host's incident is passed on (the parsed click only) or refused, never captured here; clicks read from the
 * mailbox may only capture, act once and are authorized again; Approve/Reject only decide an approval of the
 * clicked message; a silence duration never reaches a prototype key; a failed user group read denies and is
 * remembered a short while.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleClick, handleForwarded, type ClickDeps } from '../../../src/actions/slack/interactive/clicks.ts';
import { Allowlist, FAILED_READ_MS } from '../../../src/actions/slack/interactive/authorize.ts';
import { SilenceSync } from '../../../src/actions/slack/interactive/silence-sync.ts';
import type { Click } from '../../../src/actions/slack/interactive/payload.ts';
import type { CaptureRequests } from '../../../src/actions/slack/interactive/capture.ts';
import { messageKey } from '../../../src/actions/slack/render-group.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { localSilences } from '../../../src/rules/silence-service.ts';
import { Suppressor } from '../../../src/rules/evaluate/suppress.ts';
import type { GroupState } from '../../../src/actions/slack/group.ts';
import type { Incident } from '../../../src/incident.ts';
import { incident } from './helpers.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let seq = 0;

/** A store with one incident message (`host`'s incident, optional approvals) and deps that record what they did. */
async function fixture(o: { host?: string; approvals?: Record<string, 'pending' | 'approved'>; forward?: boolean }) {
  const store = new MemoryStore();
  const channel = 'CGUARD1';
  const ts = `1700000000.${String(++seq).padStart(6, '0')}`;
  const i = incident('web-1', Date.now(), { host: o.host ?? 'node-a' });
  const g: GroupState = {
    id: `g${seq}`,
    createdAt: Date.now(),
    parent: { channel, ts },
    series: { [i.key]: i },
    extraSeries: 0,
    suppressed: 0,
    notes: [],
    version: 1,
    rendered: 1,
    controls: o.approvals
      ? {
          approvals: Object.fromEntries(
            Object.entries(o.approvals).map(([ref, state]) => [ref, { state, text: 'web +1', by: 'UBOB' }]),
          ),
        }
      : undefined,
  };
  await store.set(messageKey('slack', channel, ts), g.id);
  await store.set(`slack:group:${g.id}`, JSON.stringify(g));
  const ephemerals: { user: string; text: string }[] = [];
  const captured: Incident[] = [];
  const forwarded: { host: string; click: Click }[] = [];
  const enqueued: unknown[] = [];
  const captures: CaptureRequests = {
    request: async (inc) => {
      captured.push(inc);
      return 'Capturing profile for 10 s (capture c1)';
    },
    extend: async (inc) => {
      captured.push(inc);
      return 'extended';
    },
  };
  const deps: ClickDeps = {
    store,
    slack: {
      post: async (ch) => ({ channel: ch, ts: `1700000001.${String(++seq).padStart(6, '0')}` }),
      update: async () => undefined,
      postEphemeral: async (_c, user, text) => void ephemerals.push({ user, text }),
    },
    allow: new Allowlist({ users: ['UALICE'], groups: [], cacheMs: 60_000 }, async () => []),
    silences: new SilenceSync(
      store,
      localSilences(() => new Suppressor()),
      quiet,
    ),
    enqueue: async (input) => enqueued.push(input),
    log: quiet,
    now: Date.now,
    host: 'node-b',
    captures,
    ...(o.forward === undefined
      ? {}
      : {
          forward: async (host: string, click: Click) => {
            forwarded.push({ host, click });
            return o.forward!;
          },
        }),
  };
  const click = (user: string, actionId: string, value: string): Click => ({
    user,
    userName: user.slice(1).toLowerCase(),
    channel,
    messageTs: ts,
    actionId,
    value,
    actionTs: `${Date.now() / 1000}${++seq}`,
  });
  /** The click as Slack's block_actions payload. */
  const payload = (c: Click, extra: Record<string, unknown> = {}): unknown => ({
    type: 'block_actions',
    user: { id: c.user, username: c.userName },
    container: { type: 'message', message_ts: c.messageTs, channel_id: c.channel },
    actions: [{ type: 'button', action_id: c.actionId, value: c.value, action_ts: c.actionTs }],
    ...extra,
  });
  return { store, deps, ephemerals, captured, forwarded, enqueued, click, payload, gid: g.id };
}

test("a capture click for another host's incident is passed on as the parsed click, or refused: never captured here", async () => {
  // Passed on: the parsed click only (Slack's other payload fields stay behind).
  const ok = await fixture({ host: 'node-a', forward: true });
  const c = ok.click('UALICE', 'tl_capture', 'capture');
  assert.equal(
    await handleClick(ok.payload(c, { response_url: 'https://hooks.example/x', trigger_id: 't' }), ok.deps),
    'forwarded',
  );
  assert.deepEqual(ok.forwarded, [{ host: 'node-a', click: c }]);
  assert.deepEqual(ok.captured, []);

  // The mailbox refuses it (too big, Redis down): refused with the reason, no local capture of node-a's target.
  for (const forward of [false, undefined]) {
    const f = await fixture({ host: 'node-a', forward });
    const r = await handleClick(f.payload(f.click('UALICE', 'tl_capture', 'capture')), f.deps);
    assert.equal(r, 'unavailable');
    assert.deepEqual(f.captured, [], 'nothing captured on this host');
    assert.match(f.ephemerals.at(-1)!.text, /No capture: this incident runs on node-a.*could not be passed/);
    // Extend the same.
    assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_extend', 'extend')), f.deps), 'unavailable');
    assert.deepEqual(f.captured, []);
  }
});

test('the mailbox: only Capture again / Extend, once, by an allowed user, for an incident of this host', async () => {
  const f = await fixture({ host: 'node-b' });
  // A forged click of a user not on the allowlist: refused, nothing captured.
  assert.equal(await handleForwarded(f.click('UEVE', 'tl_capture', 'capture'), f.deps), 'not-allowed');
  assert.deepEqual(f.captured, []);
  // Anything but a capture: ignored (a silence or an approval is never taken from the store).
  for (const a of ['tl_silence', 'tl_unsilence', 'tl_approve', 'tl_reject'])
    assert.equal(await handleForwarded(f.click('UALICE', a, '1h'), f.deps), 'ignored', a);
  assert.deepEqual(f.enqueued, []);
  assert.equal(await f.store.get('slack:silences'), undefined, 'no silence published');
  // A raw Slack payload (or anything that is not a parsed click) is not a forwarded click.
  assert.equal(await handleForwarded(f.payload(f.click('UALICE', 'tl_capture', 'capture')), f.deps), 'ignored');
  assert.equal(
    await handleForwarded({ ...f.click('UALICE', 'tl_capture', 'x'), user: 'not-an-id' }, f.deps),
    'ignored',
  );
  // A real one acts; the same entry read again (a replay) does not.
  const c = f.click('UALICE', 'tl_capture', 'capture');
  assert.equal(await handleForwarded(c, f.deps), 'captured');
  assert.equal(await handleForwarded(c, f.deps), 'duplicate');
  assert.equal(f.captured.length, 1);
  // A forwarded click for an incident of a third host is not passed on again, nor captured here.
  const other = await fixture({ host: 'node-c', forward: true });
  assert.equal(await handleForwarded(other.click('UALICE', 'tl_capture', 'capture'), other.deps), 'unavailable');
  assert.deepEqual(other.forwarded, []);
  assert.deepEqual(other.captured, []);
});

test("Approve/Reject decide only an approval of the clicked message (another message's approval id is refused)", async () => {
  const f = await fixture({ approvals: { 'ref-mine': 'pending', 'ref-done': 'approved' } });
  for (const value of ['ref-of-another-message', 'constructor', '__proto__', 'toString']) {
    assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_approve', value)), f.deps), 'not-allowed', value);
    assert.match(f.ephemerals.at(-1)!.text, /does not wait for that scale approval/);
  }
  assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_reject', 'ref-other')), f.deps), 'not-allowed');
  assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_approve', 'ref-done')), f.deps), 'already-decided');
  assert.match(f.ephemerals.at(-1)!.text, /already decided: approved by <@UBOB>/);
  assert.deepEqual(f.enqueued, [], 'nothing decided, nothing queued');
});

test('a silence duration is one of the menu choices: a prototype key is refused, nothing silenced', async () => {
  const f = await fixture({});
  for (const value of ['constructor', '__proto__', 'toString', '48h']) {
    assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_silence_for', value)), f.deps), 'ignored', value);
    assert.match(f.ephemerals.at(-1)!.text, /Unknown silence duration/);
  }
  assert.equal(await f.store.get('slack:silences'), undefined);
  const g = JSON.parse((await f.store.get(`slack:group:${f.gid}`))!) as GroupState;
  assert.equal(g.controls?.silence, undefined);
  assert.equal(await handleClick(f.payload(f.click('UALICE', 'tl_silence_for', '4h')), f.deps), 'silenced');
});

test('a failed user group read denies, and is remembered briefly: an outage does not re-read every group per click', async () => {
  let t = 1_000_000;
  let reads = 0;
  let down = false;
  const allow = new Allowlist(
    { users: ['UALICE'], groups: ['SOPS', 'SDEV'], cacheMs: 300_000 },
    async (g) => {
      reads += 1;
      if (down) throw new Error('slack_unavailable');
      return g === 'SOPS' ? ['UBOB'] : [];
    },
    () => t,
  );
  assert.deepEqual(await allow.allows('UBOB'), { ok: true });
  assert.equal(reads, 1);
  // The positive cache ends during an outage: the failed read denies (it never falls back to the old members).
  t += 300_000;
  down = true;
  const r = await allow.allows('UBOB');
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /slack_unavailable/);
  assert.equal(reads, 3, 'both groups were tried');
  // More clicks within the negative cache: denied without reading the groups again.
  for (let n = 0; n < 5; n++) assert.equal((await allow.allows('UBOB')).ok, false);
  assert.equal((await allow.allows('UEVE')).ok, false);
  assert.equal(reads, 3);
  assert.equal((await allow.allows('UALICE')).ok, true, 'listed users still may');
  // Past it, read again; Slack is back: allowed.
  t += FAILED_READ_MS;
  down = false;
  assert.deepEqual(await allow.allows('UBOB'), { ok: true });
  assert.equal(reads, 4);
});
