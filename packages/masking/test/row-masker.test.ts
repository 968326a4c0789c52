import { PcxError, Secret } from '@portcullis/common';
import { describe, expect, it } from 'vitest';
import { createRowMasker, parseMaskingRules, type MaskingRulesInput } from '../src/index.js';
import { groupCard, Rng, validCard, validIban, validSsn } from './fixtures/generate.js';

const key = new Secret('row-masker-test-key-0123456789', 'test');

const rules: MaskingRulesInput = {
  columns: [
    { column: '*ssn*', label: 'ssn', action: 'partial' },
    { column: 'email', label: 'email', action: 'token' },
  ],
};

describe('createRowMasker', () => {
  it('masks by column name, by lineage and by value, row by row', () => {
    const rng = new Rng(51);
    const m = createRowMasker({
      columns: ['id', 'customer_ssn', 'x', 'e', 'note', 'amount'],
      rules,
      lineage: { x: [{ table: 'c', column: 'ssn' }], e: [{ column: 'email' }] },
      key,
    });
    for (let i = 0; i < 20; i++) {
      const ssn = validSsn(rng);
      const card = groupCard(validCard(rng), ' ');
      const iban = validIban(rng, 'DE');
      const row = [i, ssn, ssn, 'Ann@Example.com', `paid with ${card}; refund to ${iban}`, 12.5];
      const out = m.maskRow(row);
      expect(out[0]).toBe(i);
      expect(out[1]).toBe(`*****${ssn.slice(-4)}`);
      expect(out[2]).toBe(out[1]);
      expect(out[3]).toMatch(/^tok_email_[a-z2-7]{12}$/);
      expect(out[4]).toBe('paid with [REDACTED:card]; refund to [REDACTED:iban]');
      expect(out[5]).toBe(12.5);
      // The input row is not modified.
      expect(row[1]).toBe(ssn);
    }
    const s = m.summary();
    expect(s).toEqual({ piiCounts: { card: 20, email: 20, iban: 20, ssn: 40 }, maskedFields: ['customer_ssn', 'x', 'e', 'note'], rows: 20, unmasked: false });
  });

  it('tokens join across rows and columns: the same email gives the same token', () => {
    const m = createRowMasker({ columns: ['email', 'note'], rules: { ...rules, detectors: { email: 'token' } }, key });
    const [a] = m.maskRow(['bob@example.org', null]);
    const [b, note] = m.maskRow(['BOB@example.org', 'cc bob@example.org']);
    expect(a).toBe(b);
    expect(note).toBe(`cc ${String(a)}`);
  });

  it('handles non-string cells: numeric and bigint cards, JSON objects and arrays, nulls', () => {
    const rng = new Rng(53);
    let card = validCard(rng);
    while (card.length !== 16) card = validCard(rng);
    const ssn = validSsn(rng);
    const m = createRowMasker({ columns: ['pan', 'doc', 'tags', 'none', 'small', 'when'], rules, key });
    const when = new Date(0);
    const out = m.maskRow([BigInt(card), { ssn, contact: { email: 'a@b.io' }, ok: 1, list: [`x ${card}`] }, ['plain', 'c@d.io'], null, 42, when]);
    expect(out[0]).toBe('[REDACTED:card]');
    // JSON keys meet the column rules too: "ssn" and "email" are masked by their rules' actions.
    expect(out[1]).toEqual({ ssn: `*****${ssn.slice(-4)}`, contact: { email: expect.stringMatching(/^tok_email_/) }, ok: 1, list: ['x [REDACTED:card]'] });
    expect(out[2]).toEqual(['plain', '[REDACTED:email]']);
    expect(out[3]).toBeNull();
    expect(out[4]).toBe(42);
    expect(out[5]).toBe(when);
    expect(m.summary().piiCounts).toEqual({ card: 2, email: 2, ssn: 1 });
  });

  it('break glass: values pass through, counts and fields are still reported, and the summary says so', () => {
    const rng = new Rng(55);
    const m = createRowMasker({ columns: ['ssn', 'note'], rules, unmask: true, key });
    const card = validCard(rng);
    const row = [validSsn(rng), `card ${card}`];
    expect(m.maskRow(row)).toEqual(row);
    expect(m.summary()).toEqual({ piiCounts: { card: 1, ssn: 1 }, maskedFields: ['ssn', 'note'], rows: 1, unmasked: true });
  });

  it('the summary never contains a value', () => {
    const rng = new Rng(57);
    const m = createRowMasker({ columns: ['ssn', 'note', 'email'], rules, key });
    const secrets: string[] = [];
    for (let i = 0; i < 50; i++) {
      const ssn = validSsn(rng);
      const card = validCard(rng);
      const email = `u${i}@example.com`;
      secrets.push(ssn, card, card.slice(-4), email);
      m.maskRow([ssn, `pay ${card}`, email]);
    }
    const json = JSON.stringify(m.summary());
    for (const s of secrets) expect(json).not.toContain(s);
  });

  it('detectors can be turned off and given their own action', () => {
    const rng = new Rng(59);
    const m = createRowMasker({ columns: ['note'], rules: { detectors: { email: 'off', card: 'partial' } } });
    const card = groupCard(validCard(rng), '-');
    const [out] = m.maskRow([`${card} a@b.io`]);
    expect(out).toBe(`${card.replace(/[0-9](?=.*(?:[0-9].*){4})/g, '*')} a@b.io`);
    expect(m.summary().piiCounts).toEqual({ card: 1 });
  });

  it('refuses a token rule without a key, and bad rules, with PCX_CONFIG_INVALID', () => {
    expect(() => createRowMasker({ columns: ['e'], rules })).toThrow(PcxError);
    expect(() => createRowMasker({ columns: ['e'], rules: { columns: [{ column: 1 }] } as unknown as MaskingRulesInput })).toThrow(/PCX_CONFIG_INVALID|columns\.0\.column/);
  });

  it('accepts rules already validated by parseMaskingRules', () => {
    const m = createRowMasker({ columns: ['ssn'], rules: parseMaskingRules({ columns: [{ column: 'ssn', label: 'ssn' }] }) });
    expect(m.maskRow(['123-45-6789'])).toEqual(['[REDACTED:ssn]']);
  });
});
