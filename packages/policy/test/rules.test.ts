import { describe, expect, it } from 'vitest';
import { isPcxError } from '@portcullis/common';
import { analyzeSql, defaultRules, evaluateGuardrails, loadRules } from '../src/index.js';

describe('guardrail rules as data', () => {
  it('loads rules from YAML and matches on facts with globs', () => {
    const rules = loadRules(`
rules:
  - id: no-pii-reads
    severity: medium
    message: Read the masked view instead.
    match: { kinds: [select], tables: ["pii.*"] }
  - id: no-crypto
    severity: low
    message: no hashing here
    connections: ["prod-*"]
    match: { functions: ["pg_catalog.digest", "digest"] }
`);
    const a = analyzeSql('SELECT * FROM pii.people WHERE id = 1', 'postgres');
    expect(evaluateGuardrails(a, rules)).toMatchObject({ action: 'deny', code: 'PCX_GUARDRAIL_DENIED', ruleId: 'no-pii-reads', severity: 'medium', message: 'Read the masked view instead.' });
    expect(evaluateGuardrails(analyzeSql('SELECT * FROM people', 'postgres'), rules)).toEqual({ action: 'allow' });
    const d = analyzeSql("SELECT digest('x', 'sha1')", 'postgres');
    expect(evaluateGuardrails(d, rules, { connection: 'prod-eu' })).toMatchObject({ ruleId: 'no-crypto' });
    expect(evaluateGuardrails(d, rules, { connection: 'dev' })).toEqual({ action: 'allow' });
  });

  it('returns the most severe denying rule, the first among equals, with the statement that tripped it', () => {
    const rules = loadRules([
      { id: 'low-any-write', severity: 'low', message: 'low', match: { isWrite: true } },
      { id: 'high-delete', severity: 'high', message: 'high', match: { kinds: ['delete'] } },
      { id: 'high-delete-2', severity: 'high', message: 'high 2', match: { kinds: ['delete'] } },
    ]);
    const v = evaluateGuardrails(analyzeSql('DELETE FROM app.t WHERE id = 1', 'postgres'), rules);
    expect(v).toMatchObject({ ruleId: 'high-delete', detail: 'delete (DeleteStmt) on app.t' });
  });

  it('judges nested statements: a rule on DELETE catches one inside EXPLAIN ANALYZE or a CTE', () => {
    const rules = loadRules([{ id: 'no-delete-orders', severity: 'high', message: 'm', match: { kinds: ['delete'], tablesWritten: ['orders'] } }]);
    for (const sql of ['EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1', 'WITH d AS (DELETE FROM public.orders WHERE id = 1 RETURNING *) SELECT * FROM d']) {
      expect(evaluateGuardrails(analyzeSql(sql, 'postgres'), rules), sql).toMatchObject({ ruleId: 'no-delete-orders' });
    }
  });

  it('matches protected objects per connection, with globs and across schema qualification', () => {
    const rules = defaultRules();
    const alter = analyzeSql('ALTER TABLE public.accounts ADD COLUMN x int', 'postgres');
    expect(evaluateGuardrails(alter, rules, { protectedObjects: ['accounts'] })).toMatchObject({ ruleId: 'deny-ddl-protected-object' });
    expect(evaluateGuardrails(alter, rules, { protectedObjects: ['public.*'] })).toMatchObject({ ruleId: 'deny-ddl-protected-object' });
    expect(evaluateGuardrails(alter, rules, { protectedObjects: ['other.*'] })).toEqual({ action: 'allow' });
    expect(evaluateGuardrails(alter, rules, {})).toEqual({ action: 'allow' });
  });

  it('scopes rules to a dialect', () => {
    const rules = loadRules([{ id: 'mysql-only', severity: 'low', message: 'm', match: { dialects: ['mysql'], kinds: ['select'] } }]);
    expect(evaluateGuardrails(analyzeSql('SELECT 1', 'postgres'), rules)).toEqual({ action: 'allow' });
    expect(evaluateGuardrails(analyzeSql('SELECT 1', 'mysql'), rules)).toMatchObject({ ruleId: 'mysql-only' });
  });

  it('refuses invalid rules with an error that names the key', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[{ id: 'x', severity: 'urgent', message: 'm', match: { kinds: ['delete'] } }], /at 0\.severity/],
      [[{ id: 'x', severity: 'low', message: 'm', match: { kindz: ['delete'] } }], /at 0\.match/],
      [[{ id: 'x', severity: 'low', message: 'm', match: {} }], /at 0\.match/],
      [[{ id: 'x', severity: 'low', message: 'm', match: { isWrite: true } }, { id: 'x', severity: 'low', message: 'm', match: { isWrite: true } }], /duplicate rule id x/],
      ['rules: [ { id: : }', /not valid YAML/],
    ];
    for (const [input, message] of bad) {
      let caught: unknown;
      try {
        loadRules(input);
      } catch (e) {
        caught = e;
      }
      expect(isPcxError(caught) && caught.code).toBe('PCX_CONFIG_INVALID');
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('ships a default pack that passes its own schema and has unique ids', () => {
    const rules = defaultRules();
    expect(rules.length).toBeGreaterThan(15);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    expect(loadRules(JSON.parse(JSON.stringify(rules)))).toEqual(rules);
  });
});
