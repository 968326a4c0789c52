/**
 * Where each output column of a statement comes from, as the SQL analyser sees it:
 * `SELECT c.ssn AS x` → `{ x: [{ table: 'c', column: 'ssn' }] }`,
 * `SELECT concat(name, ssn) AS n` → `{ n: [{ column: 'name' }, { column: 'ssn' }] }`.
 * Tables are as resolved by the analyser (alias resolved to the table where it can).
 */
export interface SourceColumn {
  table?: string | undefined;
  column: string;
}

export type Lineage = Record<string, SourceColumn[]>;

/** Names a source column can be matched by: bare, `table.column`, and `t.column` for `schema.t`. */
export function sourceNames(src: SourceColumn): { bare: string; qualified: string[] } {
  const qualified: string[] = [];
  if (src.table) {
    qualified.push(`${src.table}.${src.column}`);
    const dot = src.table.lastIndexOf('.');
    if (dot >= 0) qualified.push(`${src.table.slice(dot + 1)}.${src.column}`);
  }
  return { bare: src.column, qualified };
}
