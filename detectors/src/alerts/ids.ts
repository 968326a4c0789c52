import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id (version 8, RFC 9562 custom) derived from its parts by SHA-256. Alert
 * and decision ids are derived, not random, so a detector that re-processes a batch
 * after a crash re-emits the same ids and downstream (ClickHouse ReplacingMergeTree, the
 * compacted decisions topic) sees one alert, not two.
 */
export function deterministicId(...parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = 0x80 | ((h[6] ?? 0) & 0x0f);
  h[8] = 0x80 | ((h[8] ?? 0) & 0x3f);
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The alert id of a finding: detector, entity and the first evidence event. */
export function alertIdOf(f: { detector: string; key: string; eventIds: readonly string[] }): string {
  return deterministicId('alert', f.detector, f.key, f.eventIds[0] ?? '');
}
