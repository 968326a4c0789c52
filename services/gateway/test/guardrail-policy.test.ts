import { describe, it, expect } from 'vitest';
import { connectionSchema, PcxError } from '@portcullis/common';
import { PolicyAnalyzer } from '../src/analysis/policy-analyzer.js';
import { readOnlyRefusal } from '../src/grants/grants.js';
import { guardrailPolicy } from '../src/policy/guardrail-policy.js';
import type { PolicyContext } from '../src/policy/policy.js';

const conn = (extra: Record<string, unknown> = {}) => connectionSchema.parse({ name: 'db', kind: 'postgres', url: '${env:X}', ...extra });
const analyzer = new PolicyAnalyzer();
const ctx = (command: string, connection = 'db'): PolicyContext =>
  ({ requestId: 'r', sessionId: 's', identity: { subject: 'a', kind: 'agent', groups: [], credentialId: 'c', issuer: 'i' }, origin: {} as PolicyContext['origin'], connection: { name: connection, kind: 'postgres' }, access: 'write', command, facts: analyzer.analyze(command) }) as PolicyContext;

describe('guardrail policy', () => {
  it('denies by the default pack with the rule id in verdict and message; allows the rest', () => {
    const p = guardrailPolicy([conn()]);
    expect(p.evaluate(ctx('drop table users'))).toMatchObject({ action: 'deny', code: 'PCX_GUARDRAIL_DENIED', rule: 'deny-drop', message: expect.stringMatching(/^guardrail deny-drop: /) as string });
    expect(p.evaluate(ctx('select * from users where id = 1'))).toEqual({ action: 'allow' });
    expect(p.evaluate(ctx('selec 1'))).toMatchObject({ action: 'deny', code: 'PCX_SQL_UNPARSEABLE', rule: 'unparseable' });
  });

  it('a seen shape is judged once: the same verdict object for other literals', () => {
    const p = guardrailPolicy([conn()]);
    expect(p.evaluate(ctx('delete from t where id = 1'))).toBe(p.evaluate(ctx('delete from t where id = 2')));
  });

  it('per-connection rules, disabled defaults and onUnparseable', () => {
    const p = guardrailPolicy([conn({ guardrails: { onUnparseable: 'allow', disableDefaults: ['deny-drop'], rules: [{ id: 'no-select-star', severity: 'low', message: 'name columns', match: { kinds: ['select'], tables: ['wide'] } }] } })]);
    expect(p.evaluate(ctx('drop table users'))).toEqual({ action: 'allow' });
    expect(p.evaluate(ctx('selec 1'))).toEqual({ action: 'allow' });
    expect(p.evaluate(ctx('select * from wide'))).toMatchObject({ action: 'deny', rule: 'no-select-star' });
    // Unknown connections are not this policy's to judge.
    expect(p.evaluate(ctx('drop table users', 'other'))).toEqual({ action: 'allow' });
  });

  it('config mistakes fail at construction and name the key', () => {
    const bad = (g: Record<string, unknown>) => () => guardrailPolicy([conn(), conn({ name: 'b', guardrails: g })]);
    expect(bad({ disableDefaults: ['deny-nothing'] })).toThrow(/^gateway\.connections\.1\.guardrails\.disableDefaults: no default rule deny-nothing/);
    expect(bad({ rules: [{ id: 'deny-drop', severity: 'high', message: 'm', match: { kinds: ['select'] } }] })).toThrow(/rule id deny-drop is a default rule's/);
    expect(bad({ rules: [{ id: 'x', severity: 'urgent', message: 'm', match: { kinds: ['select'] } }] })).toThrow(PcxError);
  });
});

describe('read grants', () => {
  it('refuse writes (CTEs and multi-statement included) and statements that could not be analysed, not oversize ones', () => {
    expect(readOnlyRefusal('db', analyzer.analyze('select 1'))).toBeUndefined();
    expect(readOnlyRefusal('db', analyzer.analyze('with d as (delete from t where id = 1 returning *) select * from d'))).toMatch(/read-only and this is a SELECT/);
    expect(readOnlyRefusal('db', analyzer.analyze('select 1; update t set a = 1 where id = 2'))).toMatch(/read-only and this is a MULTI/);
    expect(readOnlyRefusal('db', analyzer.analyze('selec 1'))).toMatch(/could not be analysed/);
    expect(readOnlyRefusal('db', analyzer.analyze(`select '${'x'.repeat(200_000)}'`))).toBeUndefined();
  });
});
