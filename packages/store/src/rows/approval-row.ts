import { PcxError } from '@portcullis/common';
import { pb } from '@portcullis/proto';
import type { ColumnKinds } from '../tsv.js';

/** One row of `approvals`: the latest state of one approval (ReplacingMergeTree on time). */
export interface ApprovalRow {
  approval_id: string;
  time: number;
  status: string;
  raw: string;
}

/** Column order of `approvals` as the sink inserts it. */
export const APPROVAL_COLUMNS = ['approval_id', 'time', 'status', 'raw'] as const satisfies ReadonlyArray<keyof ApprovalRow>;

/** How each `approvals` column is written (tsv.ts). */
export const APPROVAL_COLUMN_KINDS = { approval_id: 'string', time: 'time', status: 'string', raw: 'string' } as const satisfies ColumnKinds<ApprovalRow>;

/**
 * Maps an ApprovalState record of portcullis.approvals (protobuf: the request, its votes
 * and status; the topic is compacted, so each record is the whole state) to a row: id
 * from the request, else the key; time (the version: latest wins) from updated_at, else
 * the record timestamp; status as a lower-case word; raw as JSON with enum names.
 */
export function approvalToRow(bytes: Uint8Array, key: string | null, timestamp: number): ApprovalRow {
  let m: InstanceType<typeof pb.ApprovalState>;
  try {
    m = pb.ApprovalState.decode(bytes);
  } catch (e) {
    throw new PcxError('PCX_BAD_REQUEST', `approval is not an ApprovalState: ${(e as Error).message}`);
  }
  const id = m.request?.approvalId || key;
  if (!id) throw new PcxError('PCX_BAD_REQUEST', 'approval has no id');
  const status = (pb.ApprovalStatus[m.status] ?? 'APPROVAL_STATUS_UNSPECIFIED').replace(/^APPROVAL_STATUS_/, '').toLowerCase();
  const raw = JSON.stringify(pb.ApprovalState.toObject(m, { enums: String, longs: Number }));
  const updated = Number(m.updatedAt);
  return { approval_id: id, time: updated > 0 ? updated : timestamp, status, raw };
}
