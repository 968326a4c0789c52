import { PcxError } from '@portcullis/common';
import { describe, expect, it } from 'vitest';
import { compileColumnRules, parseMaskingRules, ruleForColumn, type Lineage } from '../src/index.js';

describe('parseMaskingRules', () => {
  it('accepts shorthands and fills defaults', () => {
    const r = parseMaskingRules({ columns: [{ column: '*ssn*', label: 'ssn', action: 'partial' }], detectors: { phone: 'off', email: 'token' } });
    expect(r.columns[0]!.action).toEqual({ kind: 'partial', keep: 4 });
    expect(r.detectors.phone).toBe('off');
    expect(r.detectors.email).toEqual({ kind: 'token' });
    expect(r.defaultAction).toEqual({ kind: 'redact' });
    expect(r.lineage).toBe(true);
    expect(parseMaskingRules(undefined).columns).toEqual([]);
  });

  it.each([
    [{ columns: [{ column: 'a', regex: 'b' }] }, 'columns.0'],
    [{ columns: [{}] }, 'columns.0'],
    [{ columns: [{ regex: '(' }] }, 'columns.0.regex'],
    [{ columns: [{ column: 'x', action: 'shred' }] }, 'columns.0.action'],
    [{ columns: [{ column: 'x', labl: 'y' }] }, 'columns.0'],
    [{ detectors: { fingerprint: 'redact' } }, 'detectors'],
    [{ defaultAction: { kind: 'partial', keep: 0 } }, 'defaultAction.keep'],
    [{ columns: [{ column: 'x', label: 'Has Space' }] }, 'columns.0.label'],
  ])('rejects %j naming %s', (raw, path) => {
    try {
      parseMaskingRules(raw, 'connections.demo.masking');
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(PcxError);
      expect((e as PcxError).code).toBe('PCX_CONFIG_INVALID');
      expect((e as PcxError).message).toContain(`connections.demo.masking.${path}`);
    }
  });
});

describe('column rules', () => {
  const rules = compileColumnRules(
    parseMaskingRules({
      columns: [
        { column: '*ssn*', label: 'ssn' },
        { column: 'card_number', label: 'card' },
        { column: 'billing.email', label: 'email' },
        { regex: '^(iban|account_no)$', label: 'iban' },
      ],
    }),
  );
  const hit = (output: string, lineage?: Lineage) => ruleForColumn(rules, output, lineage, true);

  it('matches output names by glob (case-insensitive) and regex', () => {
    expect(hit('customer_SSN')?.rule.label).toBe('ssn');
    expect(hit('ssn')?.via).toBe('name');
    expect(hit('Card_Number')?.rule.label).toBe('card');
    expect(hit('card_numbers')).toBeUndefined();
    expect(hit('ACCOUNT_NO')?.rule.label).toBe('iban');
    expect(hit('name')).toBeUndefined();
  });

  it('masks outputs derived from a matching source column (alias, function, concatenation)', () => {
    const lineage: Lineage = {
      x: [{ table: 'customers', column: 'ssn' }],
      e: [{ table: 'billing', column: 'email' }],
      n: [{ column: 'name' }, { column: 'tax_ssn' }],
      plain: [{ column: 'name' }],
    };
    expect(hit('x', lineage)).toMatchObject({ via: 'lineage', rule: { label: 'ssn' } });
    expect(hit('e', lineage)?.rule.label).toBe('email');
    expect(hit('n', lineage)?.rule.label).toBe('ssn');
    expect(hit('plain', lineage)).toBeUndefined();
  });

  it('matches a qualified pattern only against table.column, including schema-qualified tables', () => {
    expect(hit('email')).toBeUndefined();
    expect(hit('e', { e: [{ table: 'public.billing', column: 'email' }] })?.rule.label).toBe('email');
    expect(hit('e', { e: [{ table: 'shipping', column: 'email' }] })).toBeUndefined();
  });

  it('ignores lineage when switched off', () => {
    expect(ruleForColumn(rules, 'x', { x: [{ column: 'ssn' }] }, false)).toBeUndefined();
  });

  it('matches pathological globs against long names without blowing up', () => {
    const r = compileColumnRules(parseMaskingRules({ columns: [{ column: '*a*a*a*a*a*a*a*a*b' }] }));
    expect(ruleForColumn(r, 'a'.repeat(250), undefined, true)).toBeUndefined();
  });
});
