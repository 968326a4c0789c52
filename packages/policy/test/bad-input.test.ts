import { describe, expect, it } from 'vitest';
import { analyzeSql, createAnalysisCache, DEFAULT_MAX_STATEMENT_BYTES, defaultRules, evaluateGuardrails } from '../src/index.js';

const dialects = ['postgres', 'mysql'] as const;

function errorOf(input: string | Uint8Array, dialect: 'postgres' | 'mysql', maxStatementBytes?: number): { code: string; message: string; position?: number } {
  const a = analyzeSql(input, dialect, maxStatementBytes === undefined ? {} : { maxStatementBytes });
  if (a.ok) throw new Error('expected an error');
  return a.error;
}

describe('bad input', () => {
  it.each(dialects)('refuses a multi-megabyte statement by size before parsing (%s)', (dialect) => {
    const big = `SELECT ${'1,'.repeat(2_000_000)}1`;
    const e = errorOf(big, dialect);
    expect(e.code).toBe('PCX_PAYLOAD_TOO_LARGE');
    expect(e.message).toContain(String(DEFAULT_MAX_STATEMENT_BYTES));
    const v = evaluateGuardrails(analyzeSql(big, dialect), defaultRules(), { onUnparseable: 'allow' });
    expect(v).toMatchObject({ action: 'deny', code: 'PCX_PAYLOAD_TOO_LARGE' });
  });

  it('counts bytes, not characters, against the cap', () => {
    const text = `SELECT '${'é'.repeat(600)}'`;
    expect(text.length).toBeLessThan(1000);
    expect(errorOf(text, 'postgres', 1000).code).toBe('PCX_PAYLOAD_TOO_LARGE');
    expect(analyzeSql(text, 'postgres', { maxStatementBytes: 2000 }).ok).toBe(true);
    expect(errorOf(new Uint8Array(1001).fill(0x20), 'postgres', 1000).code).toBe('PCX_PAYLOAD_TOO_LARGE');
  });

  it('parses a statement just under the cap', () => {
    const text = `INSERT INTO t VALUES ${Array.from({ length: 5000 }, (_, i) => `(${i}, 'name ${i}')`).join(', ')}`;
    expect(text.length).toBeLessThan(DEFAULT_MAX_STATEMENT_BYTES);
    expect(analyzeSql(text, 'postgres').ok).toBe(true);
  });

  it.each(dialects)('answers 10k nested parentheses with a clear error, not a crash (%s)', (dialect) => {
    const e = errorOf(`SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)}`, dialect);
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.message).toMatch(/nested too deeply/);
  });

  it('answers a 60k-term expression with a clear error and keeps parsing afterwards', () => {
    const e = errorOf(`SELECT ${'a+'.repeat(60_000)}a`, 'postgres');
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.message).toMatch(/nested too deeply/);
    expect(analyzeSql('SELECT 1', 'postgres').ok).toBe(true);
  });

  it('analyses 5k chained ORs without overflowing, and still sees the always-true term', () => {
    const ors = Array.from({ length: 5000 }, (_, i) => `id = ${i}`).join(' OR ');
    const a = analyzeSql(`DELETE FROM t WHERE ${ors} OR 1 = 1`, 'postgres');
    expect(a.ok && a.statements[0]?.whereAlwaysTrue).toBe(true);
    const b = analyzeSql(`DELETE FROM t WHERE ${ors}`, 'postgres');
    expect(b.ok && b.statements[0]?.whereAlwaysTrue).toBe(false);
  });

  it('evaluates a predicate thousands of NOTs deep without recursion', () => {
    const a = analyzeSql(`DELETE FROM t WHERE ${'NOT ('.repeat(3000)}false${')'.repeat(3000)}`, 'postgres');
    if (a.ok) expect(a.statements[0]?.whereAlwaysTrue).toBe(false);
    else expect(a.error.message).toMatch(/nested too deeply/);
    const b = analyzeSql(`DELETE FROM t WHERE ${'NOT ('.repeat(2001)}false${')'.repeat(2001)}`, 'postgres');
    if (b.ok) expect(b.statements[0]?.whereAlwaysTrue).toBe(true);
    else expect(b.error.message).toMatch(/nested too deeply/);
  });

  it.each(dialects)('refuses invalid UTF-8 bytes with the offset (%s)', (dialect) => {
    const bytes = new Uint8Array([...Buffer.from("SELECT 'é' "), 0xc3, 0x28]);
    const e = errorOf(bytes, dialect);
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.message).toMatch(/not valid UTF-8 \(at byte 12\)/);
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      expect(errorOf(new Uint8Array([0x20, ...bad]), dialect).position).toBe(1);
    }
    expect(analyzeSql(new Uint8Array(Buffer.from('SELECT 1')), dialect).ok).toBe(true);
  });

  it.each(dialects)('refuses an unpaired surrogate in a string (%s)', (dialect) => {
    const e = errorOf("SELECT '\ud800'", dialect);
    expect(e.message).toMatch(/unpaired surrogate at character 8/);
  });

  it.each(dialects)('refuses NUL bytes, which would cut the text short for the C parser (%s)', (dialect) => {
    const e = errorOf('SELECT 1\u0000; DROP TABLE users', dialect);
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.position).toBe(8);
    expect(e.message).toMatch(/NUL/);
  });

  it.each(dialects)('refuses an empty statement (%s)', (dialect) => {
    for (const t of ['', '   ', ';']) expect(errorOf(t, dialect).code).toBe('PCX_SQL_UNPARSEABLE');
    expect(errorOf('  \n ', dialect).message).toMatch(/empty statement/);
  });

  it('gives the position of a syntax error', () => {
    const e = errorOf('SELECT * FROM t WHERE', 'postgres');
    expect(e.message).toMatch(/syntax error at end of input/);
    expect(e.position).toBe(21);
  });

  it('denies what does not parse unless the connection allows it', () => {
    const bad = analyzeSql('SELEC 1', 'postgres');
    expect(evaluateGuardrails(bad, defaultRules(), {})).toMatchObject({ action: 'deny', code: 'PCX_SQL_UNPARSEABLE', ruleId: 'unparseable' });
    expect(evaluateGuardrails(bad, defaultRules(), { onUnparseable: 'allow' })).toEqual({ action: 'allow' });
  });

  it('gives the cached analyzer the same answers for bad input, and does not cache huge texts', () => {
    const cache = createAnalysisCache({ maxStatementBytes: 100 });
    const big = `SELECT '${'x'.repeat(200)}'`;
    for (let i = 0; i < 2; i++) expect(cache.analyze(big, 'postgres')).toMatchObject({ ok: false, error: { code: 'PCX_PAYLOAD_TOO_LARGE' } });
    expect(cache.analyze('SELECT 1\u0000', 'postgres')).toMatchObject({ ok: false, error: { code: 'PCX_SQL_UNPARSEABLE' } });
    expect(cache.stats().shapes).toBe(0);
  });
});
