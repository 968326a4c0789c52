import { standsApart, type DigitRun } from '../digit-runs.js';
import type { ScanContext, Span } from '../types.js';

/**
 * US Social Security numbers.
 *
 * Valid structure (SSA): area 001–899 except 666, group 01–99, serial 0001–9999.
 *
 * When a match is allowed:
 * - `AAA-GG-SSSS` or `AAA GG SSSS` (one separator, the same both times) always, when the
 *   three groups stand apart from neighbouring digits (see `standsApart`).
 * - Other separators (`.`) and a bare run of exactly nine digits only with context: the
 *   column or JSON key looks like an SSN/TIN field, or a keyword (`ssn`, `social
 *   security`, `tin`, …) sits in the 32 characters before the number. Without that, order
 *   ids, ZIP+4 codes and amounts would all be masked, since a third of random 9-digit
 *   numbers pass the structure rules.
 */
const HINT = /ssn|social|tax_?id|taxpayer|(^|[^a-z])tin([^a-z]|$)|itin/i;
const KEYWORD = /\b(?:ssn|ss#|ss\s?no|social\s+security|soc\.?\s*sec|tin|itin|taxpayer)\b/i;
const CONTEXT_WINDOW = 32;

export function validSsnDigits(d: Uint8Array | readonly number[], from: number): boolean {
  const area = (d[from] as number) * 100 + (d[from + 1] as number) * 10 + (d[from + 2] as number);
  const group = (d[from + 3] as number) * 10 + (d[from + 4] as number);
  const serial = (d[from + 5] as number) * 1000 + (d[from + 6] as number) * 100 + (d[from + 7] as number) * 10 + (d[from + 8] as number);
  return area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0;
}

export function hintSuggestsSsn(hint: string | undefined): boolean {
  return hint !== undefined && HINT.test(hint);
}

function keywordBefore(text: string, start: number): boolean {
  return KEYWORD.test(text.slice(Math.max(0, start - CONTEXT_WINDOW), start));
}

function groupLen(run: DigitRun, g: number): number {
  return (run.groupDigit[g + 1] as number) - (run.groupDigit[g] as number);
}

function ssnsInRun(ctx: ScanContext, run: DigitRun, hinted: boolean, out: Span[]): void {
  const groups = run.groupStart.length;
  let afterMatch = false;
  let g = 0;
  while (g < groups) {
    const start = run.groupStart[g] as number;
    const from = run.groupDigit[g] as number;
    if (g + 2 < groups && groupLen(run, g) === 3 && groupLen(run, g + 1) === 2 && groupLen(run, g + 2) === 4) {
      const s1 = run.sepBefore[g + 1] as string;
      const s2 = run.sepBefore[g + 2] as string;
      const plain = s1 === s2 && (s1 === '-' || s1 === ' ');
      const other = s1 === s2 && s1.length === 1;
      if ((plain || (other && (hinted || keywordBefore(ctx.text, start)))) && standsApart(run, g, g + 2, s1, afterMatch) && validSsnDigits(run.digits, from)) {
        out.push({ start, end: run.groupEnd[g + 2] as number, detector: 'ssn' });
        g += 3;
        afterMatch = true;
        continue;
      }
    }
    if (groupLen(run, g) === 9 && validSsnDigits(run.digits, from)) {
      const inner = '\u0000'; // a lone group has no inner separator; any neighbour separator splits
      if (standsApart(run, g, g, inner, afterMatch) && (hinted || keywordBefore(ctx.text, start))) {
        out.push({ start, end: run.groupEnd[g] as number, detector: 'ssn' });
        g += 1;
        afterMatch = true;
        continue;
      }
    }
    afterMatch = false;
    g++;
  }
}

export function detectSsns(ctx: ScanContext): Span[] {
  const out: Span[] = [];
  const hinted = hintSuggestsSsn(ctx.hint);
  for (const run of ctx.runs()) if (run.digits.length >= 9) ssnsInRun(ctx, run, hinted, out);
  return out;
}
