import { pb } from '@portcullis/proto';
import type { ChangeTopicRecord } from './manifests.js';
import type { StoredRow } from './row-event.js';
import type { QueryRows } from './stored-events.js';

/** A record of portcullis.changes read back from the store, with where and when it was on the topic. */
export interface StoredChangeRecord extends ChangeTopicRecord {
  /** The record's timestamp on the topic (ms). */
  readonly recordedAt: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

const COLUMNS = [
  'change_key', 'tombstone', 'undecodable', 'change_id', 'title', 'requested_by', 'approved_by', 'scope', 'kind', 'status', 'environment',
  'expected_digest', 'expected_endpoints', 'expected_env_names', 'expected_env_sha256', 'expected_sections', 'revoked_by', 'kafka_topic', 'kafka_partition', 'kafka_offset',
  'toUnixTimestamp64Milli(window_start) AS window_start_ms', 'toUnixTimestamp64Milli(window_end) AS window_end_ms', 'toUnixTimestamp64Milli(created_at) AS created_at_ms',
  'toUnixTimestamp64Milli(revoked_at) AS revoked_at_ms', 'toUnixTimestamp64Milli(recorded_at) AS recorded_at_ms',
];

/**
 * The records of portcullis.changes as the topic held them at `to` (the end of a backtest
 * window): every stored record written before it — from the start of history, since an
 * approval filed long ago may be in force in the window — in topic order, tombstones and
 * unreadable values included, so folding them into the changes view gives what the live
 * view held at the window's end. Records written later (a withdrawal, a revocation re-
 * published after the window) are left out: the live view had not seen them either.
 *
 * The fold happens before the first event (backtestEvents), so a request withdrawn by a
 * tombstone inside the window covers none of the window's events, where live it covered
 * those before the withdrawal. Revoking (status REVOKED with revoked_at), which is what
 * `DELETE /changes/:id` does, keeps that history exactly; approvals filed after an event
 * never cover it in either case (the view's created_at rule).
 */
export async function readStoredChanges(query: QueryRows, database: string, to: number): Promise<StoredChangeRecord[]> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new Error(`bad database name ${JSON.stringify(database)}`);
  const r = await query(
    `SELECT ${COLUMNS.join(', ')} FROM ${database}.changes FINAL ` +
      `WHERE recorded_at < fromUnixTimestamp64Milli(${Math.floor(to)}, 'UTC') ` +
      // A key's records share a partition, and their offsets are the topic's order.
      `ORDER BY kafka_topic, kafka_partition, kafka_offset`,
  );
  const names = r.columns.map((c) => c.name);
  return r.rows.map((cells) => {
    const row: Record<string, unknown> = {};
    names.forEach((name, i) => (row[name] = cells[i]));
    return rowToChange(row);
  });
}

/**
 * A `changes` row → the record it was stored from: a tombstone as a null value, a
 * ChangeRequest re-encoded from its columns (the view judges it again, as it judged the
 * original), and a value that was not readable as an empty one — the view refuses it
 * (no change_id) and drops whatever its key held, as it did live.
 */
export function rowToChange(row: StoredRow): StoredChangeRecord {
  const s = (k: string): string => (row[k] === null || row[k] === undefined ? '' : String(row[k]));
  const n = (k: string): number => {
    const x = Number(row[k] ?? 0);
    return Number.isFinite(x) ? x : 0;
  };
  const b = (k: string): boolean => row[k] === true || row[k] === 1 || row[k] === 'true' || row[k] === '1';
  const list = (k: string): string[] => {
    const v = typeof row[k] === 'string' ? safeParse(row[k]) : row[k];
    return Array.isArray(v) ? v.map(String) : [];
  };
  const position = { recordedAt: n('recorded_at_ms'), topic: s('kafka_topic'), partition: n('kafka_partition'), offset: s('kafka_offset') };
  const key = s('change_key');
  if (b('tombstone')) return { key, value: null, ...position };
  if (b('undecodable')) return { key, value: Buffer.alloc(0), ...position };
  const shas = list('expected_env_sha256');
  const value = pb.ChangeRequest.encode({
    changeId: s('change_id'),
    title: s('title'),
    requestedBy: s('requested_by'),
    approvedBy: s('approved_by'),
    scope: s('scope'),
    kind: enumValue(pb.ChangeKind, s('kind')),
    expected: {
      digest: s('expected_digest'),
      endpoints: list('expected_endpoints'),
      env: list('expected_env_names').map((name, i) => ({ name, valueSha256: shas[i] ?? '' })),
      sections: list('expected_sections'),
    },
    windowStart: n('window_start_ms'),
    windowEnd: n('window_end_ms'),
    createdAt: n('created_at_ms'),
    status: enumValue(pb.ChangeStatus, s('status')),
    revokedAt: n('revoked_at_ms'),
    revokedBy: s('revoked_by'),
    environment: s('environment'),
  }).finish();
  return { key, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), ...position };
}

function safeParse(v: unknown): unknown {
  try {
    return JSON.parse(String(v)) as unknown;
  } catch {
    return undefined;
  }
}

/** An enum name as the store holds it (or `UNKNOWN_<n>` for a number the sink did not know) → its number. */
function enumValue(values: Readonly<Record<string, number | string>>, name: string): number {
  if (!name) return 0;
  const unknown = /^UNKNOWN_(\d+)$/.exec(name);
  if (unknown) return Number(unknown[1]);
  const v = values[name];
  return typeof v === 'number' ? v : 0;
}
