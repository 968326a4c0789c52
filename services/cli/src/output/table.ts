/**
 * psql-style aligned text tables: a header, a rule, one line per row, and a `(N rows)`
 * footer. NULL is spelt NULL (so it differs from an empty string); numbers are
 * right-aligned; control characters are escaped so one row stays one line.
 */
export type Cell = string | number | bigint | boolean | null;

export interface TableOptions {
  /** Per column: right-align (numbers). Defaults to inferring from the values. */
  rightAlign?: readonly boolean[];
}

export function formatCell(v: Cell): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return String(v);
}

export function rowsFooter(n: number | bigint): string {
  return `(${n} ${n === 1 || n === 1n ? 'row' : 'rows'})`;
}

export function formatTable(columns: readonly string[], rows: ReadonlyArray<readonly Cell[]>, opts: TableOptions = {}): string {
  const text = rows.map((r) => columns.map((_, i) => formatCell(r[i] ?? null)));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const right = columns.map((_, i) => opts.rightAlign?.[i] ?? (rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === 'number' || typeof r[i] === 'bigint')));
  const line = (cells: readonly string[], header: boolean): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        if (header) return center(c, w);
        return right[i] ? c.padStart(w) : c.padEnd(w);
      })
      .join(' | ')
      .trimEnd();
  const out = [` ${line(columns, true)}`, widths.map((w) => '-'.repeat(w + 2)).join('+'), ...text.map((r) => ` ${line(r, false)}`), rowsFooter(rows.length)];
  return out.join('\n');
}

function center(s: string, width: number): string {
  const pad = width - s.length;
  const left = Math.floor(pad / 2);
  return ' '.repeat(left) + s + ' '.repeat(pad - left);
}
