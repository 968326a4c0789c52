import { describe, it, expect } from 'vitest';
import { formatCell, formatTable, rowsFooter } from '../src/output/table.js';

describe('formatTable', () => {
  it('aligns columns, right-aligns numbers and shows NULL', () => {
    const out = formatTable(
      ['id', 'name', 'total'],
      [
        [1, 'Ada Abara', 1999],
        [10, null, 5],
      ],
    );
    expect(out.split('\n')).toEqual([
      ' id |   name    | total',
      '----+-----------+-------',
      '  1 | Ada Abara |  1999',
      ' 10 | NULL      |     5',
      '(2 rows)',
    ]);
  });

  it('prints a header and (0 rows) for an empty result', () => {
    expect(formatTable(['count'], []).split('\n')).toEqual([' count', '-------', '(0 rows)']);
  });

  it('says (1 row) in the singular', () => {
    expect(formatTable(['n'], [[3]]).endsWith('(1 row)')).toBe(true);
    expect(rowsFooter(1n)).toBe('(1 row)');
  });

  it('keeps one row on one line', () => {
    expect(formatCell('a\nb\tc')).toBe('a\\nb\\tc');
    expect(formatTable(['s'], [['x\ny']]).split('\n')).toHaveLength(4);
  });

  it('honours explicit alignment', () => {
    const out = formatTable(['code'], [['7'], ['12']], { rightAlign: [true] });
    expect(out.split('\n').slice(2, 4)).toEqual(['    7', '   12']);
  });
});
