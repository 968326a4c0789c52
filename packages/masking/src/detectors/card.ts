import { luhnValid } from '../checksums.js';
import { digitsIn, type DigitRun } from '../digit-runs.js';
import type { ScanContext, Span } from '../types.js';

/**
 * Payment card numbers (PANs): 13–19 digits, possibly grouped with spaces, dashes or dots,
 * whose leading digits fall in an issuer range that issues that length, and whose Luhn
 * check digit is right. Candidates are windows of whole digit groups inside a run, so
 * `4111 1111 1111 1111 5500 0000 0000 0004` yields two cards and a 32-digit blob none.
 * A window may end inside a run (`4111 1111 1111 1111 123`: a card and its CVV), so the
 * first 16 digits of a longer grouped number are masked when they form a valid card:
 * a masked non-card costs less than a leaked card.
 */
interface IinRange {
  /** Inclusive bounds on the first `digits` digits. */
  lo: number;
  hi: number;
  digits: number;
  minLen: number;
  maxLen: number;
  lengths?: readonly number[];
}

// Public issuer identification ranges (ISO/IEC 7812 registrations as published by the
// networks). Broad on purpose: a false positive masks a number, a miss leaks a card.
const IIN_RANGES: readonly IinRange[] = [
  { lo: 4, hi: 4, digits: 1, minLen: 13, maxLen: 19, lengths: [13, 16, 19] }, // Visa
  { lo: 51, hi: 55, digits: 2, minLen: 16, maxLen: 16 }, // Mastercard
  { lo: 2221, hi: 2720, digits: 4, minLen: 16, maxLen: 16 }, // Mastercard 2-series
  { lo: 34, hi: 34, digits: 2, minLen: 15, maxLen: 15 }, // American Express
  { lo: 37, hi: 37, digits: 2, minLen: 15, maxLen: 15 },
  { lo: 6011, hi: 6011, digits: 4, minLen: 16, maxLen: 19 }, // Discover
  { lo: 644, hi: 649, digits: 3, minLen: 16, maxLen: 19 },
  { lo: 65, hi: 65, digits: 2, minLen: 16, maxLen: 19 },
  { lo: 300, hi: 305, digits: 3, minLen: 14, maxLen: 19 }, // Diners Club
  { lo: 3095, hi: 3095, digits: 4, minLen: 14, maxLen: 19 },
  { lo: 36, hi: 36, digits: 2, minLen: 14, maxLen: 19 },
  { lo: 38, hi: 39, digits: 2, minLen: 16, maxLen: 19 },
  { lo: 3528, hi: 3589, digits: 4, minLen: 16, maxLen: 19 }, // JCB
  { lo: 62, hi: 62, digits: 2, minLen: 16, maxLen: 19 }, // UnionPay
  { lo: 81, hi: 82, digits: 2, minLen: 16, maxLen: 19 }, // UnionPay 81, RuPay 82
  { lo: 60, hi: 60, digits: 2, minLen: 16, maxLen: 19 }, // RuPay, Discover 60xx
  { lo: 2200, hi: 2204, digits: 4, minLen: 16, maxLen: 19 }, // Mir
  { lo: 50, hi: 50, digits: 2, minLen: 13, maxLen: 19 }, // Maestro 50xx, Verve 506x
  { lo: 56, hi: 69, digits: 2, minLen: 13, maxLen: 19 }, // Maestro 56–69
  { lo: 353, hi: 356, digits: 3, minLen: 16, maxLen: 19 }, // RuPay co-brands
];

const MIN_LEN = 13;
const MAX_LEN = 19;

/** The first four digits at `from` as 1-, 2-, 3- and 4-digit numbers (index = digit count). */
function leadingPrefixes(digits: Uint8Array, from: number, into: number[]): void {
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    v = v * 10 + (digits[from + k - 1] ?? 0);
    into[k] = v;
  }
}

/** Bit `len` set for every card length some issuer range starting with these digits issues. */
function acceptedLengths(p: readonly number[]): number {
  let mask = 0;
  for (const r of IIN_RANGES) {
    const v = p[r.digits] as number;
    if (v < r.lo || v > r.hi) continue;
    for (let len = r.minLen; len <= r.maxLen; len++) if (!r.lengths || r.lengths.includes(len)) mask |= 1 << len;
  }
  return mask;
}

/** Whether digits[from, from+len) start with an issuer range that issues cards of that length. */
export function issuerAccepts(digits: Uint8Array, from: number, len: number): boolean {
  const p = [0, 0, 0, 0, 0];
  leadingPrefixes(digits, from, p);
  return (acceptedLengths(p) & (1 << len)) !== 0;
}

/** Whether a bare digit string is a card number (used for numeric cells and by tests). */
export function isCardNumber(digitString: string): boolean {
  if (!/^\d{13,19}$/.test(digitString)) return false;
  const d = Uint8Array.from(digitString, (c) => c.charCodeAt(0) - 48);
  return issuerAccepts(d, 0, d.length) && luhnValid(d, 0, d.length);
}

function cardsInRun(ctx: ScanContext, run: DigitRun, out: Span[]): void {
  const groups = run.groupStart.length;
  const p = [0, 0, 0, 0, 0];
  let g = 0;
  while (g < groups) {
    const from = run.groupDigit[g] as number;
    const first = run.digits[from] as number;
    // A '+' before the run makes it an international phone number, not a card.
    const leftOk = g > 0 || (!run.gluedLeft && ctx.text.charCodeAt((run.groupStart[0] as number) - 1) !== 43);
    let best = -1;
    // Every issuer range starts with 2–6 or 8; skip the window search otherwise.
    if (leftOk && ((first >= 2 && first <= 6) || first === 8)) {
      leadingPrefixes(run.digits, from, p);
      const lengths = acceptedLengths(p);
      for (let h = g; h < groups && lengths !== 0; h++) {
        const len = digitsIn(run, g, h);
        if (len > MAX_LEN) break;
        if (len < MIN_LEN) continue;
        if (h === groups - 1 && run.gluedRight) continue;
        if ((lengths & (1 << len)) !== 0 && luhnValid(run.digits, from, from + len)) best = h;
      }
    }
    if (best >= 0) {
      out.push({ start: run.groupStart[g] as number, end: run.groupEnd[best] as number, detector: 'card' });
      g = best + 1;
    } else {
      g++;
    }
  }
}

export function detectCards(ctx: ScanContext): Span[] {
  const out: Span[] = [];
  for (const run of ctx.runs()) if (run.digits.length >= MIN_LEN) cardsInRun(ctx, run, out);
  return out;
}
