import { describe, expect, it } from 'vitest';
import { columnsInUse, encodeTsv, escapeTsv, quoteTsv, timeText, type TsvColumn } from '../src/tsv.js';

// The hand-written encoder against the plain definition of each form: the engine
// round trip (insert-roundtrip.int.test.ts) shows the forms are right, this shows the
// char-by-char writer produces exactly them.
function reference(columns: readonly TsvColumn[], rows: ReadonlyArray<Record<string, unknown>>): string {
  return rows
    .map((r) =>
      columns
        .map(({ name, kind }) => {
          const v = r[name];
          if (kind === 'string') return escapeTsv(v as string);
          if (kind === 'strings') return `[${(v as string[]).map(quoteTsv).join(',')}]`;
          if (kind === 'counts') return `{${Object.entries(v as Record<string, number>).map(([k, n]) => `${quoteTsv(k)}:${n}`).join(',')}}`;
          if (kind === 'bools') return `[${(v as boolean[]).join(',')}]`;
          if (kind === 'time') return timeText(v as number);
          return String(v);
        })
        .join('\t'),
    )
    .map((line) => `${line}\n`)
    .join('');
}

const ALPHABET = ['a', 'Z', '0', ' ', "'", '"', '\\', '\t', '\n', '\r', '\0', '\x01', 'é', '中', '😀', '\ud800', '\udc00', '[', ']', '{', '}', ',', ':'];

function randomString(seed: { n: number }, max: number): string {
  let s = '';
  const len = (seed.n = (seed.n * 1103515245 + 12345) % 2 ** 31) % max;
  for (let i = 0; i < len; i++) s += ALPHABET[(seed.n = (seed.n * 1103515245 + 12345) % 2 ** 31) % ALPHABET.length];
  return s;
}

describe('encodeTsv', () => {
  it('writes what the reference forms give, byte for byte, on random hostile strings', () => {
    const seed = { n: 42 };
    const columns: TsvColumn[] = [
      { name: 's', kind: 'string' },
      { name: 'a', kind: 'strings' },
      { name: 'm', kind: 'counts' },
      { name: 'b', kind: 'bools' },
      { name: 't', kind: 'time' },
      { name: 'n', kind: 'number' },
      { name: 'f', kind: 'bool' },
    ];
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      s: randomString(seed, 40),
      a: [randomString(seed, 10), randomString(seed, 10)],
      m: { [randomString(seed, 8)]: i },
      b: [i % 2 === 0, true],
      t: 1_700_000_000_000 + i * 997,
      n: i / 4,
      f: i % 3 === 0,
    }));
    const want = Buffer.from(reference(columns, rows), 'utf8');
    expect(encodeTsv(columns, rows).equals(want)).toBe(true);
  });

  it('escapes the TSV specials, and quotes inside arrays and maps', () => {
    expect(escapeTsv('a\\b\tc\nd\re\0f\'g"')).toBe('a\\\\b\\tc\\nd\\re\\0f\'g"');
    expect(quoteTsv("it's \\")).toBe("'it\\'s \\\\'");
    const row = { s: 'x\ty', a: ["o'k", ''], m: { "k'": 1 }, e: null };
    expect(
      encodeTsv(
        [
          { name: 's', kind: 'string' },
          { name: 'a', kind: 'strings' },
          { name: 'm', kind: 'counts' },
          { name: 'e', kind: 'nullableTime' },
        ],
        [row],
      ).toString('utf8'),
    ).toBe("x\\ty\t['o\\'k','']\t{'k\\'':1}\t\\N\n");
  });

  it('writes non-finite numbers as the engine spells them', () => {
    const rows = [{ n: Number.NaN }, { n: Infinity }, { n: -Infinity }, { n: -0 }, { n: 1e-7 }];
    expect(encodeTsv([{ name: 'n', kind: 'number' }], rows).toString()).toBe('nan\ninf\n-inf\n0\n1e-7\n');
  });
});

describe('timeText', () => {
  it('formats ms as DateTime64(3) text in UTC, clamped to its range', () => {
    expect(timeText(0)).toBe('1970-01-01 00:00:00.000');
    expect(timeText(1_795_645_008_117)).toBe('2026-11-25 22:16:48.117');
    expect(timeText(1_795_645_008_117.6)).toBe('2026-11-25 22:16:48.118');
    expect(timeText(-1)).toBe('1969-12-31 23:59:59.999');
    expect(timeText(-1e15)).toBe('1900-01-01 00:00:00.000');
    expect(timeText(1e17)).toBe('2299-12-31 23:59:59.999');
    expect(timeText(Number.NaN)).toBe('1970-01-01 00:00:00.000');
  });
});

describe('columnsInUse', () => {
  it('keeps the columns some row fills, in order, and at least the first', () => {
    const columns: TsvColumn[] = [
      { name: 'id', kind: 'string' },
      { name: 'empty', kind: 'string' },
      { name: 'n', kind: 'number' },
      { name: 'a', kind: 'strings' },
      { name: 'm', kind: 'counts' },
      { name: 'b', kind: 'bool' },
      { name: 't', kind: 'nullableTime' },
    ];
    const rows = [
      { id: 'x', empty: '', n: 0, a: [], m: {}, b: false, t: null },
      { id: 'y', empty: '', n: 3, a: [], m: { k: 0 }, b: false, t: null },
    ];
    expect(columnsInUse(columns, rows).map((c) => c.name)).toEqual(['id', 'n', 'm']);
    expect(columnsInUse(columns.slice(1), [rows[0] as object]).map((c) => c.name)).toEqual(['empty']);
  });
});
