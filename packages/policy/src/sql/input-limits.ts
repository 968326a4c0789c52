import type { AnalysisError } from './facts.js';

/**
 * Checks that run before any parser sees the text: size (parsing cost grows with it and a
 * multi-megabyte statement would stall the event loop), encoding and NUL bytes (the
 * parser is C and stops at a NUL, so it would judge a prefix of what the server runs).
 */
export const DEFAULT_MAX_STATEMENT_BYTES = 256 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type CheckedText = { ok: true; text: string } | { ok: false; error: AnalysisError };

export function checkStatementText(input: string | Uint8Array, maxBytes = DEFAULT_MAX_STATEMENT_BYTES): CheckedText {
  let text: string;
  if (typeof input !== 'string') {
    if (input.byteLength > maxBytes) return tooLarge(input.byteLength, maxBytes);
    try {
      text = utf8.decode(input);
    } catch {
      return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: `statement is not valid UTF-8 (at byte ${firstInvalidUtf8(input)})`, position: firstInvalidUtf8(input) } };
    }
  } else {
    text = input;
    // Every UTF-16 unit is at least one UTF-8 byte and at most three.
    if (text.length > maxBytes) return tooLarge(text.length, maxBytes);
    if (text.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > maxBytes) return tooLarge(bytes, maxBytes);
    }
    const at = firstLoneSurrogate(text);
    if (at >= 0) {
      return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: `statement is not valid Unicode: an unpaired surrogate at character ${at} cannot be encoded as UTF-8`, position: at } };
    }
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: `statement contains a NUL byte at character ${nul}; SQL text may not contain NUL`, position: nul } };
  if (text.trim() === '') return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: 'empty statement: the text holds no SQL' } };
  return { ok: true, text };
}

function tooLarge(size: number, max: number): CheckedText {
  return { ok: false, error: { code: 'PCX_PAYLOAD_TOO_LARGE', message: `statement is ${size} bytes, over the ${max}-byte limit for analysis; split it or raise the limit` } };
}

/** Node ≥ 20 has String.prototype.isWellFormed (ES2024, newer than our lib setting): use it to skip the scan. */
const wellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

function firstLoneSurrogate(s: string): number {
  if (wellFormed && wellFormed.call(s)) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

function firstInvalidUtf8(b: Uint8Array): number {
  // Binary search on the longest valid prefix; the decoder is the authority on validity.
  let lo = 0;
  let hi = b.byteLength;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (validPrefix(b.subarray(0, mid))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function validPrefix(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: true });
    return true;
  } catch {
    return false;
  }
}
