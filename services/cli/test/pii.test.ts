import { describe, it, expect } from 'vitest';
import { createRng } from '../src/demo/prng.js';
import { cardNumber, iban, ssn, phone, email, personName, IBAN_LENGTHS, luhnCheckDigit, mod97 } from '../src/demo/pii.js';

// Independent checkers, written differently from the generators on purpose: Luhn by
// validating the whole number, IBAN by the ISO 13616 rearrangement with BigInt.
function luhnValid(n: string): boolean {
  let sum = 0;
  const digits = [...n].reverse().map(Number);
  digits.forEach((d, i) => {
    if (i % 2 === 1) sum += d * 2 > 9 ? d * 2 - 9 : d * 2;
    else sum += d;
  });
  return sum % 10 === 0;
}

function ibanValid(s: string): boolean {
  const rearranged = s.slice(4) + s.slice(0, 4);
  const numeric = [...rearranged].map((c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c)).join('');
  return BigInt(numeric) % 97n === 1n;
}

describe('independent checkers', () => {
  it('accept known-good and reject known-bad values', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
});

describe('luhnCheckDigit and mod97', () => {
  it('match published examples', () => {
    expect(luhnCheckDigit('411111111111111')).toBe(1);
    expect(luhnCheckDigit('7992739871')).toBe(3);
    expect(mod97('WEST12345698765432GB82')).toBe(1);
  });
});

describe('cardNumber', () => {
  const rng = createRng(7);
  const cards = Array.from({ length: 500 }, () => cardNumber(rng));
  it('is Luhn-valid', () => {
    for (const c of cards) expect(luhnValid(c), c).toBe(true);
  });
  it('uses real IIN prefixes with the brand length', () => {
    for (const c of cards) {
      if (c.startsWith('4')) expect(c).toHaveLength(16);
      else if (/^5[1-5]/.test(c)) expect(c).toHaveLength(16);
      else if (/^3[47]/.test(c)) expect(c).toHaveLength(15);
      else throw new Error(`unexpected prefix ${c}`);
    }
    expect(new Set(cards.map((c) => c[0])).size).toBe(3);
  });
  it('honours an explicit brand', () => {
    expect(cardNumber(createRng(1), 'amex')).toMatch(/^3[47]\d{13}$/);
  });
});

describe('iban', () => {
  const rng = createRng(11);
  const ibans = Array.from({ length: 400 }, () => iban(rng));
  it('is mod-97 valid with the right length per country', () => {
    for (const i of ibans) {
      expect(ibanValid(i), i).toBe(true);
      const country = i.slice(0, 2) as keyof typeof IBAN_LENGTHS;
      expect(IBAN_LENGTHS[country], i).toBe(i.length);
    }
    expect(new Set(ibans.map((i) => i.slice(0, 2)))).toEqual(new Set(['DE', 'FR', 'GB', 'NL']));
  });
  it('has the national shapes', () => {
    expect(iban(createRng(3), 'GB')).toMatch(/^GB\d{2}[A-Z]{4}\d{14}$/);
    expect(iban(createRng(3), 'NL')).toMatch(/^NL\d{2}[A-Z]{4}\d{10}$/);
    expect(iban(createRng(3), 'DE')).toMatch(/^DE\d{20}$/);
    expect(iban(createRng(3), 'FR')).toMatch(/^FR\d{25}$/);
  });
});

describe('ssn, phone, email, name', () => {
  const rng = createRng(5);
  it('ssn never uses area 000, 666 or 9xx, group 00 or serial 0000', () => {
    for (let i = 0; i < 2000; i++) {
      const s = ssn(rng);
      expect(s).toMatch(/^\d{3}-\d{2}-\d{4}$/);
      const [area, group, serial] = s.split('-');
      expect(['000', '666']).not.toContain(area);
      expect(area?.startsWith('9')).toBe(false);
      expect(group).not.toBe('00');
      expect(serial).not.toBe('0000');
    }
  });
  it('phones are E.164 in fictional ranges', () => {
    for (let i = 0; i < 200; i++) expect(phone(rng)).toMatch(/^\+(1[2-9]\d{2}55501\d{2}|447700900\d{3})$/);
  });
  it('emails are at example domains', () => {
    const name = personName(rng);
    expect(email(name, 42, rng)).toMatch(/^[a-z.]+\.42@example\.(com|org|net)$/);
  });
});

describe('createRng', () => {
  it('is deterministic per seed', () => {
    const a = createRng(99);
    const b = createRng(99);
    const c = createRng(100);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
  });
});
