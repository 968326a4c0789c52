import { codeAt, isAlnum, isDigit, isLetter } from '../chars.js';
import { ibanMod97 } from '../checksums.js';
import type { ScanContext, Span } from '../types.js';

/**
 * IBANs (ISO 13616): a country code whose registered length is known, two check digits,
 * the BBAN, and the mod-97 check. Accepted compact (`DE89370400440532013000`) or written
 * in groups with single spaces or dashes (`DE89 3704 0044 0532 0130 00`), either case.
 * Each candidate start reads at most twice its country's length, so the scan is linear.
 */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

function isIbanSep(c: number): boolean {
  return c === 32 || c === 45 || c === 0xa0;
}

/** Whether a compact, upper-case string is a valid IBAN (length table and mod-97). */
export function isValidIban(compact: string): boolean {
  const want = IBAN_LENGTHS[compact.slice(0, 2)];
  if (want === undefined || compact.length !== want || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  const check = Number(compact.slice(2, 4));
  return check >= 2 && check <= 98 && ibanMod97(compact) === 1;
}

export function detectIbans(ctx: ScanContext): Span[] {
  const { text } = ctx;
  const out: Span[] = [];
  const n = text.length;
  let i = 0;
  while (i + 4 <= n) {
    const c0 = text.charCodeAt(i);
    if (!isLetter(c0) || !isLetter(text.charCodeAt(i + 1)) || !isDigit(text.charCodeAt(i + 2)) || !isDigit(text.charCodeAt(i + 3)) || isAlnum(codeAt(text, i - 1))) {
      i++;
      continue;
    }
    const want = IBAN_LENGTHS[text.slice(i, i + 2).toUpperCase()];
    const end = want === undefined ? -1 : readIban(text, i, want);
    if (end > 0) {
      out.push({ start: i, end, detector: 'iban' });
      i = end;
    } else {
      i++;
    }
  }
  return out;
}

/** Reads `want` alphanumerics from `start` allowing single separators; returns the end or -1. */
function readIban(text: string, start: number, want: number): number {
  let compact = '';
  let j = start;
  while (j < text.length && compact.length < want) {
    const c = text.charCodeAt(j);
    if (isAlnum(c)) {
      compact += text[j];
      j++;
    } else if (isIbanSep(c) && compact.length >= 4 && isAlnum(codeAt(text, j + 1))) {
      j++;
    } else break;
  }
  if (compact.length !== want || isAlnum(codeAt(text, j))) return -1;
  return isValidIban(compact.toUpperCase()) ? j : -1;
}
