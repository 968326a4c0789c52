import { describe, it, expect } from 'vitest';
import { parseCron, cronMatches, CronSyntaxError, type LocalTime } from '../src/index.js';
import { hourOfWeek, localTime, zoneOffset, TimeZoneError, assertTimeZone } from '../src/stats/time-zone.js';
import { prng } from './fixtures/agent-traffic.js';

const at = (minute: number, hour: number, dayOfMonth: number, month: number, dayOfWeek: number): LocalTime => ({ minute, hour, dayOfMonth, month, dayOfWeek });

describe('cron matcher', () => {
  it('matches exact values, ranges, lists and steps', () => {
    const c = parseCron('5,35 9-17/2 * * 1-5');
    expect(cronMatches(c, at(5, 9, 7, 1, 2))).toBe(true);
    expect(cronMatches(c, at(35, 17, 7, 1, 5))).toBe(true);
    expect(cronMatches(c, at(5, 10, 7, 1, 2))).toBe(false); // 10 is not in 9-17/2
    expect(cronMatches(c, at(6, 9, 7, 1, 2))).toBe(false);
    expect(cronMatches(c, at(5, 9, 7, 1, 6))).toBe(false); // Saturday
    const steps = parseCron('*/15 * * * *');
    expect([0, 15, 30, 45].every((m) => cronMatches(steps, at(m, 3, 1, 1, 0)))).toBe(true);
    expect(cronMatches(steps, at(59, 3, 1, 1, 0))).toBe(false);
    const from = parseCron('10/20 * * * *');
    expect([10, 30, 50].every((m) => cronMatches(from, at(m, 0, 1, 1, 0)))).toBe(true);
    expect(cronMatches(from, at(0, 0, 1, 1, 0))).toBe(false);
  });

  it('reads month and weekday names and 7 as Sunday', () => {
    const c = parseCron('0 2 * JAN-mar sun');
    expect(cronMatches(c, at(0, 2, 5, 1, 0))).toBe(true);
    expect(cronMatches(c, at(0, 2, 5, 4, 0))).toBe(false);
    expect(cronMatches(parseCron('0 0 * * 7'), at(0, 0, 5, 1, 0))).toBe(true);
    expect(cronMatches(parseCron('0 0 * * 5-7'), at(0, 0, 5, 1, 0))).toBe(true);
  });

  it('ORs day of month and day of week when both are restricted, ANDs otherwise', () => {
    const both = parseCron('0 0 1 * mon');
    expect(cronMatches(both, at(0, 0, 1, 6, 3))).toBe(true); // the 1st, a Wednesday
    expect(cronMatches(both, at(0, 0, 9, 6, 1))).toBe(true); // a Monday, the 9th
    expect(cronMatches(both, at(0, 0, 9, 6, 3))).toBe(false);
    const domOnly = parseCron('0 0 1 * *');
    expect(cronMatches(domOnly, at(0, 0, 9, 6, 1))).toBe(false);
  });

  it('expands shorthands', () => {
    expect(cronMatches(parseCron('@daily'), at(0, 0, 17, 8, 3))).toBe(true);
    expect(cronMatches(parseCron('@hourly'), at(0, 13, 17, 8, 3))).toBe(true);
    expect(cronMatches(parseCron('@weekly'), at(0, 0, 17, 8, 3))).toBe(false);
  });

  it.each(['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '5-1 * * * *', '*/0 * * * *', '* * * foo *', '1/2/3 * * * *', 'a * * * *', '1,,2 * * * *'])(
    'rejects %j with a stable code',
    (expr) => {
      expect(() => parseCron(expr)).toThrow(CronSyntaxError);
      try {
        parseCron(expr);
      } catch (err) {
        expect((err as CronSyntaxError).code).toBe('PCX_CRON_SYNTAX');
      }
    },
  );

  it('agrees with a brute-force reference on random expressions and times', () => {
    const rand = prng(7);
    const ranges = [
      [0, 59],
      [0, 23],
      [1, 31],
      [1, 12],
      [0, 6],
    ] as const;
    let checked = 0;
    let matched = 0;
    for (let n = 0; n < 300; n++) {
      // Each field: '*', a value, a range, a list or a stepped range; and its allowed set.
      const sets: Set<number>[] = [];
      const texts: string[] = [];
      for (const [min, max] of ranges) {
        const kind = Math.floor(rand() * 5);
        const v = () => min + Math.floor(rand() * (max - min + 1));
        const set = new Set<number>();
        let text: string;
        if (kind === 0) {
          text = '*';
          for (let i = min; i <= max; i++) set.add(i);
        } else if (kind === 1) {
          const a = v();
          text = String(a);
          set.add(a);
        } else if (kind === 2 || kind === 4) {
          let a = v();
          let b = v();
          if (b < a) [a, b] = [b, a];
          const step = kind === 4 ? 1 + Math.floor(rand() * 5) : 1;
          text = kind === 4 ? `${a}-${b}/${step}` : `${a}-${b}`;
          for (let i = a; i <= b; i += step) set.add(i);
        } else {
          const xs = [v(), v(), v()];
          text = xs.join(',');
          for (const x of xs) set.add(x);
        }
        sets.push(set);
        texts.push(text);
      }
      const c = parseCron(texts.join(' '));
      const [mi, h, dom, mo, dow] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
      const domStar = texts[2] === '*';
      const dowStar = texts[4] === '*';
      for (let k = 0; k < 200; k++) {
        const t = at(Math.floor(rand() * 60), Math.floor(rand() * 24), 1 + Math.floor(rand() * 31), 1 + Math.floor(rand() * 12), Math.floor(rand() * 7));
        // Bias a quarter of probes onto allowed values so matches are exercised too.
        const probe = k % 4 === 0 ? at([...mi][0] as number, [...h][0] as number, [...dom][0] as number, [...mo][0] as number, [...dow][0] as number) : t;
        const dayOk = !domStar && !dowStar ? dom.has(probe.dayOfMonth) || dow.has(probe.dayOfWeek) : dom.has(probe.dayOfMonth) && dow.has(probe.dayOfWeek);
        const expected = mi.has(probe.minute) && h.has(probe.hour) && mo.has(probe.month) && dayOk;
        expect(cronMatches(c, probe)).toBe(expected);
        checked += 1;
        if (expected) matched += 1;
      }
    }
    expect(checked).toBe(60_000);
    expect(matched).toBeGreaterThan(5_000);
  });
});

describe('time zones', () => {
  it('follows DST in America/New_York', () => {
    expect(zoneOffset('America/New_York', Date.UTC(2025, 0, 15, 12))).toBe(-5 * 3_600_000);
    expect(zoneOffset('America/New_York', Date.UTC(2025, 6, 15, 12))).toBe(-4 * 3_600_000);
    // 2025-03-09 07:00 UTC is 03:00 EDT, one minute earlier 01:59 EST.
    expect(localTime('America/New_York', Date.UTC(2025, 2, 9, 7, 0)).hour).toBe(3);
    expect(localTime('America/New_York', Date.UTC(2025, 2, 9, 6, 59)).hour).toBe(1);
  });

  it('handles half-hour zones and the week boundary', () => {
    expect(zoneOffset('Asia/Kolkata', Date.UTC(2025, 0, 6, 0, 0))).toBe(5.5 * 3_600_000);
    // Sunday 2025-01-05 20:00 UTC is Monday 01:30 in Kolkata: bin 24 + 1.
    expect(hourOfWeek('Asia/Kolkata', Date.UTC(2025, 0, 5, 20, 0))).toBe(25);
    expect(hourOfWeek('UTC', Date.UTC(2025, 0, 11, 23, 59))).toBe(167);
  });

  it('agrees with Intl at random instants in several zones', () => {
    const rand = prng(11);
    const zones = ['Europe/Berlin', 'America/Los_Angeles', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC'];
    for (let i = 0; i < 500; i++) {
      const t = Date.UTC(2024, 0, 1) + Math.floor(rand() * 730 * 86_400_000);
      const zone = zones[i % zones.length] as string;
      const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: 'numeric', minute: 'numeric', weekday: 'short' }).formatToParts(t);
      const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
      const l = localTime(zone, t);
      expect(l.hour).toBe(Number(get('hour')));
      expect(l.minute).toBe(Number(get('minute')));
      expect(['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][l.dayOfWeek]).toBe(get('weekday'));
    }
  });

  it('rejects an unknown zone', () => {
    expect(() => assertTimeZone('Mars/Olympus_Mons')).toThrow(TimeZoneError);
  });
});
