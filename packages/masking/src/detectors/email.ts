import type { ScanContext, Span } from '../types.js';

/**
 * Email addresses, found from each '@' outwards. Neither side may cross another '@', so
 * every character is visited a bounded number of times however many '@'s the text holds.
 * Local part: RFC 5322 dot-atom characters people actually use; domain: dot-separated
 * labels ending in an alphabetic TLD of two or more letters.
 */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

function isLocalChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45 || c === 39;
}

function isDomainChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 45;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function detectEmails(ctx: ScanContext): Span[] {
  const { text } = ctx;
  const spans: Span[] = [];
  let at = text.indexOf('@');
  let floor = 0; // nothing left of this may be claimed again
  while (at !== -1) {
    let s = at;
    while (s > floor && at - s < MAX_LOCAL && isLocalChar(text.charCodeAt(s - 1))) s--;
    // A local part does not start with '.'; nor, in practice, with an apostrophe — that
    // is the quote around a SQL or CSV value ('ann@example.com'), which stays outside the span.
    while (s < at && (text.charCodeAt(s) === 46 || text.charCodeAt(s) === 39)) s++;
    let e = at + 1;
    while (e < text.length && e - at - 1 < MAX_DOMAIN && isDomainChar(text.charCodeAt(e))) e++;
    // Trailing '.' or '-' is sentence punctuation, not the domain.
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    if (s < at && text.charCodeAt(at - 1) !== 46 && validDomain(text, at + 1, e)) {
      spans.push({ start: s, end: e, detector: 'email' });
      floor = e;
    }
    at = text.indexOf('@', Math.max(at + 1, floor));
  }
  return spans;
}

function validDomain(text: string, from: number, to: number): boolean {
  // Scan back only within the domain: lastIndexOf would run to the start of the text.
  let lastDot = to - 1;
  while (lastDot > from && text.charCodeAt(lastDot) !== 46) lastDot--;
  if (lastDot <= from || lastDot >= to - 2) return false;
  for (let i = lastDot + 1; i < to; i++) if (!isAlpha(text.charCodeAt(i))) return false;
  // Labels are non-empty and do not start or end with '-'.
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || text.charCodeAt(i) === 46) {
      if (i === labelStart || text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false;
      labelStart = i + 1;
    }
  }
  return true;
}
