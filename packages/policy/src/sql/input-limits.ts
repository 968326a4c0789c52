import type { AnalysisError } from './facts.js';

/**
 * Checks that run before any parser sees the text: size (parsing cost grows with it and a
 * multi-megabyte statement would stall the event loop), encoding and NUL bytes (the
 * parser is C and stops at a NUL, so it would judge a prefix of what the server runs).
 */
// Parsing costs roughly a microsecond per byte (more for long flat lists), so 128 KiB bounds
// the event-loop stall of one hostile statement to a fraction of a second.
export const DEFAULT_MAX_STATEMENT_BYTES = 128 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type CheckedText = { ok: true; text: string } | { ok: false; error: AnalysisError };

export function checkStatementText(input: string | Uint8Array, maxBytes = DEFAULT_MAX_STATEMENT_BYTES): CheckedText {
  let text: string;
  if (typeof input !== 'string') {
    if (input.byteLength > maxBytes) return tooLarge(input.byteLength, maxBytes);
    try {
      text = utf8.decode(input);
    } catch {
      const at = firstInvalidUtf8(input);
      return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: `statement is not valid UTF-8 (at byte ${at})`, position: at } };
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

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    for (let k = 1; k < len; k++) {
      const d = b[i + k] as number;
      let lo = 0x80;
      let hi = 0xbf;
      // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
      if (k === 1 && c === 0xe0) lo = 0xa0;
      if (k === 1 && c === 0xed) hi = 0x9f;
      if (k === 1 && c === 0xf0) lo = 0x90;
      if (k === 1 && c === 0xf4) hi = 0x8f;
      if (d < lo || d > hi) return i;
    }
    i += len;
  }
  return -1;
}
