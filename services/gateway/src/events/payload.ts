import type { ResultSet, ResultValue } from '../targets/target.js';

export interface CappedPayload {
  /** The result as JSON: `{"columns":[…],"rows":[[…],…]}`, with as many whole rows as fit. */
  readonly text: string;
  /** UTF-8 length of the whole result's JSON, as the caller received it. */
  readonly bytes: number;
  readonly truncated: boolean;
}

/** Results up to this many rows are stringified whole first (most commands return a few rows). */
const SMALL_ROWS = 64;

/**
 * The result as the caller saw it, for replay, capped at `maxBytes` by dropping trailing
 * rows so the payload stays valid JSON. `bytes` is always the full size, so detectors
 * see what left the gateway even when the copy is truncated.
 */
export function capPayload(result: Pick<ResultSet, 'columns' | 'rows'>, maxBytes: number): CappedPayload {
  const names = result.columns.map((c) => c.name);
  const rows = result.rows;
  // The usual small result: one stringify gives the very same text as the row-by-row join.
  if (rows.length <= SMALL_ROWS) {
    const text = JSON.stringify({ columns: names, rows });
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= maxBytes) return { text, bytes, truncated: false };
  }
  const head = `{"columns":${JSON.stringify(names)},"rows":[`;
  const tail = ']}';
  const fixed = Buffer.byteLength(head, 'utf8') + tail.length;
  // One pass: every row counts towards `bytes`; only the leading rows that fit are kept.
  const kept: string[] = [];
  let bytes = fixed;
  let used = fixed;
  let fitting = fixed <= maxBytes;
  for (let i = 0; i < rows.length; i++) {
    const t = JSON.stringify(rows[i] as readonly ResultValue[]);
    const b = Buffer.byteLength(t, 'utf8') + (i > 0 ? 1 : 0);
    bytes += b;
    if (fitting && used + b <= maxBytes) {
      used += b;
      kept.push(t);
    } else {
      fitting = false;
    }
  }
  if (bytes <= maxBytes) return { text: head + kept.join(',') + tail, bytes, truncated: false };
  if (fixed > maxBytes) return { text: '', bytes, truncated: true };
  return { text: head + kept.join(',') + tail, bytes, truncated: true };
}

/** The payload of a failed command: the error as the caller saw it. */
export function errorPayload(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
