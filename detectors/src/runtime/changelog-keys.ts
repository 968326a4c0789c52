/**
 * Changelog keys on `portcullis.state.<group>.<store>`: `<partition>:<state key>` for an entity's
 * state, `<partition>/recent-alerts` for the partition's alert dedupe set,
 * `<partition>/offset` for the last events offset the store applied, and (on the runtime
 * store only) `<partition>/runtime` for the partition's event-id ring and live blocks.
 * The events partition leads the key so that a member restores only the partitions it
 * was assigned; the `/` forms cannot collide with any entity key, which always follows `:`.
 */
export type ChangelogKey =
  | { partition: number; kind: 'state'; key: string }
  | { partition: number; kind: 'recent-alerts' }
  | { partition: number; kind: 'offset' }
  | { partition: number; kind: 'runtime' };

export const RECENT_ALERTS = 'recent-alerts';

export function stateKey(partition: number, key: string): string {
  return `${partition}:${key}`;
}

export function recentAlertsKey(partition: number): string {
  return `${partition}/${RECENT_ALERTS}`;
}

export function offsetKey(partition: number): string {
  return `${partition}/offset`;
}

export function runtimeKey(partition: number): string {
  return `${partition}/runtime`;
}

export function parseChangelogKey(raw: string): ChangelogKey | undefined {
  const m = /^(\d+)([:/])/.exec(raw);
  if (!m) return undefined;
  const partition = Number(m[1]);
  const rest = raw.slice(m[0].length);
  if (m[2] === ':') return { partition, kind: 'state', key: rest };
  if (rest === RECENT_ALERTS) return { partition, kind: 'recent-alerts' };
  if (rest === 'offset') return { partition, kind: 'offset' };
  if (rest === 'runtime') return { partition, kind: 'runtime' };
  return undefined;
}
