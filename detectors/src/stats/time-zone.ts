import type { LocalTime } from './cron.js';

/**
 * Wall-clock time in an IANA zone via Intl, as an offset from UTC: local ms = utc ms +
 * offset. Formatters are built once per zone; offsets are memoised per zone and 15-minute
 * UTC slot (every zone transition falls on a quarter hour), so a scorer pays the Intl
 * cost about once per slot rather than per event. Both caches are bounded.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, { slot: number; offset: number }>();
const MAX_ZONES = 1024;
const SLOT_MS = 15 * 60_000;

export class TimeZoneError extends Error {
  readonly code = 'PCX_TIME_ZONE';
  constructor(readonly zone: string) {
    super(`unknown IANA time zone "${zone}"`);
    this.name = 'TimeZoneError';
  }
}

function formatterOf(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      throw new TimeZoneError(zone);
    }
    if (formatters.size >= MAX_ZONES) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** Throws TimeZoneError for a zone Intl does not know. */
export function assertTimeZone(zone: string): void {
  formatterOf(zone);
}

/** Offset (ms) of `zone` from UTC at instant t. */
export function zoneOffset(zone: string, t: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const slot = Math.floor(t / SLOT_MS);
  const cached = offsets.get(zone);
  if (cached && cached.slot === slot) return cached.offset;
  const base = slot * SLOT_MS;
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  for (const p of formatterOf(zone).formatToParts(base)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') mo = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') mi = Number(p.value);
  }
  const offset = Date.UTC(y, mo - 1, d, h, mi) - base;
  if (offsets.size >= MAX_ZONES && !offsets.has(zone)) offsets.clear();
  offsets.set(zone, { slot, offset });
  return offset;
}

/** Wall-clock fields of a local-ms value (utc + offset). */
export function localFields(localMs: number): LocalTime {
  const d = new Date(localMs);
  return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), dayOfMonth: d.getUTCDate(), month: d.getUTCMonth() + 1, dayOfWeek: d.getUTCDay() };
}

export function localTime(zone: string, t: number): LocalTime {
  return localFields(t + zoneOffset(zone, t));
}

/** Hour of the week, 0 = Sunday 00:00–00:59 local, 167 = Saturday 23:00–23:59. */
export function hourOfWeek(zone: string, t: number): number {
  const l = localTime(zone, t);
  return l.dayOfWeek * 24 + l.hour;
}
