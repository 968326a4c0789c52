/** Event-time arithmetic for scenarios: whole days in an agent's IANA time zone. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** Local wall clock minus UTC at instant t, in ms. */
export function zoneOffset(zone: string, t: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const local = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return local - Math.floor(t / 1000) * 1000;
}

/** The UTC instant of a local wall-clock time (the later offset wins across a DST gap). */
export function fromLocal(zone: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const wall = Date.UTC(year, month, day, hour, minute);
  const guess = wall - zoneOffset(zone, wall);
  return wall - zoneOffset(zone, guess);
}

export interface LocalDay {
  /** Local calendar date. */
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday … 6 = Saturday (as cron counts). */
  dayOfWeek: number;
  /** UTC instant of a local time on this day. */
  at(hour: number, minute: number): number;
}

/** Every local calendar day in a zone that overlaps [from, to). */
export function localDays(zone: string, from: number, to: number): LocalDay[] {
  const out: LocalDay[] = [];
  const first = new Date(from + zoneOffset(zone, from));
  for (let d = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate()); ; d += DAY) {
    const date = new Date(d);
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
    if (fromLocal(zone, year, month, day, 0, 0) >= to) break;
    out.push({ year, month, day, dayOfWeek: date.getUTCDay(), at: (hour, minute) => fromLocal(zone, year, month, day, hour, minute) });
  }
  return out;
}

/** Local hour (0..23) and day of week at instant t. */
export function localClock(zone: string, t: number): { hour: number; minute: number; dayOfWeek: number } {
  const d = new Date(t + zoneOffset(zone, t));
  return { hour: d.getUTCHours(), minute: d.getUTCMinutes(), dayOfWeek: d.getUTCDay() };
}
