import { DecisionEffect, SubjectKind, type IDecision } from '@portcullis/proto';
import { PcxError } from '@portcullis/common';
import { enumName } from './enum-name.js';
import type { ColumnKinds } from '../tsv.js';

/** One row of `decisions`: one record of the compacted decisions topic. */
export interface DecisionRow {
  decision_id: string;
  subject: string;
  subject_kind: string;
  subject_value: string;
  effect: string;
  reason: string;
  source: string;
  alert_id: string;
  created_at: number;
  /** null = no expiry. */
  expires_at: number | null;
  environment: string;
  /** True for a tombstone: the block on `subject` was lifted. */
  lifted: boolean;
  recorded_at: number;
  kafka_topic: string;
  kafka_partition: number;
  kafka_offset: string;
}

/** Column order of `decisions` as the sink inserts it. */
export const DECISION_COLUMNS = [
  'decision_id', 'subject', 'subject_kind', 'subject_value', 'effect', 'reason', 'source', 'alert_id',
  'created_at', 'expires_at', 'environment', 'lifted', 'recorded_at', 'kafka_topic', 'kafka_partition', 'kafka_offset',
] as const satisfies ReadonlyArray<keyof DecisionRow>;

/** How each `decisions` column is written (tsv.ts). kafka_offset is a UInt64 in decimal text. */
export const DECISION_COLUMN_KINDS = {
  decision_id: 'string', subject: 'string', subject_kind: 'string', subject_value: 'string', effect: 'string', reason: 'string', source: 'string', alert_id: 'string',
  created_at: 'time', expires_at: 'nullableTime', environment: 'string', lifted: 'bool', recorded_at: 'time', kafka_topic: 'string', kafka_partition: 'number', kafka_offset: 'string',
} as const satisfies ColumnKinds<DecisionRow>;

/** Where a decisions record sat on its topic: its identity for idempotent inserts. */
export interface RecordPosition {
  topic: string;
  partition: number;
  /** int64 as a decimal string. */
  offset: string;
  /** The record's timestamp (ms): when the block or lift was published. */
  timestamp: number;
}

/**
 * Maps a decisions record to a row. `decision` null is a tombstone: the key names the
 * subject whose block is lifted. The subject is always the record key when there is one
 * (the topic is keyed by it), so the sorting key stays fixed per record.
 */
export function decisionToRow(key: string | null, decision: IDecision | null, at: RecordPosition): DecisionRow {
  const subject = key || decision?.subject || '';
  if (!subject) throw new PcxError('PCX_BAD_REQUEST', 'decision record has neither a key nor a subject');
  const base = { subject, kafka_topic: at.topic, kafka_partition: at.partition, kafka_offset: at.offset, recorded_at: at.timestamp };
  if (!decision) {
    const colon = subject.indexOf(':');
    return {
      ...base,
      decision_id: '',
      subject_kind: colon > 0 ? subject.slice(0, colon) : '',
      subject_value: colon > 0 ? subject.slice(colon + 1) : subject,
      effect: '',
      reason: '',
      source: '',
      alert_id: '',
      created_at: at.timestamp,
      expires_at: null,
      environment: '',
      lifted: true,
    };
  }
  const expires = Number(decision.expiresAt ?? 0);
  return {
    ...base,
    decision_id: decision.decisionId ?? '',
    subject_kind: enumName(SubjectKind, decision.subjectKind),
    subject_value: decision.subjectValue ?? '',
    effect: enumName(DecisionEffect, decision.effect),
    reason: decision.reason ?? '',
    source: decision.source ?? '',
    alert_id: decision.alertId ?? '',
    created_at: Number(decision.createdAt ?? 0) || at.timestamp,
    expires_at: expires > 0 ? expires : null,
    environment: decision.environment ?? '',
    lifted: false,
  };
}
