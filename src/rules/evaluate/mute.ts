/**
 * Mute windows: a rule is muted during [a cron match, + duration). The cron expression is parsed by
 * node-cron (the same syntax as the bundle retention schedule); matching a minute and looking back
 * over the window's length is done here, in the window's time zone, so it works on a fake clock.
 */
import { parse as parseCron } from 'node-cron';
import type { MuteWindow } from '../types.ts';
import { TriplineError } from '../../errors.ts';

const MINUTE = 60_000;

interface Fields {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  lastDom: boolean;
  month: Set<number>;
  dow: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

/** Wall-clock fields of `ms` in the window's time zone (the host's when it names none). */
function wall(
  ms: number,
  fmt: Intl.DateTimeFormat | undefined,
): { minute: number; hour: number; day: number; month: number; year: number; dow: number } {
  if (!fmt) {
    const d = new Date(ms);
    return {
      minute: d.getMinutes(),
      hour: d.getHours(),
      day: d.getDate(),
      month: d.getMonth() + 1,
      year: d.getFullYear(),
      dow: d.getDay(),
    };
  }
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(new Date(ms))) p[part.type] = part.value;
  const dows: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
  return {
    minute: Number(p.minute),
    hour: Number(p.hour) % 24,
    day: Number(p.day),
    month: Number(p.month),
    year: Number(p.year),
    dow: dows[p.weekday],
  };
}

/** One compiled mute window. */
export class MuteSchedule {
  readonly cron: string;
  readonly durationMs: number;
  private readonly f: Fields;
  private readonly fmt: Intl.DateTimeFormat | undefined;
  private cachedMinute = NaN;
  private cachedStart: number | undefined;

  constructor(w: MuteWindow) {
    this.cron = w.cron;
    this.durationMs = w.durationMs;
    let parsed;
    try {
      parsed = parseCron(w.cron.trim().split(/\s+/).length === 5 ? `0 ${w.cron}` : w.cron);
    } catch (cause) {
      throw new TriplineError(
        'RULE_ERR_SCHEMA',
        `invalid mute cron ${JSON.stringify(w.cron)}: ${(cause as Error).message}`,
        { hint: 'write five cron fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 0"', cause },
      );
    }
    const nums = (a: (number | string)[]): Set<number> => new Set(a.filter((x): x is number => typeof x === 'number'));
    const dom = nums(parsed.dayOfMonth);
    const dow = new Set([...nums(parsed.dayOfWeek)].map((d) => d % 7)); // 7 is Sunday too
    this.f = {
      minute: new Set(parsed.minute),
      hour: new Set(parsed.hour),
      dom,
      month: new Set(parsed.month),
      dow,
      lastDom: parsed.dayOfMonth.includes('L'),
      domAny: dom.size === 31,
      dowAny: dow.size === 7,
    };
    try {
      this.fmt = w.timezone
        ? new Intl.DateTimeFormat('en-US', {
            timeZone: w.timezone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            weekday: 'short',
          })
        : undefined;
    } catch (cause) {
      throw new TriplineError('RULE_ERR_SCHEMA', `unknown mute time zone ${JSON.stringify(w.timezone)}`, {
        hint: 'use an IANA zone name such as Europe/Paris or UTC',
        cause,
      });
    }
  }

  /** True when the minute starting at `ms` (floored) matches the cron expression. */
  matches(ms: number): boolean {
    const t = wall(ms, this.fmt);
    const f = this.f;
    if (!f.minute.has(t.minute) || !f.hour.has(t.hour) || !f.month.has(t.month)) return false;
    const lastDay = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
    const domOk = f.dom.has(t.day) || (f.lastDom && t.day === lastDay);
    const dowOk = f.dow.has(t.dow);
    // Classic cron: when both day fields are restricted, either one matching is enough.
    if (!f.domAny && !f.dowAny && !f.lastDom) return domOk || dowOk;
    if (f.lastDom && f.dowAny) return domOk;
    return domOk && dowOk;
  }

  /** Start (ms) of the mute window containing `now`, or undefined when not muted. Cached per minute. */
  activeSince(now: number): number | undefined {
    const minute = Math.floor(now / MINUTE) * MINUTE;
    if (minute !== this.cachedMinute) {
      this.cachedMinute = minute;
      this.cachedStart = undefined;
      // Look back over the window's length, minute by minute (once per minute per rule).
      for (let m = minute; m > now - this.durationMs; m -= MINUTE) {
        if (this.matches(m)) {
          this.cachedStart = m;
          break;
        }
      }
    }
    return this.cachedStart !== undefined && now < this.cachedStart + this.durationMs ? this.cachedStart : undefined;
  }
}

/** The first mute window of a rule active at `now` (its cron), or undefined. */
export function activeMute(schedules: readonly MuteSchedule[], now: number): MuteSchedule | undefined {
  for (const s of schedules) if (s.activeSince(now) !== undefined) return s;
  return undefined;
}
