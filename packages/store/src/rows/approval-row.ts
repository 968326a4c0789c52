import { PcxError } from '@portcullis/common';

/** One row of `approvals`. The approvals contract is JSON until its own issue lands. */
export interface ApprovalRow {
  approval_id: string;
  time: number;
  status: string;
  raw: string;
}

/** Column order of `approvals` as the sink inserts it. */
export const APPROVAL_COLUMNS = ['approval_id', 'time', 'status', 'raw'] as const satisfies ReadonlyArray<keyof ApprovalRow>;

/**
 * Maps an approvals record (JSON) to a row: id from `approval_id` or `id`, else the key;
 * status from `status`; time (the version: latest wins) from `updated_at` or `time`,
 * else the record timestamp.
 */
export function approvalToRow(text: string, key: string | null, timestamp: number): ApprovalRow {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PcxError('PCX_BAD_REQUEST', 'approval is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new PcxError('PCX_BAD_REQUEST', 'approval is not a JSON object');
  const a = parsed as Record<string, unknown>;
  const id = [a.approval_id, a.id, key].find((v): v is string => typeof v === 'string' && v !== '');
  if (!id) throw new PcxError('PCX_BAD_REQUEST', 'approval has no id');
  const t = [a.updated_at, a.time].find((v): v is number => typeof v === 'number' && v > 0);
  return { approval_id: id, time: t ?? timestamp, status: typeof a.status === 'string' ? a.status : '', raw: text };
}
