import { describe, it, expect } from 'vitest';
import { fingerprintOf, firstKeyword } from '../src/analysis/command-analyzer.js';
import { SqlParserAnalyzer } from '../src/analysis/sql-parser-analyzer.js';

describe('SqlParserAnalyzer', () => {
  const a = new SqlParserAnalyzer();

  it('reads statement type, tables, where and limit', () => {
    expect(a.analyze('SELECT id FROM public.users u JOIN orders o ON o.uid = u.id WHERE u.id = 5 LIMIT 10')).toMatchObject({
      statementType: 'SELECT',
      tables: ['public.users', 'orders'],
      isWrite: false,
      hasWhere: true,
      hasLimit: true,
      parsed: true,
    });
    expect(a.analyze('DELETE FROM t')).toMatchObject({ statementType: 'DELETE', isWrite: true, hasWhere: false });
    expect(a.analyze("UPDATE x SET a = 1 WHERE b = 'y'")).toMatchObject({ statementType: 'UPDATE', isWrite: true, hasWhere: true });
  });

  it('falls back to the first keyword when it cannot parse', () => {
    expect(a.analyze('VACUUM FULL big_table')).toMatchObject({ statementType: 'VACUUM', isWrite: true, parsed: false, riskTags: ['unparsed'] });
    // `at` is a keyword to node-sql-parser; the tables are still guessed.
    expect(a.analyze('SELECT at FROM s.items JOIN "Other" o ON true')).toMatchObject({ statementType: 'SELECT', tables: ['s.items', 'Other'], parsed: false });
    expect(a.analyze('/* hi */ ( select 1')).toMatchObject({ statementType: 'SELECT', isWrite: false, parsed: false });
  });

  it('tags several statements', () => {
    expect(a.analyze('select 1; select 2').riskTags).toContain('multi_statement');
  });
});

describe('fingerprintOf', () => {
  it('strips literals, comments and case, and collapses lists', () => {
    expect(fingerprintOf("SELECT * FROM t WHERE a = 'it''s' AND b IN (1, 2, 3) -- note\n AND c = $$x$$ AND d = -4.5e3")).toBe(
      'select * from t where a = ? and b in (?) and c = ? and d = ?',
    );
    expect(fingerprintOf('select "MixedCase", col1 from t2 limit 10;')).toBe('select "MixedCase", col1 from t2 limit ?');
    expect(fingerprintOf('select * from t where id = $1')).toBe('select * from t where id = $1');
  });

  it('firstKeyword skips comments and parentheses', () => {
    expect(firstKeyword('-- c\n/* d */ (( WITH x')).toBe('WITH');
  });
});
