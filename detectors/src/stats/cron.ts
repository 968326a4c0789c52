/**
 * A 5-field cron matcher (minute hour day-of-month month day-of-week) for declared agent
 * schedules: `*`, numbers, ranges `a-b`, lists `a,b`, steps `*\/n` and `a-b/n` (and `a/n`,
 * meaning a to the end), month and weekday names (jan…dec, sun…sat), 7 for Sunday, and
 * the shorthands @yearly @monthly @weekly @daily @hourly. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted a day matching either one matches.
 */
export interface Cron {
  readonly source: string;
  /** Bit i set ⇔ value i allowed. Minutes need 60 bits, so two words. */
  readonly minutesLo: number;
  readonly minutesHi: number;
  readonly hours: number;
  readonly daysOfMonth: number;
  readonly months: number;
  readonly daysOfWeek: number;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

/** Wall-clock fields of a moment in some time zone. month 1–12, dayOfWeek 0 (Sunday)–6. */
export interface LocalTime {
  readonly minute: number;
  readonly hour: number;
  readonly dayOfMonth: number;
  readonly month: number;
  readonly dayOfWeek: number;
}

export class CronSyntaxError extends Error {
  readonly code = 'PCX_CRON_SYNTAX';
  constructor(
    readonly expression: string,
    detail: string,
  ) {
    super(`invalid cron expression "${expression}": ${detail}`);
    this.name = 'CronSyntaxError';
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value of names[0]. */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  // 7 is accepted as Sunday and folded onto 0 below.
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

export function parseCron(expression: string): Cron {
  const trimmed = expression.trim();
  const expanded = SHORTHANDS[trimmed.toLowerCase()] ?? trimmed;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new CronSyntaxError(expression, `expected 5 fields, got ${parts.length}`);
  const sets = parts.map((p, i) => parseField(expression, p, FIELDS[i] as FieldSpec));
  const [minutes, hours, dom, months, dow] = sets as [boolean[], boolean[], boolean[], boolean[], boolean[]];
  if (dow[7]) dow[0] = true;
  return {
    source: expression,
    minutesLo: bits(minutes, 0, 30),
    minutesHi: bits(minutes, 30, 60),
    hours: bits(hours, 0, 24),
    daysOfMonth: bits(dom, 0, 32),
    months: bits(months, 0, 13),
    daysOfWeek: bits(dow, 0, 7),
    domRestricted: !(parts[2] as string).startsWith('*'),
    dowRestricted: !(parts[4] as string).startsWith('*'),
  };
}

/** Packs allowed[from..to) into the low bits of a 32-bit-safe number (≤ 32 values). */
function bits(allowed: readonly boolean[], from: number, to: number): number {
  let b = 0;
  for (let i = from; i < to; i++) if (allowed[i]) b |= 1 << (i - from);
  return b >>> 0;
}

function has(word: number, i: number): boolean {
  return ((word >>> i) & 1) === 1;
}

function parseField(expression: string, text: string, f: FieldSpec): boolean[] {
  const allowed = new Array<boolean>(f.max + 1).fill(false);
  if (text === '') throw new CronSyntaxError(expression, `empty ${f.name} field`);
  for (const item of text.split(',')) {
    const [rangeText, stepText, extra] = item.split('/');
    if (extra !== undefined || rangeText === undefined || rangeText === '') throw new CronSyntaxError(expression, `bad ${f.name} item "${item}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new CronSyntaxError(expression, `bad step "${stepText}" in the ${f.name} field`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (rangeText === '*') {
      lo = f.min;
      hi = f.name === 'day of week' ? 6 : f.max;
    } else {
      const dash = rangeText.indexOf('-', 1);
      if (dash >= 0) {
        lo = valueOf(expression, rangeText.slice(0, dash), f);
        hi = valueOf(expression, rangeText.slice(dash + 1), f);
        if (hi < lo) throw new CronSyntaxError(expression, `range ${rangeText} runs backwards in the ${f.name} field`);
      } else {
        lo = valueOf(expression, rangeText, f);
        // `5/15` means 5, 20, 35, 50: from the value to the end of the field.
        hi = stepText !== undefined ? f.max : lo;
      }
    }
    for (let v = lo; v <= hi; v += step) allowed[v] = true;
  }
  return allowed;
}

function valueOf(expression: string, text: string, f: FieldSpec): number {
  let v: number;
  if (/^\d+$/.test(text)) v = Number(text);
  else {
    const i = f.names ? f.names.indexOf(text.toLowerCase()) : -1;
    if (i < 0) throw new CronSyntaxError(expression, `unknown ${f.name} value "${text}"`);
    v = i + (f.nameBase ?? 0);
  }
  if (v < f.min || v > f.max) throw new CronSyntaxError(expression, `${f.name} value ${v} outside ${f.min}-${f.max}`);
  return v;
}

export function cronMatches(c: Cron, t: LocalTime): boolean {
  const minuteOk = t.minute < 30 ? has(c.minutesLo, t.minute) : has(c.minutesHi, t.minute - 30);
  if (!minuteOk || !has(c.hours, t.hour) || !has(c.months, t.month)) return false;
  const domOk = has(c.daysOfMonth, t.dayOfMonth);
  const dowOk = has(c.daysOfWeek, t.dayOfWeek);
  if (c.domRestricted && c.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}
