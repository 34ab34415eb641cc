import { addDays, isCalendarDate, isValidTimeZone, LocalCalendar, periodAdjective, periodStarts } from './periods';

describe('budget periods in a time zone', () => {
  it('finds the local date of an instant, with midnight in the zone (not UTC) as the boundary', () => {
    const riyadh = new LocalCalendar('Asia/Riyadh'); // UTC+3, no DST
    expect(riyadh.dateOf(new Date('2025-03-09T20:59:59.999Z'))).toBe('2025-03-09');
    expect(riyadh.dateOf(new Date('2025-03-09T21:00:00.000Z'))).toBe('2025-03-10');
    const ny = new LocalCalendar('America/New_York');
    expect(ny.dateOf(new Date('2025-03-10T03:59:59Z'))).toBe('2025-03-09'); // EDT began that morning: UTC-4
    expect(ny.dateOf(new Date('2025-03-10T04:00:00Z'))).toBe('2025-03-10');
    expect(ny.dateOf(new Date('2025-01-10T04:59:59Z'))).toBe('2025-01-09'); // EST: UTC-5
    expect(ny.dateOf(new Date('2025-01-10T05:00:00Z'))).toBe('2025-01-10');
    const kathmandu = new LocalCalendar('Asia/Kathmandu'); // UTC+5:45
    expect(kathmandu.dateOf(new Date('2025-06-01T18:14:59Z'))).toBe('2025-06-01');
    expect(kathmandu.dateOf(new Date('2025-06-01T18:15:00Z'))).toBe('2025-06-02');
  });

  it('gives the same answers from its cache', () => {
    const cal = new LocalCalendar('Europe/Berlin');
    const instants = Array.from({ length: 2000 }, (_, i) => new Date(Date.UTC(2025, 2, 29) + i * 97_000));
    const fresh = instants.map((d) => new LocalCalendar('Europe/Berlin').dateOf(d));
    expect(instants.map((d) => cal.dateOf(d))).toEqual(fresh);
    expect(instants.map((d) => cal.dateOf(d))).toEqual(fresh);
  });

  it('starts weeks on Monday and months on the first', () => {
    expect(periodStarts('2025-03-09')).toEqual({ day: '2025-03-09', week: '2025-03-03', month: '2025-03-01' }); // a Sunday
    expect(periodStarts('2025-03-10')).toEqual({ day: '2025-03-10', week: '2025-03-10', month: '2025-03-01' }); // a Monday
    expect(periodStarts('2025-01-01')).toEqual({ day: '2025-01-01', week: '2024-12-30', month: '2025-01-01' });
    expect(periodStarts('2024-02-29').week).toBe('2024-02-26');
  });

  it('validates zones and dates', () => {
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(() => new LocalCalendar('Nowhere/Else')).toThrow(/unknown time zone/);
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2024-2-1')).toBe(false);
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(periodAdjective('week')).toBe('weekly');
  });
});
