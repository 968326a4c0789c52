import { describe, expect, it } from 'vitest';
import { createAnalysisCache, defaultRules, evaluateGuardrails, type Analysis } from '../src/index.js';

const verdict = (a: Analysis): string => {
  const v = evaluateGuardrails(a, defaultRules(), {});
  return v.action === 'allow' ? 'allow' : v.ruleId;
};

describe('analysis cache', () => {
  it('answers a repeated text from the exact map and a literal variant from the shape map', () => {
    const cache = createAnalysisCache();
    const a = cache.analyze('SELECT * FROM users WHERE id = 1', 'postgres');
    const b = cache.analyze('SELECT * FROM users WHERE id = 1', 'postgres');
    const c = cache.analyze('SELECT * FROM users WHERE id = 2', 'postgres');
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(cache.stats()).toMatchObject({ misses: 1, textHits: 1, shapeHits: 1, shapes: 1, texts: 2 });
  });

  it('does the same for mysql', () => {
    const cache = createAnalysisCache();
    cache.analyze("SELECT * FROM users WHERE name = 'a'", 'mysql');
    cache.analyze("SELECT * FROM users WHERE name = 'bob'", 'mysql');
    expect(cache.stats()).toMatchObject({ misses: 1, shapeHits: 1 });
  });

  it('never lets a literal decide a shared verdict: WHERE 1=0 cached does not clear WHERE 1=1', () => {
    for (const dialect of ['postgres', 'mysql'] as const) {
      const cache = createAnalysisCache();
      expect(verdict(cache.analyze('DELETE FROM t WHERE 1 = 0', dialect))).toBe('allow');
      expect(verdict(cache.analyze('DELETE FROM t WHERE 1 = 1', dialect))).toBe('deny-where-always-true');
      expect(verdict(cache.analyze("DELETE FROM t WHERE 'a' = 'b' OR id = 2", dialect))).toBe('allow');
      expect(verdict(cache.analyze("DELETE FROM t WHERE 'a' = 'a' OR id = 2", dialect))).toBe('deny-where-always-true');
    }
  });

  it('does not share DO bodies or set_config arguments, which the normaliser strips', () => {
    const cache = createAnalysisCache();
    expect(verdict(cache.analyze("SELECT set_config('app.tenant', '1', false)", 'postgres'))).toBe('deny-session-setting');
    expect(verdict(cache.analyze("SELECT set_config('role', 'postgres', false)", 'postgres'))).toBe('deny-role-change');
    const rules = defaultRules().filter((r) => r.id !== 'deny-code-block');
    const first = cache.analyze('DO $$ BEGIN PERFORM 1; END $$', 'postgres');
    const second = cache.analyze("DO $$ BEGIN PERFORM pg_read_file('/etc/passwd'); END $$", 'postgres');
    expect(evaluateGuardrails(first, rules)).toEqual({ action: 'allow' });
    expect(evaluateGuardrails(second, rules)).toMatchObject({ ruleId: 'deny-server-file-access' });
  });

  it('keeps shapes apart that pg_query fingerprints alike: prepared names, aliases, CTE names', () => {
    const cache = createAnalysisCache();
    const a = cache.analyze('WITH x AS (SELECT 1) SELECT * FROM x', 'postgres');
    const b = cache.analyze('WITH y AS (SELECT 1) SELECT * FROM x', 'postgres');
    expect(a.ok && a.statements[0]?.tablesRead).toEqual([]);
    expect(b.ok && b.statements[0]?.tablesRead).toEqual(['x']);
    expect(cache.stats().shapeHits).toBe(0);
    const m1 = cache.analyze('SELECT * FROM "users"', 'mysql');
    const m2 = cache.analyze('SELECT * FROM "orders"', 'mysql');
    expect(m1.ok && m1.statements[0]?.tablesRead).toEqual(['users']);
    expect(m2.ok && m2.statements[0]?.tablesRead).toEqual(['orders']);
  });

  it('bounds both maps and counts evictions', () => {
    const cache = createAnalysisCache({ maxShapes: 4, maxTexts: 6 });
    const tables = Array.from({ length: 20 }, (_, i) => `t${i}`);
    for (const t of tables) cache.analyze(`SELECT * FROM ${t}`, 'postgres');
    const s = cache.stats();
    expect(s.shapes).toBeLessThanOrEqual(4);
    expect(s.texts).toBeLessThanOrEqual(6);
    expect(s.shapes).toBeGreaterThan(0);
    // Every distinct entry is either still held or counted as evicted.
    expect(s.shapes + s.shapeEvictions).toBe(20);
    expect(s.texts + s.textEvictions).toBe(20);
    cache.analyze('SELECT * FROM t19', 'postgres');
    cache.analyze('SELECT * FROM t0', 'postgres');
    expect(cache.stats()).toMatchObject({ textHits: 1, misses: 21 });
  });

  it('keeps what is used: a hot statement survives a stream of one-off shapes', () => {
    const cache = createAnalysisCache({ maxShapes: 10, maxTexts: 10 });
    for (let i = 0; i < 100; i++) {
      cache.analyze('SELECT * FROM hot WHERE id = 1', 'postgres');
      cache.analyze(`SELECT * FROM cold${i}`, 'postgres');
    }
    expect(cache.stats().textHits).toBe(99);
  });

  it('hands out frozen analyses so no caller can change what others are given', () => {
    const cache = createAnalysisCache();
    const a = cache.analyze('SELECT * FROM t WHERE id = 1', 'postgres');
    expect(Object.isFrozen(a)).toBe(true);
    if (a.ok) expect(() => (a.statements[0]?.tablesRead as string[]).push('x')).toThrow(TypeError);
  });

  it('gives the same verdicts through the cache as without it, over a mixed corpus', () => {
    const cache = createAnalysisCache();
    const corpus = ['DELETE FROM t WHERE id = 1', 'DELETE FROM t', 'DELETE FROM t WHERE id = 2', 'DELETE FROM t WHERE true', 'DELETE FROM t WHERE false', 'SELECT 1; DROP TABLE t', 'SELECT 2; DROP TABLE t', 'DELETE FROM t WHERE $1', 'DELETE FROM t WHERE id = $1'];
    const expected = ['allow', 'deny-delete-update-without-where', 'allow', 'deny-where-always-true', 'allow', 'deny-drop', 'deny-drop', 'deny-where-always-true', 'allow'];
    for (let round = 0; round < 2; round++) expect(corpus.map((s) => verdict(cache.analyze(s, 'postgres')))).toEqual(expected);
  });
});
