/**
 * Changelog keys on `portcullis.state.<detector>`: `<partition>:<state key>` for an
 * entity's state and `<partition>/recent-alerts` for the partition's dedupe set. The
 * events partition leads the key so that a member restores only the partitions it was
 * assigned; the `/` form cannot collide with any entity key, which always follows `:`.
 */
export type ChangelogKey = { partition: number; kind: 'state'; key: string } | { partition: number; kind: 'recent-alerts' };

export const RECENT_ALERTS = 'recent-alerts';

export function stateKey(partition: number, key: string): string {
  return `${partition}:${key}`;
}

export function recentAlertsKey(partition: number): string {
  return `${partition}/${RECENT_ALERTS}`;
}

export function parseChangelogKey(raw: string): ChangelogKey | undefined {
  const m = /^(\d+)([:/])/.exec(raw);
  if (!m) return undefined;
  const partition = Number(m[1]);
  const rest = raw.slice(m[0].length);
  if (m[2] === ':') return { partition, kind: 'state', key: rest };
  return rest === RECENT_ALERTS ? { partition, kind: 'recent-alerts' } : undefined;
}
