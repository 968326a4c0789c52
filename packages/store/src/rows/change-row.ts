import { pb } from '@portcullis/proto';
import type { RecordPosition } from './decision-row.js';
import { enumName } from './enum-name.js';
import type { ColumnKinds } from '../tsv.js';

/** One row of `changes`: one record of the compacted portcullis.changes topic. */
export interface ChangeRow {
  /** The record key: the change id the topic is compacted by. */
  change_key: string;
  /** A null value: the request was withdrawn. */
  tombstone: boolean;
  /** The value was not a ChangeRequest (its bytes went to the dead-letter topic). */
  undecodable: boolean;
  change_id: string;
  title: string;
  requested_by: string;
  approved_by: string;
  scope: string;
  /** ChangeKind name (GATEWAY_CONFIG, AGENT_MANIFEST), '' when unspecified. */
  kind: string;
  /** ChangeStatus name (CHANGE_APPROVED, CHANGE_REVOKED), '' when unspecified. */
  status: string;
  environment: string;
  expected_digest: string;
  expected_endpoints: string[];
  /** Parallel to expected_env_sha256. */
  expected_env_names: string[];
  expected_env_sha256: string[];
  expected_sections: string[];
  window_start: number;
  window_end: number;
  created_at: number;
  revoked_at: number;
  revoked_by: string;
  recorded_at: number;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: string;
}

/** Column order of `changes` as the sink inserts it. */
export const CHANGE_COLUMNS = [
  'change_key', 'tombstone', 'undecodable', 'change_id', 'title', 'requested_by', 'approved_by', 'scope', 'kind', 'status', 'environment',
  'expected_digest', 'expected_endpoints', 'expected_env_names', 'expected_env_sha256', 'expected_sections',
  'window_start', 'window_end', 'created_at', 'revoked_at', 'revoked_by', 'recorded_at', 'kafka_topic', 'kafka_partition', 'kafka_offset',
] as const satisfies ReadonlyArray<keyof ChangeRow>;

/** How each `changes` column is written (tsv.ts). kafka_offset is a UInt64 in decimal text. */
export const CHANGE_COLUMN_KINDS = {
  change_key: 'string', tombstone: 'bool', undecodable: 'bool', change_id: 'string', title: 'string', requested_by: 'string', approved_by: 'string', scope: 'string',
  kind: 'string', status: 'string', environment: 'string',
  expected_digest: 'string', expected_endpoints: 'strings', expected_env_names: 'strings', expected_env_sha256: 'strings', expected_sections: 'strings',
  window_start: 'time', window_end: 'time', created_at: 'time', revoked_at: 'time', revoked_by: 'string', recorded_at: 'time',
  kafka_topic: 'string', kafka_partition: 'number', kafka_offset: 'string',
} as const satisfies ColumnKinds<ChangeRow>;

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Stands in for an expected value hash that is not one; the changes view refuses it as the original. */
export const NOT_A_SHA256 = 'not-a-sha256';

/**
 * Maps a record of portcullis.changes to a row. `value` null is a tombstone; bytes that
 * do not decode as a ChangeRequest become an `undecodable` row with only the key and
 * position, and the error is thrown to the caller (the sink dead-letters the bytes and
 * still stores the row — see decodeRecord). A decodable request is stored field by
 * field whether or not the changes view would accept it (it judges at replay), except
 * that an expected value hash that is not 64 hex digits — possibly the value itself —
 * is stored as NOT_A_SHA256, which the view refuses just as it refused the original.
 */
export function changeToRow(key: string, value: Uint8Array | null, at: RecordPosition): ChangeRow {
  const base = emptyChangeRow(key, at);
  if (value === null) return { ...base, tombstone: true };
  const m = pb.ChangeRequest.decode(value);
  const x = m.expected;
  const env = x?.env ?? [];
  return {
    ...base,
    change_id: m.changeId,
    title: m.title,
    requested_by: m.requestedBy,
    approved_by: m.approvedBy,
    scope: m.scope,
    kind: enumName(pb.ChangeKind, m.kind),
    status: enumName(pb.ChangeStatus, m.status),
    environment: m.environment,
    expected_digest: x?.digest ?? '',
    expected_endpoints: x?.endpoints ?? [],
    expected_env_names: env.map((v) => v.name ?? ''),
    expected_env_sha256: env.map((v) => {
      const s = (v.valueSha256 ?? '').toLowerCase();
      return s === '' || SHA256_HEX.test(s) ? s : NOT_A_SHA256;
    }),
    expected_sections: x?.sections ?? [],
    window_start: Number(m.windowStart),
    window_end: Number(m.windowEnd),
    created_at: Number(m.createdAt),
    revoked_at: Number(m.revokedAt),
    revoked_by: m.revokedBy,
  };
}

/** The row of a record whose value could not be read: it still withdraws whatever its key held. */
export function undecodableChangeRow(key: string, at: RecordPosition): ChangeRow {
  return { ...emptyChangeRow(key, at), undecodable: true };
}

function emptyChangeRow(key: string, at: RecordPosition): ChangeRow {
  return {
    change_key: key,
    tombstone: false,
    undecodable: false,
    change_id: '',
    title: '',
    requested_by: '',
    approved_by: '',
    scope: '',
    kind: '',
    status: '',
    environment: '',
    expected_digest: '',
    expected_endpoints: [],
    expected_env_names: [],
    expected_env_sha256: [],
    expected_sections: [],
    window_start: 0,
    window_end: 0,
    created_at: 0,
    revoked_at: 0,
    revoked_by: '',
    recorded_at: at.timestamp,
    kafka_topic: at.topic,
    kafka_partition: at.partition,
    kafka_offset: at.offset,
  };
}
