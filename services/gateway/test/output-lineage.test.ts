import { describe, it, expect } from 'vitest';
import { outputLineage, withStarColumns } from '../src/masking/output-lineage.js';

const cols = (sql: string) => outputLineage(sql)?.columns;

describe('output lineage from the Postgres parse tree', () => {
  it('aliases, qualified columns and table aliases resolve to the source table', () => {
    expect(cols('select c.ssn as x, email from customers c')).toEqual({ x: [{ table: 'customers', column: 'ssn' }], email: [{ table: 'customers', column: 'email' }] });
    expect(cols('select s.t.a from s.t')).toEqual({ a: [{ table: 's.t', column: 'a' }] });
  });

  it('expressions keep every column they read, named as Postgres names them', () => {
    expect(cols("select lower(email), string_agg(card_number, ','), ssn::text, name || ssn as both, 1 + 2 from customers")).toEqual({
      lower: [{ table: 'customers', column: 'email' }],
      string_agg: [{ table: 'customers', column: 'card_number' }],
      ssn: [{ table: 'customers', column: 'ssn' }],
      both: [
        { table: 'customers', column: 'name' },
        { table: 'customers', column: 'ssn' },
      ],
      '?column?': [],
    });
    expect(Object.keys(cols('select case when true then ssn end, coalesce(a, b) from t') ?? {})).toEqual(['case', 'coalesce']);
  });

  it('through subqueries in FROM, CTEs (with column aliases) and set operations', () => {
    expect(cols('select x from (select ssn as x from customers) s')).toEqual({ x: [{ table: 'customers', column: 'ssn' }] });
    expect(cols('with w(k) as (select card_number from payments) select w.k as out from w')).toEqual({ out: [{ table: 'payments', column: 'card_number' }] });
    expect(cols('select name from a union all select ssn from b')).toEqual({ name: [{ table: 'a', column: 'name' }, { table: 'b', column: 'ssn' }] });
    expect(cols('select * from (select iban as i from payments) p')).toEqual({ i: [{ table: 'payments', column: 'iban' }] });
  });

  it('with several tables an unqualified column keeps its bare name; a star over a base table is attributed by result column', () => {
    expect(cols('select ssn from a join b on a.id = b.id')).toEqual({ ssn: [{ column: 'ssn' }] });
    const l = outputLineage('select *, 1 as one from customers');
    expect(l?.starTables).toEqual(['customers']);
    expect(withStarColumns(l!, ['id', 'ssn', 'one'])).toEqual({ one: [], id: [{ table: 'customers', column: 'id' }], ssn: [{ table: 'customers', column: 'ssn' }] });
  });

  it('anything but a single SELECT has no lineage; deep nesting does not throw', () => {
    expect(outputLineage('select 1; select 2')).toBeUndefined();
    expect(outputLineage('delete from t')).toBeUndefined();
    expect(outputLineage('selec 1')).toBeUndefined();
    let q = 'select ssn from t';
    for (let i = 0; i < 60; i++) q = `select ssn from (${q}) s${i}`;
    expect(() => outputLineage(q)).not.toThrow();
  });
});
