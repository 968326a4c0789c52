import type { ResultSet, ResultValue } from '../targets/target.js';

export interface CappedPayload {
  /** The result as JSON: `{"columns":[…],"rows":[[…],…]}`, with as many whole rows as fit. */
  readonly text: string;
  /** UTF-8 length of the whole result's JSON, as the caller received it. */
  readonly bytes: number;
  readonly truncated: boolean;
}

/**
 * The result as the caller saw it, for replay, capped at `maxBytes` by dropping trailing
 * rows so the payload stays valid JSON. `bytes` is always the full size, so detectors
 * see what left the gateway even when the copy is truncated.
 */
export function capPayload(result: Pick<ResultSet, 'columns' | 'rows'>, maxBytes: number): CappedPayload {
  const head = `{"columns":${JSON.stringify(result.columns.map((c) => c.name))},"rows":[`;
  const tail = ']}';
  const rowTexts = result.rows.map((r: readonly ResultValue[]) => JSON.stringify(r));
  const rowBytes = rowTexts.map((t) => Buffer.byteLength(t, 'utf8'));
  const fixed = Buffer.byteLength(head, 'utf8') + tail.length;
  const bytes = fixed + rowBytes.reduce((a, b) => a + b, 0) + Math.max(0, rowTexts.length - 1);

  if (bytes <= maxBytes) return { text: head + rowTexts.join(',') + tail, bytes, truncated: false };
  if (fixed > maxBytes) return { text: '', bytes, truncated: true };
  let used = fixed;
  let n = 0;
  for (; n < rowBytes.length; n++) {
    const next = used + (rowBytes[n] ?? 0) + (n > 0 ? 1 : 0);
    if (next > maxBytes) break;
    used = next;
  }
  return { text: head + rowTexts.slice(0, n).join(',') + tail, bytes, truncated: true };
}

/** The payload of a failed command: the error as the caller saw it. */
export function errorPayload(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}
