/**
 * Budget periods in a configured IANA time zone: a day starts at local midnight, a week on Monday,
 * a month on its first day. Local dates come from Intl (no date library); period keys are calendar
 * dates ('YYYY-MM-DD'), so the database compares and groups them without any zone arithmetic.
 */
export type Period = 'day' | 'week' | 'month';
export const PERIODS: readonly Period[] = ['day', 'week', 'month'];

export interface PeriodStarts {
  day: string;
  week: string;
  month: string;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** UTC offsets are whole multiples of 15 minutes, so every instant in one 15-minute slot has one local date. */
const SLOT_MS = 15 * 60_000;

/** Local calendar dates of instants in one time zone, cached per 15-minute slot. */
export class LocalCalendar {
  private readonly format: Intl.DateTimeFormat;
  private readonly cache = new Map<number, string>();

  constructor(readonly timeZone: string) {
    if (!isValidTimeZone(timeZone)) throw new RangeError(`unknown time zone: ${timeZone}`);
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** The local date ('YYYY-MM-DD') of an instant. */
  dateOf(instant: Date): string {
    const slot = Math.floor(instant.getTime() / SLOT_MS);
    let date = this.cache.get(slot);
    if (date === undefined) {
      const parts: Record<string, string> = {};
      for (const p of this.format.formatToParts(instant)) parts[p.type] = p.value;
      date = `${parts.year}-${parts.month}-${parts.day}`;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(slot, date);
    }
    return date;
  }

  private last?: PeriodStarts;

  /** The day, week and month an instant falls in, as their first local dates. */
  periodsOf(instant: Date): PeriodStarts {
    const day = this.dateOf(instant);
    if (this.last?.day !== day) this.last = periodStarts(day);
    return { ...this.last };
  }
}

/** The starts of the day, week (Monday) and month containing a local date. */
export function periodStarts(date: string): PeriodStarts {
  const [y, m, d] = date.split('-').map(Number);
  const utc = new Date(Date.UTC(y, m - 1, d));
  const sinceMonday = (utc.getUTCDay() + 6) % 7;
  const monday = new Date(utc.getTime() - sinceMonday * 86_400_000);
  return { day: date, week: monday.toISOString().slice(0, 10), month: `${date.slice(0, 7)}-01` };
}

/** The label Prometheus rules use for a period (daily, weekly, monthly). */
export function periodAdjective(period: Period): 'daily' | 'weekly' | 'monthly' {
  return period === 'day' ? 'daily' : period === 'week' ? 'weekly' : 'monthly';
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `s` is a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** A calendar date moved by whole days. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d) + days * 86_400_000).toISOString().slice(0, 10);
}
