import type { ScanContext, Span } from '../types.js';

/**
 * JSON Web Tokens: dot-separated base64url parts whose first part decodes to a JSON
 * object with a string `alg` (JWS: three parts, the last empty only for `alg: none`;
 * JWE: five parts with `enc` too). The text is cut into maximal runs of base64url
 * characters and dots in one pass; each part is decoded at most once.
 */
const MAX_HEADER_CHARS = 4096;

function isB64Url(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
}

interface Header {
  alg: string;
  enc?: unknown;
}

/** Decodes a JOSE header, or undefined if it is not base64url JSON with a string alg. */
export function decodeJoseHeader(part: string): Header | undefined {
  if (part.length < 8 || part.length > MAX_HEADER_CHARS || part.length % 4 === 1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const alg = (parsed as Record<string, unknown>).alg;
  return typeof alg === 'string' && alg.length > 0 ? (parsed as Header) : undefined;
}

export function detectJwts(ctx: ScanContext): Span[] {
  const { text } = ctx;
  const out: Span[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!isB64Url(c) && c !== 46) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && (isB64Url(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) j++;
    if (j - i >= 16) jwtsInRun(text, i, j, out);
    i = j;
  }
  return out;
}

function jwtsInRun(text: string, from: number, to: number, out: Span[]): void {
  const starts: number[] = [];
  const ends: number[] = [];
  let s = from;
  for (let k = from; k <= to; k++) {
    if (k === to || text.charCodeAt(k) === 46) {
      starts.push(s);
      ends.push(k);
      s = k + 1;
    }
  }
  let p = 0;
  while (p + 2 < starts.length) {
    const hs = starts[p] as number;
    const he = ends[p] as number;
    // A header is a JSON object, and '{' base64url-encodes to a leading 'e': skip every other part undecoded.
    const header = text.charCodeAt(hs) === 101 ? decodeJoseHeader(text.slice(hs, he)) : undefined;
    if (header) {
      const nonEmpty = (k: number) => (ends[k] as number) > (starts[k] as number);
      let last = -1;
      if (header.enc !== undefined && p + 4 < starts.length && nonEmpty(p + 2) && nonEmpty(p + 3)) last = p + 4;
      else if (nonEmpty(p + 1) && (nonEmpty(p + 2) || header.alg.toLowerCase() === 'none')) last = p + 2;
      if (last >= 0) {
        out.push({ start: hs, end: ends[last] as number, detector: 'jwt' });
        p = last + 1;
        continue;
      }
    }
    p++;
  }
}
