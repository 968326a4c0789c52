import type { ResultValue } from './target.js';

/** Built-in type OIDs → names, so the common cases need no catalog lookup. */
export const PG_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [16, 'bool'], [17, 'bytea'], [18, 'char'], [19, 'name'], [20, 'int8'], [21, 'int2'], [23, 'int4'], [24, 'regproc'],
  [25, 'text'], [26, 'oid'], [114, 'json'], [142, 'xml'], [194, 'pg_node_tree'], [600, 'point'], [650, 'cidr'],
  [700, 'float4'], [701, 'float8'], [705, 'unknown'], [790, 'money'], [829, 'macaddr'], [869, 'inet'],
  [1042, 'bpchar'], [1043, 'varchar'], [1082, 'date'], [1083, 'time'], [1114, 'timestamp'], [1184, 'timestamptz'],
  [1186, 'interval'], [1266, 'timetz'], [1560, 'bit'], [1562, 'varbit'], [1700, 'numeric'], [2249, 'record'],
  [2950, 'uuid'], [3614, 'tsvector'], [3802, 'jsonb'], [4089, 'regnamespace'], [2205, 'regclass'],
  [199, '_json'], [1000, '_bool'], [1005, '_int2'], [1007, '_int4'], [1009, '_text'], [1015, '_varchar'],
  [1016, '_int8'], [1021, '_float4'], [1022, '_float8'], [1182, '_date'], [1115, '_timestamp'],
  [1185, '_timestamptz'], [1231, '_numeric'], [2951, '_uuid'], [3807, '_jsonb'],
]);

const AS_NUMBER = new Set([21, 23, 26, 700, 701]);
const BOOL = 16;

/**
 * How a text-format cell becomes a ResultValue: booleans and the types a double holds
 * exactly (int2, int4, oid, float4, float8) become numbers; everything else, including
 * int8, numeric, money, dates and timestamps, stays as the target's text so that nothing
 * is rounded or shifted to another time zone on the way.
 */
export function parserFor(oid: number): (text: string) => ResultValue {
  if (oid === BOOL) return (t) => t === 't';
  if (AS_NUMBER.has(oid)) return (t) => Number(t);
  return (t) => t;
}

/** A command tag as psql prints it: `SELECT 3`, `INSERT 0 1`, `CREATE TABLE`. */
export function commandTag(command: string | null | undefined, rowCount: number | null | undefined): string {
  const c = (command ?? '').toUpperCase();
  if (!c) return '';
  if (rowCount === null || rowCount === undefined) return c;
  return c === 'INSERT' ? `INSERT 0 ${rowCount}` : `${c} ${rowCount}`;
}
