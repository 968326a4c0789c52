import { codeAt, isAlnum, isDigit, isNumberSeparator } from './chars.js';

/**
 * A run of digit groups joined by short separators: `4111 1111-1111.1111`, `123-45-6789`,
 * or several numbers aggregated with spaces. Card, SSN and phone detectors read the same
 * runs, so a string is tokenised once, in one linear pass, and never by backtracking regex.
 */
export interface DigitRun {
  /** Every digit of the run, in order. */
  readonly digits: Uint8Array;
  /** Per group: text offsets [start, end) and index of its first digit in `digits`. */
  readonly groupStart: readonly number[];
  readonly groupEnd: readonly number[];
  /** Length groups + 1: groupDigit[g] is the digit index where group g starts. */
  readonly groupDigit: readonly number[];
  /** The separator before group g (g > 0) as one string ('' for g = 0). */
  readonly sepBefore: readonly string[];
  /** Whether the character before the run / after the run is a letter or digit. */
  readonly gluedLeft: boolean;
  readonly gluedRight: boolean;
}

/** Longer separator sequences end a run: `12   34` is two numbers, not one. */
const MAX_SEPARATOR = 3;

/** No detector looks at fewer digits than this (a phone in context needs 7). */
const MIN_RUN_DIGITS = 7;

export function scanDigitRuns(text: string): DigitRun[] {
  const runs: DigitRun[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    // First pass: find the run's extent and digit count without allocating, so text full
    // of short numbers (`+1 +1 …`, dates, amounts) costs no more than a character scan.
    const runStart = i;
    let count = 0;
    let j = i;
    for (;;) {
      while (j < n && isDigit(text.charCodeAt(j))) {
        j++;
        count++;
      }
      let k = j;
      while (k < n && k - j < MAX_SEPARATOR && isNumberSeparator(text.charCodeAt(k))) k++;
      if (k > j && k < n && isDigit(text.charCodeAt(k))) j = k;
      else break;
    }
    if (count >= MIN_RUN_DIGITS) runs.push(buildRun(text, runStart, j, count));
    i = j;
  }
  return runs;
}

/** Second pass over one run of at least MIN_RUN_DIGITS digits, ending at `runEnd`. */
function buildRun(text: string, runStart: number, runEnd: number, count: number): DigitRun {
  const digits = new Uint8Array(count);
  const groupStart: number[] = [];
  const groupEnd: number[] = [];
  const groupDigit: number[] = [0];
  const sepBefore: string[] = [];
  let d = 0;
  let i = runStart;
  let sepStart = -1;
  while (i < runEnd) {
    groupStart.push(i);
    sepBefore.push(sepStart < 0 ? '' : text.slice(sepStart, i));
    while (i < runEnd && isDigit(text.charCodeAt(i))) digits[d++] = text.charCodeAt(i++) - 48;
    groupEnd.push(i);
    groupDigit.push(d);
    sepStart = i;
    while (i < runEnd && !isDigit(text.charCodeAt(i))) i++;
  }
  return {
    digits,
    groupStart,
    groupEnd,
    groupDigit,
    sepBefore,
    gluedLeft: isAlnum(codeAt(text, runStart - 1)),
    gluedRight: isAlnum(codeAt(text, runEnd)),
  };
}

export function groupCount(run: DigitRun): number {
  return run.groupStart.length;
}

/** Number of digits in groups [from, to] inclusive. */
export function digitsIn(run: DigitRun, from: number, to: number): number {
  return (run.groupDigit[to + 1] as number) - (run.groupDigit[from] as number);
}

/**
 * Whether groups [from, to] stand apart from their neighbours in the run: at a run edge
 * that is not glued to a letter or digit, or separated from the next group by a different
 * separator than the ones inside (so `123-45-6789 987-65-4321` splits but `1-123-45-6789-0`
 * does not), or adjacent to a group already claimed by a match (`afterMatch`).
 */
export function standsApart(run: DigitRun, from: number, to: number, inner: string, afterMatch: boolean): boolean {
  const last = run.groupStart.length - 1;
  const leftOk = from === 0 ? !run.gluedLeft : afterMatch || run.sepBefore[from] !== inner;
  const rightOk = to === last ? !run.gluedRight : run.sepBefore[to + 1] !== inner;
  return leftOk && rightOk;
}
