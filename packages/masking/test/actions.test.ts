import { Secret } from '@portcullis/common';
import { describe, expect, it } from 'vitest';
import { applyAction, partial, redact, tokenize } from '../src/index.js';
import { groupCard, Rng, validCard } from './fixtures/generate.js';

const key = new Secret('k'.repeat(32), 'test');
const otherKey = new Secret('q'.repeat(32), 'test');

describe('redact', () => {
  it('names the detector, or uses the fixed token', () => {
    expect(redact('card')).toBe('[REDACTED:card]');
    expect(redact('card', '***')).toBe('***');
  });
});

describe('partial', () => {
  const rng = new Rng(41);
  it('keeps the last four digits and every separator', () => {
    for (let i = 0; i < 100; i++) {
      const card = validCard(rng);
      const sep = rng.pick([' ', '-', '.']);
      const written = groupCard(card, sep);
      const out = partial(written);
      expect(out.length).toBe(written.length);
      for (let k = 0; k < written.length; k++) if (!/[0-9]/.test(written[k]!)) expect(out[k]).toBe(written[k]);
      expect(out.replace(/[^0-9]/g, '')).toBe(card.slice(-4));
      expect(out.replace(/[^*]/g, '').length).toBe(card.length - 4);
    }
  });

  it('masks a value entirely when its tail would be most of it', () => {
    expect(partial('12345')).toBe('*****');
    expect(partial('123-45-6789')).toBe('***-**-6789');
  });

  it('honours another keep count', () => {
    expect(partial('DE89370400440532013000', 2)).toBe('********************00');
  });
});

describe('token', () => {
  const rng = new Rng(43);
  it('is deterministic under one key, so masked values still join', () => {
    for (let i = 0; i < 50; i++) {
      const card = validCard(rng);
      const a = tokenize(key, 'card', card);
      expect(a).toMatch(/^tok_card_[a-z2-7]{12}$/);
      expect(tokenize(key, 'card', card)).toBe(a);
      // The same card written with separators is the same value.
      expect(tokenize(key, 'card', groupCard(card, '-'))).toBe(a);
    }
  });

  it('differs across keys, values and labels', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(tokenize(key, 'card', validCard(rng)));
    expect(seen.size).toBe(500);
    const card = validCard(rng);
    expect(tokenize(otherKey, 'card', card)).not.toBe(tokenize(key, 'card', card));
    expect(tokenize(key, 'ssn', '123456789').slice(-12)).not.toBe(tokenize(key, 'phone', '123456789').slice(-12));
  });

  it('normalises emails case-insensitively', () => {
    expect(tokenize(key, 'email', 'Ann@Example.COM')).toBe(tokenize(key, 'email', 'ann@example.com'));
  });

  it('never contains the value', () => {
    const card = validCard(rng);
    expect(applyAction({ kind: 'token' }, 'card', card, key)).not.toContain(card.slice(-4));
  });
});

describe('token MAC', () => {
  it('is HMAC-SHA256 per RFC 2104, for short and long (pre-hashed) keys', async () => {
    const { createHmac } = await import('node:crypto');
    for (const raw of ['k', 'x'.repeat(64), 'long key '.repeat(20)]) {
      const k = new Secret(raw, 'test');
      const mac = createHmac('sha256', raw).update('email').update('\u0000').update('a@b.io').digest();
      const expected = `tok_email_${base32Ref(mac).slice(0, 12)}`;
      expect(tokenize(k, 'email', 'A@B.io')).toBe(expected);
    }
  });
});

/** Independent RFC 4648 base32 (lower case) for cross-checking. */
function base32Ref(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}
