import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MuteSchedule, activeMute } from '../../../src/rules/evaluate/mute.ts';
import { hasCode } from '../../../src/errors.ts';

const at = (iso: string): number => Date.parse(iso);

test('Sunday 02:00 for 1 h: muted in [02:00, 03:00) on Sundays only', () => {
  const m = new MuteSchedule({ cron: '0 2 * * 0', durationMs: 3_600_000, timezone: 'UTC' });
  // 2026-11-29 is a Sunday.
  assert.equal(m.activeSince(at('2026-11-29T01:59:59Z')), undefined);
  assert.equal(m.activeSince(at('2026-11-29T02:00:00Z')), at('2026-11-29T02:00:00Z'));
  assert.equal(m.activeSince(at('2026-11-29T02:59:59Z')), at('2026-11-29T02:00:00Z'));
  assert.equal(m.activeSince(at('2026-11-29T03:00:00Z')), undefined);
  assert.equal(m.activeSince(at('2026-11-30T02:30:00Z')), undefined, 'Monday');
});

test('time zone, ranges and steps, last day of month, day-of-month OR day-of-week', () => {
  const paris = new MuteSchedule({ cron: '30 9 * * 1-5', durationMs: 15 * 60_000, timezone: 'Europe/Paris' });
  assert.ok(paris.activeSince(at('2026-11-25T08:40:00Z')) !== undefined, '09:40 in Paris (UTC+1), Wednesday');
  assert.equal(paris.activeSince(at('2026-11-25T09:40:00Z')), undefined);
  const steps = new MuteSchedule({ cron: '*/15 * * * *', durationMs: 60_000, timezone: 'UTC' });
  assert.ok(steps.matches(at('2026-11-25T10:45:00Z')));
  assert.ok(!steps.matches(at('2026-11-25T10:46:00Z')));
  const last = new MuteSchedule({ cron: '0 0 L * *', durationMs: 60_000, timezone: 'UTC' });
  assert.ok(last.matches(at('2026-02-28T00:00:00Z')));
  assert.ok(!last.matches(at('2026-02-27T00:00:00Z')));
  const either = new MuteSchedule({ cron: '0 0 1 * 1', durationMs: 60_000, timezone: 'UTC' });
  assert.ok(either.matches(at('2026-12-01T00:00:00Z')), 'the 1st (a Tuesday)');
  assert.ok(either.matches(at('2026-11-30T00:00:00Z')), 'a Monday');
  assert.ok(!either.matches(at('2026-12-02T00:00:00Z')));
  assert.equal(activeMute([steps, paris], at('2026-11-25T10:45:30Z')), steps);
});

test("without a time zone, the host's local time", () => {
  const t = at('2026-11-25T13:37:00Z');
  const d = new Date(t);
  const m = new MuteSchedule({
    cron: `${d.getMinutes()} ${d.getHours()} ${d.getDate()} ${d.getMonth() + 1} *`,
    durationMs: 60_000,
  });
  assert.ok(m.matches(t));
  assert.ok(!m.matches(t + 60_000));
});

test('a bad expression or zone is a coded error', () => {
  assert.throws(
    () => new MuteSchedule({ cron: '61 * * * *', durationMs: 1 }),
    (e) => hasCode(e, 'RULE_ERR_SCHEMA'),
  );
  assert.throws(
    () => new MuteSchedule({ cron: '0 2 * * 0', durationMs: 1, timezone: 'Mars/Olympus' }),
    (e) => hasCode(e, 'RULE_ERR_SCHEMA'),
  );
});
