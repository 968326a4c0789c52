import type { Rng } from './prng.js';

/**
 * Synthetic, format-valid PII for the demo database: values that a PII detector or a
 * masking rule must recognise (Luhn-valid cards with real IIN prefixes, mod-97-valid
 * IBANs, US-format SSNs) but that belong to no one. Pure functions of the PRNG.
 */

/** The Luhn check digit for a digit string (the digit to append). */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  // Walking from the right, the digit next to the check digit is doubled first.
  for (let i = payload.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = payload.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export type CardBrand = 'visa' | 'mastercard' | 'amex';

const CARD_SHAPES: Record<CardBrand, { prefixes: readonly string[]; length: number }> = {
  visa: { prefixes: ['4'], length: 16 },
  mastercard: { prefixes: ['51', '52', '53', '54', '55'], length: 16 },
  amex: { prefixes: ['34', '37'], length: 15 },
};

/** A Luhn-valid card number (digits only) with a real IIN prefix for its brand. */
export function cardNumber(rng: Rng, brand: CardBrand = rng.pick(['visa', 'visa', 'mastercard', 'mastercard', 'amex'] as const)): string {
  const shape = CARD_SHAPES[brand];
  const prefix = rng.pick(shape.prefixes);
  const payload = prefix + rng.digits(shape.length - prefix.length - 1);
  return payload + String(luhnCheckDigit(payload));
}

/** ISO 13616 letters-to-digits (A=10 … Z=35) and mod 97 over the long digit string, in chunks. */
export function mod97(alnum: string): number {
  let rem = 0;
  for (const ch of alnum.toUpperCase()) {
    const code = ch.charCodeAt(0);
    const part = code >= 65 && code <= 90 ? String(code - 55) : ch;
    for (const d of part) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem;
}

/** The two IBAN check digits for a country and BBAN. */
export function ibanCheckDigits(country: string, bban: string): string {
  return String(98 - mod97(bban + country + '00')).padStart(2, '0');
}

export type IbanCountry = 'DE' | 'FR' | 'GB' | 'NL';

/** Total IBAN lengths per ISO 13616 registry. */
export const IBAN_LENGTHS: Readonly<Record<IbanCountry, number>> = { DE: 22, FR: 27, GB: 22, NL: 18 };

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const letters = (rng: Rng, n: number): string => Array.from({ length: n }, () => rng.pick([...LETTERS])).join('');

/** The French RIB key, so FR BBANs are internally consistent too. */
function ribKey(bank: string, branch: string, account: string): string {
  const r = (89 * (Number(bank) % 97) + 15 * (Number(branch) % 97) + 3 * mod97(account)) % 97;
  return String(97 - r).padStart(2, '0');
}

function bban(rng: Rng, country: IbanCountry): string {
  switch (country) {
    case 'DE':
      return rng.digits(8) + rng.digits(10); // Bankleitzahl + account
    case 'FR': {
      const bank = rng.digits(5);
      const branch = rng.digits(5);
      const account = rng.digits(11);
      return bank + branch + account + ribKey(bank, branch, account);
    }
    case 'GB':
      return letters(rng, 4) + rng.digits(6) + rng.digits(8); // bank code + sort code + account
    case 'NL':
      return letters(rng, 4) + rng.digits(10);
  }
}

/** A mod-97-valid IBAN (electronic form, no spaces). */
export function iban(rng: Rng, country: IbanCountry = rng.pick(['DE', 'FR', 'GB', 'NL'] as const)): string {
  const b = bban(rng, country);
  return country + ibanCheckDigits(country, b) + b;
}

/** A US-format SSN AAA-GG-SSSS: area never 000, 666 or 9xx; group and serial never zero. */
export function ssn(rng: Rng): string {
  let area = rng.int(1, 899);
  if (area === 666) area = 665;
  const group = rng.int(1, 99);
  const serial = rng.int(1, 9999);
  return `${String(area).padStart(3, '0')}-${String(group).padStart(2, '0')}-${String(serial).padStart(4, '0')}`;
}

/**
 * An E.164 phone number from ranges set aside for fiction: NANP 555-01XX and the
 * UK's Ofcom drama range 07700 900XXX, so a demo number can never ring anyone.
 */
export function phone(rng: Rng): string {
  if (rng.next() < 0.7) {
    const area = String(rng.int(2, 9)) + rng.digits(2);
    return `+1${area}55501${rng.digits(2)}`;
  }
  return `+447700900${rng.digits(3)}`;
}

const FIRST = ['Ada', 'Bram', 'Chidi', 'Dana', 'Elif', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lena', 'Mateo', 'Nia', 'Oskar', 'Priya', 'Quinn', 'Rosa', 'Soren', 'Tariq', 'Uma', 'Viktor', 'Wren', 'Ximena', 'Yusuf', 'Zoe'] as const;
const LAST = ['Abara', 'Brandt', 'Castell', 'Dufour', 'Eklund', 'Ferreira', 'Gallo', 'Hartmann', 'Iversen', 'Jansen', 'Kowal', 'Lindqvist', 'Moreau', 'Novak', 'Okafor', 'Petrov', 'Quintero', 'Rahman', 'Sato', 'Toivonen', 'Ueda', 'Vidal', 'Weber', 'Yilmaz', 'Zeller'] as const;

/** A made-up full name from fixed lists (combinations, not people). */
export function personName(rng: Rng): string {
  return `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
}

/** An address at an RFC 2606 example domain, derived from the name and a serial. */
export function email(name: string, serial: number, rng: Rng): string {
  const local = name.toLowerCase().replace(/[^a-z]+/g, '.').replace(/^\.|\.$/g, '');
  return `${local}.${serial}@${rng.pick(['example.com', 'example.org', 'example.net'])}`;
}
