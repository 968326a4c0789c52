import type { ScanContext, Span } from '../types.js';

/**
 * PEM and OpenSSH/PGP private key blocks: `-----BEGIN … PRIVATE KEY-----` through the
 * matching `-----END … PRIVATE KEY-----`, with real or JSON-escaped newlines inside.
 * A BEGIN without an END (a truncated payload, a key split over cells) is masked to the
 * end of the text. END markers are searched with one forward cursor, so many BEGINs
 * cost no more than one.
 */
const BEGIN = /-----BEGIN (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;
const END = /-----END (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;

export function detectPrivateKeys(ctx: ScanContext): Span[] {
  const { text } = ctx;
  if (!text.includes('PRIVATE KEY')) return [];
  const out: Span[] = [];
  const begin = new RegExp(BEGIN.source, 'g');
  const end = new RegExp(END.source, 'g');
  let endMatch: RegExpExecArray | null | undefined;
  for (;;) {
    const b = begin.exec(text);
    if (!b) break;
    const bodyStart = b.index + b[0].length;
    if (endMatch === undefined || (endMatch !== null && endMatch.index < bodyStart)) {
      end.lastIndex = bodyStart;
      endMatch = end.exec(text);
    }
    if (endMatch === null) {
      out.push({ start: b.index, end: text.length, detector: 'private_key' });
      break;
    }
    const stop = endMatch.index + endMatch[0].length;
    out.push({ start: b.index, end: stop, detector: 'private_key' });
    begin.lastIndex = stop;
  }
  return out;
}
