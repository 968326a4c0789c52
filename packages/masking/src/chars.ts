/** Character-class helpers on UTF-16 code units; cheaper and clearer than one-char regexes in hot loops. */

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

export function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

export function isLetter(c: number): boolean {
  return isUpper(c) || isLower(c);
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || isLetter(c);
}

/** Code unit at i, or -1 outside the string, so boundary checks need no length test. */
export function codeAt(s: string, i: number): number {
  return i >= 0 && i < s.length ? s.charCodeAt(i) : -1;
}

/**
 * Separators people put inside numbers: space, tab, no-break spaces, hyphen, dot, and
 * the Unicode dashes spreadsheets and word processors substitute for a hyphen.
 */
export function isNumberSeparator(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0 || c === 0x2007 || c === 0x202f || c === 45 || c === 46 || c === 0x2010 || c === 0x2011 || c === 0x2013;
}
