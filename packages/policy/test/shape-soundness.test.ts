import { describe, expect, it } from 'vitest';
import { analyzeSql, createAnalysisCache, defaultRules, evaluateGuardrails, type Analysis } from '../src/index.js';

/**
 * The shape cache's safety property: after any statement of a shape has been analysed,
 * any other statement of the same shape (different literals) gets the verdict it would
 * get on its own. Checked over predicate templates filled with literals that flip truth.
 */
const LITERALS = ['1', '0', 'NULL', 'true', 'false', "'a'", "'b'", "'1'", "'t'", '2'];
const TEMPLATES = [
  'DELETE FROM t WHERE {L} = {L}',
  'DELETE FROM t WHERE {L}',
  'DELETE FROM t WHERE NOT ({L} AND id = 1)',
  'DELETE FROM t WHERE id = 1 OR {L}',
  'DELETE FROM t WHERE {L} IS NOT NULL',
  'DELETE FROM t WHERE {L} IN ({L}, {L})',
  'DELETE FROM t WHERE {L} BETWEEN {L} AND {L}',
  'DELETE FROM t WHERE CASE WHEN {L} THEN {L} ELSE id = 2 END',
  'DELETE FROM t WHERE coalesce({L}, id = 3)',
  'DELETE FROM t WHERE id = id AND {L}',
  'DELETE FROM t WHERE ({L} = {L}) IS TRUE',
  "DELETE FROM t WHERE {L} LIKE {L}",
  'DELETE FROM t WHERE id + {L} = id + {L}',
  'UPDATE t SET a = {L} WHERE NOT (id <> {L} OR {L} > {L})',
  'DELETE FROM t WHERE length({L}) = {L}',
  'DELETE FROM t WHERE id = {L} OR lower({L}) = {L}',
];

function fillings(template: string, count: number, seed: number): string[] {
  const slots = template.split('{L}').length - 1;
  const out = new Set<string>();
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s;
  };
  for (let tries = 0; out.size < count && tries < count * 20; tries++) {
    let t = template;
    for (let i = 0; i < slots; i++) t = t.replace('{L}', LITERALS[next() % LITERALS.length] as string);
    out.add(t);
  }
  return [...out];
}

const verdict = (a: Analysis): string => {
  const v = evaluateGuardrails(a, defaultRules(), {});
  return v.action === 'allow' ? 'allow' : v.ruleId;
};

describe('shape cache soundness', () => {
  for (const dialect of ['postgres', 'mysql'] as const) {
    it.each(TEMPLATES)(`${dialect}: %s`, (template) => {
      const texts = fillings(template, 10, template.length * 7919);
      const alone = new Map(texts.map((t) => [t, verdict(analyzeSql(t, dialect))]));
      expect(new Set(alone.values()).size).toBeGreaterThan(0);
      for (const first of texts) {
        const cache = createAnalysisCache();
        cache.analyze(first, dialect);
        for (const second of texts) expect(`${first} then ${second}: ${verdict(cache.analyze(second, dialect))}`).toBe(`${first} then ${second}: ${alone.get(second)}`);
      }
    });
  }

  it('finds literal-dependent verdicts in the corpus, so the property is not checked on a constant', () => {
    const verdicts = new Set(fillings('DELETE FROM t WHERE {L} = {L}', 10, 1).map((t) => verdict(analyzeSql(t, 'postgres'))));
    expect(verdicts).toEqual(new Set(['allow', 'deny-where-always-true']));
  });
});
