import { describe, expect, it } from 'vitest';
import { auditText, capUtf8 } from '../src/events/audit-text.js';

const plain = { fingerprint: 'SELECT ? FROM t', riskTags: [] as string[] };

describe('auditText: the command as events keep it', () => {
  it('redacts PII and credentials the masking detectors recognise, wherever they sit in the text', () => {
    const card = '4111 1111 1111 1111';
    const iban = 'DE89370400440532013000';
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const command = `INSERT INTO payments (card, iban, owner) VALUES ('${card}', '${iban}', 'ann@example.com') -- token ${jwt}`;
    const out = auditText(command, plain, 64 << 10);
    for (const secret of [card, iban, 'ann@example.com', jwt]) expect(out).not.toContain(secret);
    expect(out).toContain('INSERT INTO payments (card, iban, owner) VALUES (');
    expect(out).toMatch(/\[REDACTED:card\]/);
  });

  it('keeps only the fingerprint of a statement that sets a password', () => {
    const out = auditText(`ALTER ROLE app PASSWORD 'correct horse battery staple'`, { fingerprint: 'ALTER ROLE app PASSWORD ?', riskTags: ['role_change', 'password_change'] }, 64 << 10);
    expect(out).toBe('ALTER ROLE app PASSWORD ?');
  });

  it('leaves an ordinary command as it was', () => {
    const command = "SELECT id, name FROM customers WHERE region = 'emea' LIMIT 10";
    expect(auditText(command, plain, 64 << 10)).toBe(command);
  });

  it('caps a huge command and says how much was cut', () => {
    const command = `SELECT '${'x'.repeat(5 << 20)}'`;
    const out = auditText(command, plain, 16 << 10);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(16 << 10);
    expect(out.startsWith("SELECT 'xxx")).toBe(true);
    expect(out).toMatch(/…\[\d+ more bytes\]$/);
    const cut = Number(/\[(\d+) more bytes\]$/.exec(out)?.[1]);
    expect(Buffer.byteLength(out.slice(0, out.lastIndexOf('…'))) + cut).toBe(Buffer.byteLength(command));
  });
});

describe('capUtf8', () => {
  it('never splits a character', () => {
    const text = '€'.repeat(1000); // 3 bytes each
    for (const max of [100, 101, 102, 103]) {
      const out = capUtf8(text, max);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
      expect(out).not.toContain('\uFFFD');
      expect(out.replace(/…\[\d+ more bytes\]$/, '')).toMatch(/^€+$/);
    }
  });

  it('returns text that fits unchanged', () => {
    expect(capUtf8('héllo', 6)).toBe('héllo');
    // Too small for the marker: the bare cut, still within the cap and whole characters.
    expect(capUtf8('héllo', 5)).toBe('héll');
    expect(capUtf8('héllo', 2)).toBe('h');
  });
});
