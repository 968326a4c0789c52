import { describe, expect, it } from 'vitest';
import { allStatements, analyzeSql, toCommandFacts, type Analysis, type StatementFacts } from '../src/index.js';

function one(sql: string, dialect: 'postgres' | 'mysql' = 'postgres'): StatementFacts {
  const a = analyzeSql(sql, dialect);
  if (!a.ok) throw new Error(`expected ${sql} to parse: ${a.error.message}`);
  expect(a.statements).toHaveLength(1);
  return a.statements[0] as StatementFacts;
}

describe('postgres facts', () => {
  it('names tables read and written, schema-qualified, folding unquoted identifiers and keeping quoted ones', () => {
    const f = one('UPDATE App.Orders o SET total = s.total FROM "Staging"."NewTotals" s WHERE o.id = s.id');
    expect(f.kind).toBe('update');
    expect(f.nodeType).toBe('UpdateStmt');
    expect(f.tablesWritten).toEqual(['app.orders']);
    expect(f.tablesRead).toEqual(['Staging.NewTotals']);
    expect(f.columns).toEqual(expect.arrayContaining(['o.id', 's.id', 's.total']));
    expect(f.isWrite).toBe(true);
    expect(f.hasWhere).toBe(true);
    expect(f.whereAlwaysTrue).toBe(false);
  });

  it('finds tables and functions in subqueries, joins and lateral calls, and leaves CTE names out of tables', () => {
    const f = one('WITH recent AS (SELECT * FROM orders WHERE created > now()) SELECT lower(u.email) FROM users u JOIN LATERAL (SELECT count(*) FROM recent r WHERE r.uid = u.id) c ON true WHERE u.id IN (SELECT uid FROM bans)');
    expect(f.tablesRead).toEqual(['bans', 'orders', 'users']);
    expect(f.functions).toEqual(['count', 'lower', 'now']);
    expect(f.isWrite).toBe(false);
  });

  it('sees a data-modifying CTE as a nested write and marks the outer statement', () => {
    const f = one('WITH gone AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM gone');
    expect(f.kind).toBe('select');
    expect(f.isWrite).toBe(true);
    expect(f.writesInCte).toBe(true);
    expect(f.tablesWritten).toEqual(['orders']);
    expect(f.nested.map((n) => n.kind)).toEqual(['delete']);
    expect(f.nested[0]?.hasWhere).toBe(true);
  });

  it('counts data-modifying functions as writes', () => {
    expect(one("SELECT setval('s', 1)").isWrite).toBe(true);
    expect(one("SELECT nextval('s')").isWrite).toBe(true);
    expect(one('SELECT lower(name) FROM t').isWrite).toBe(false);
  });

  it('judges EXPLAIN ANALYZE by the statement it runs', () => {
    const f = one('EXPLAIN ANALYZE DELETE FROM orders WHERE id = 2');
    expect(f.kind).toBe('explain');
    expect(f.riskTags).toContain('explain_analyze');
    expect(f.nested[0]?.kind).toBe('delete');
    expect(f.isWrite).toBe(true);
  });

  it('classes DDL and names the objects it touches', () => {
    const drop = one('DROP TABLE IF EXISTS app.a, b CASCADE');
    expect(drop.kind).toBe('ddl_drop');
    expect(drop.objects).toEqual([{ type: 'table', name: 'app.a' }, { type: 'table', name: 'b' }]);
    const rename = one('ALTER TABLE a RENAME TO b');
    expect(rename.kind).toBe('ddl_alter');
    expect(rename.objects.map((o) => o.name)).toEqual(['a', 'b']);
    const ctas = one('CREATE TABLE n AS SELECT * FROM t');
    expect(ctas.kind).toBe('ddl_create');
    expect(ctas.tablesWritten).toEqual(['n']);
    expect(ctas.tablesRead).toEqual(['t']);
    const into = one('SELECT * INTO n FROM t');
    expect(into.kind).toBe('ddl_create');
    expect(into.riskTags).toContain('select_into');
    expect(one('COMMENT ON TABLE t IS $$x$$').objects).toEqual([{ type: 'table', name: 't' }]);
    expect(one('CREATE SCHEMA s').objects).toEqual([{ type: 'schema', name: 's' }]);
    expect(one('CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$').objects).toEqual([{ type: 'function', name: 's.f' }]);
  });

  it('classes the other statement kinds', () => {
    const kinds: Array<[string, string]> = [
      ['TRUNCATE t', 'truncate'],
      ['GRANT SELECT ON t TO x', 'grant'],
      ['REVOKE SELECT ON t FROM x', 'revoke'],
      ['CREATE ROLE x', 'role'],
      ['COPY t FROM STDIN', 'copy'],
      ['CALL p()', 'call'],
      ['DO $$ BEGIN END $$', 'do'],
      ['SET x = 1', 'set'],
      ['SHOW x', 'show'],
      ['BEGIN', 'transaction'],
      ['EXPLAIN SELECT 1', 'explain'],
      ['PREPARE p AS SELECT 1', 'prepare'],
      ['EXECUTE p', 'execute'],
      ['DEALLOCATE p', 'deallocate'],
      ['LOCK TABLE t', 'lock'],
      ['VACUUM t', 'maintenance'],
      ["LOAD 'x'", 'load_library'],
      ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'merge'],
      ['INSERT INTO t VALUES (1)', 'insert'],
    ];
    for (const [sql, kind] of kinds) expect(one(sql).kind, sql).toBe(kind);
  });

  it('reports COPY program and file access', () => {
    expect(one("COPY t FROM PROGRAM 'ls'").copyProgram).toBe(true);
    const toFile = one("COPY t TO '/tmp/x'");
    expect(toFile.copyFile).toBe(true);
    expect(toFile.isWrite).toBe(false);
    expect(toFile.tablesRead).toEqual(['t']);
    const fromFile = one("COPY t FROM '/tmp/x'");
    expect(fromFile.copyFile).toBe(true);
    expect(fromFile.tablesWritten).toEqual(['t']);
    expect(one('COPY t TO STDOUT').copyFile).toBe(false);
  });

  it('parses PL/pgSQL bodies and judges the statements inside', () => {
    const f = one('DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM audit; UPDATE orders SET x = n WHERE id = 1; END $$');
    expect(f.kind).toBe('do');
    expect(f.tablesWritten).toEqual(['orders']);
    expect(f.tablesRead).toContain('audit');
    expect(allStatements([f]).map((s) => s.kind)).toContain('update');
    expect(one("DO $$ BEGIN EXECUTE 'DELETE FROM x'; END $$").riskTags).toContain('dynamic_sql');
  });

  it('tells a LIMIT apart', () => {
    expect(one('SELECT * FROM t LIMIT 5').hasLimit).toBe(true);
    expect(one('SELECT * FROM t FETCH FIRST 3 ROWS ONLY').hasLimit).toBe(true);
    expect(one('SELECT * FROM t').hasLimit).toBe(false);
  });

  it('splits multi-statement strings and tags each part', () => {
    const a = analyzeSql('SELECT 1; UPDATE t SET a = 1 WHERE id = 2', 'postgres');
    expect(a.ok && a.isMultiStatement).toBe(true);
    expect(a.ok && a.statements.map((s) => s.kind)).toEqual(['select', 'update']);
    expect(a.ok && a.statements.every((s) => s.riskTags.includes('multi_statement'))).toBe(true);
  });

  it('reads nothing from string literals or comments', () => {
    const f = one("SELECT 'DELETE FROM users', $q$DROP TABLE x$q$ /* TRUNCATE y */ FROM t -- GRANT z");
    expect(f.kind).toBe('select');
    expect(f.tablesRead).toEqual(['t']);
    expect(f.riskTags).toEqual([]);
  });
});

describe('mysql facts', () => {
  it('yields the same kinds of facts as postgres, with identifiers lower-cased', () => {
    const f = one('UPDATE Shop.Orders o JOIN items i ON o.id = i.oid SET o.total = 0 WHERE i.id = 3 LIMIT 1', 'mysql');
    expect(f.kind).toBe('update');
    expect(f.isWrite).toBe(true);
    expect(f.tablesWritten).toEqual(expect.arrayContaining(['shop.orders']));
    expect(f.hasWhere).toBe(true);
    const s = one('SELECT COUNT(*), LOWER(name) FROM Users WHERE id IN (SELECT uid FROM bans) LIMIT 3', 'mysql');
    expect(s.tablesRead).toEqual(['bans', 'users']);
    expect(s.functions).toEqual(['count', 'lower']);
    expect(s.hasLimit).toBe(true);
    expect(one('DELETE FROM orders', 'mysql').tablesRead).toEqual([]);
  });

  it('classes DDL and file access', () => {
    expect(one('DROP TABLE a, b', 'mysql').objects.map((o) => o.name)).toEqual(['a', 'b']);
    expect(one("LOAD DATA INFILE '/x' INTO TABLE t", 'mysql').tablesWritten).toEqual(['t']);
    expect(one("SELECT * FROM t INTO OUTFILE '/x'", 'mysql').riskTags).toContain('file_access');
  });
});

describe('command facts for events', () => {
  it('summarises an analysis as the AccessEvent command fields', () => {
    const a = analyzeSql('SELECT u.id FROM users u WHERE u.id = 3 LIMIT 1', 'postgres');
    const c = toCommandFacts(a);
    expect(c).toEqual({ fingerprint: a.ok ? a.fingerprint : '', statementType: 'select', tables: ['users'], isWrite: false, hasWhere: true, hasLimit: true, riskTags: [] });
    expect(c.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const multi = toCommandFacts(analyzeSql('SELECT 1; DELETE FROM t', 'postgres'));
    expect(multi.statementType).toBe('multi');
    expect(multi.isWrite).toBe(true);
    expect(multi.riskTags).toEqual(expect.arrayContaining(['multi_statement', 'no_where', 'write']));
    const bad: Analysis = analyzeSql('SELEC', 'postgres');
    expect(toCommandFacts(bad)).toMatchObject({ statementType: 'unparseable', fingerprint: '', riskTags: ['unparseable'] });
  });

  it('gives statements that differ only in literals the same fingerprint, and different shapes different ones', () => {
    const fp = (s: string, d: 'postgres' | 'mysql' = 'postgres'): string => toCommandFacts(analyzeSql(s, d)).fingerprint;
    expect(fp("SELECT * FROM t WHERE a = 1 AND b = 'x'")).toBe(fp("select * from t where a = 2 and b = 'y'"));
    expect(fp('SELECT * FROM t WHERE a = 1')).not.toBe(fp('SELECT * FROM u WHERE a = 1'));
    expect(fp("SELECT * FROM t WHERE a = 1 AND b = 'x'", 'mysql')).toBe(fp("SELECT * FROM t WHERE a = 22 AND b = 'yy'", 'mysql'));
    expect(fp('SELECT * FROM t WHERE a = 1', 'mysql')).not.toBe(fp('SELECT * FROM u WHERE a = 1', 'mysql'));
  });
});
