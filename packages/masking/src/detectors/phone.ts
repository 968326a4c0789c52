import { codeAt, isAlnum, isDigit } from '../chars.js';
import { standsApart, type DigitRun } from '../digit-runs.js';
import type { ScanContext, Span } from '../types.js';

/**
 * Telephone numbers, conservatively: digits alone are too common (ids, amounts, dates)
 * to call every run of ten a phone number. Three shapes are accepted:
 *
 * 1. International E.164 as written: `+` then 8–15 digits, optionally grouped with
 *    spaces, dashes, dots or a parenthesised part (`+44 (0)20 7946 0958`, `+4915112345678`).
 * 2. North American numbers with separators: `NXX-NXX-XXXX`, `NXX.NXX.XXXX`,
 *    `NXX NXX XXXX`, `(NXX) NXX-XXXX`, optionally preceded by `1`; N is 2–9 and the area
 *    code is not an N11 service code. The bare ten-digit form needs context (rule 3).
 * 3. Any run of 7–15 digits when the column or JSON key names a phone field or a keyword
 *    (`phone`, `tel`, `mobile`, `cell`, `fax`, `whatsapp`) sits in the 24 characters before.
 */
const HINT = /phone|mobile|(^|[^a-z])(tel|cell|fax|msisdn)([^a-z]|$)|whatsapp/i;
const KEYWORD = /\b(?:phone|tel|telephone|mobile|mob|cell|fax|whatsapp|call|sms|msisdn)\b/i;
const CONTEXT_WINDOW = 24;
const MAX_E164_CHARS = 28;

function keywordBefore(text: string, start: number): boolean {
  return KEYWORD.test(text.slice(Math.max(0, start - CONTEXT_WINDOW), start));
}

function isPhoneSep(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 0xa0;
}

/** `+` numbers: scan forward over digits, single separators and one `( … )` group. */
function detectE164(text: string, out: Span[]): void {
  let plus = text.indexOf('+');
  while (plus !== -1) {
    let end = plus + 1;
    if (!isAlnum(codeAt(text, plus - 1)) && isDigit(codeAt(text, end)) && codeAt(text, end) !== 48) {
      let digits = 0;
      let lastDigitEnd = end;
      let i = end;
      let parens = 0;
      let prevSep = false;
      while (i < text.length && i - plus <= MAX_E164_CHARS) {
        const c = text.charCodeAt(i);
        if (isDigit(c)) {
          digits++;
          prevSep = false;
          lastDigitEnd = i + 1;
        } else if (c === 40 && parens === 0 && digits > 0) {
          parens = 1;
        } else if (c === 41 && parens === 1) {
          parens = 2;
        } else if (isPhoneSep(c) && !prevSep) {
          prevSep = true;
        } else break;
        i++;
      }
      end = lastDigitEnd;
      if (digits >= 8 && digits <= 15 && parens !== 1 && !isAlnum(codeAt(text, end)) && !(isDigit(codeAt(text, end + 1)) && isPhoneSep(codeAt(text, end)))) {
        out.push({ start: plus, end, detector: 'phone' });
      }
    }
    plus = text.indexOf('+', Math.max(end, plus + 1));
  }
}

function groupLen(run: DigitRun, g: number): number {
  return (run.groupDigit[g + 1] as number) - (run.groupDigit[g] as number);
}

function nanpDigitsOk(d: Uint8Array, from: number): boolean {
  const a0 = d[from] as number;
  const e0 = d[from + 3] as number;
  const n11 = d[from + 1] === 1 && d[from + 2] === 1;
  return a0 >= 2 && e0 >= 2 && !n11;
}

function phonesInRun(ctx: ScanContext, run: DigitRun, contextual: boolean, out: Span[]): void {
  const { text } = ctx;
  const groups = run.groupStart.length;
  // Rule 3 first: a whole run in phone context, whatever its grouping.
  const runStart = run.groupStart[0] as number;
  const total = run.digits.length;
  if (total >= 7 && total <= 15 && !run.gluedLeft && !run.gluedRight && (contextual || keywordBefore(text, runStart))) {
    // Overlaps with the `+…` and `(NXX)` scanners are resolved when spans are merged.
    out.push({ start: runStart, end: run.groupEnd[groups - 1] as number, detector: 'phone' });
    return;
  }
  let afterMatch = false;
  let g = 0;
  while (g < groups) {
    let h = g;
    let ok = false;
    let inner = '';
    if (groupLen(run, g) === 1 && run.digits[run.groupDigit[g] as number] === 1 && g + 3 < groups) h = g + 1; // leading country code 1
    if (h + 2 < groups && groupLen(run, h) === 3 && groupLen(run, h + 1) === 3 && groupLen(run, h + 2) === 4) {
      const s1 = run.sepBefore[h + 1] as string;
      const s2 = run.sepBefore[h + 2] as string;
      inner = s2;
      ok = s1 === s2 && (s1 === '-' || s1 === '.' || s1 === ' ') && nanpDigitsOk(run.digits, run.groupDigit[h] as number) && standsApart(run, g, h + 2, inner, afterMatch);
    }
    if (ok) {
      out.push({ start: run.groupStart[g] as number, end: run.groupEnd[h + 2] as number, detector: 'phone' });
      g = h + 3;
      afterMatch = true;
    } else {
      g++;
      afterMatch = false;
    }
  }
}

// `(NXX) NXX-XXXX`, optionally `1 ` before; every quantifier is bounded and nothing nests.
const PAREN_NANP = /(?<![A-Za-z0-9+])(?:1[ .-]?)?\(([2-9]\d\d)\)[ .-]?[2-9]\d\d[ .-]\d{4}(?![A-Za-z0-9])/g;

export function detectPhones(ctx: ScanContext): Span[] {
  const { text } = ctx;
  const out: Span[] = [];
  if (text.includes('+')) detectE164(text, out);
  if (text.includes('(')) {
    for (const m of text.matchAll(PAREN_NANP)) {
      const area = m[1] as string;
      if (area[1] === '1' && area[2] === '1') continue;
      out.push({ start: m.index, end: m.index + m[0].length, detector: 'phone' });
    }
  }
  const contextual = ctx.hint !== undefined && HINT.test(ctx.hint);
  for (const run of ctx.runs()) if (run.digits.length >= 7) phonesInRun(ctx, run, contextual, out);
  return out;
}
