import { PcxError } from '@portcullis/common';
import type { ColumnKinds } from '../tsv.js';

/** One row of `alerts`. */
export interface AlertRow {
  alert_id: string;
  time: number;
  updated_at: number;
  activity: string;
  severity_id: number;
  severity: string;
  title: string;
  detector: string;
  analytic: string;
  subject: string;
  credential_id: string;
  risk_score: number;
  confidence: number;
  status: string;
  evidence_event_ids: string[];
  raw: string;
}

/** Column order of `alerts` as the sink inserts it. */
export const ALERT_COLUMNS = [
  'alert_id', 'time', 'updated_at', 'activity', 'severity_id', 'severity', 'title', 'detector', 'analytic',
  'subject', 'credential_id', 'risk_score', 'confidence', 'status', 'evidence_event_ids', 'raw',
] as const satisfies ReadonlyArray<keyof AlertRow>;

/** How each `alerts` column is written (tsv.ts). */
export const ALERT_COLUMN_KINDS = {
  alert_id: 'string', time: 'time', updated_at: 'time', activity: 'string', severity_id: 'number', severity: 'string', title: 'string', detector: 'string', analytic: 'string',
  subject: 'string', credential_id: 'string', risk_score: 'number', confidence: 'number', status: 'string', evidence_event_ids: 'strings', raw: 'string',
} as const satisfies ColumnKinds<AlertRow>;

/** OCSF 1.x Detection Finding. */
export const DETECTION_FINDING_CLASS_UID = 2004;

// OCSF enum captions, for findings that carry only the *_id.
const SEVERITIES: Record<number, string> = { 0: 'Unknown', 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical', 6: 'Fatal', 99: 'Other' };
const ACTIVITIES: Record<number, string> = { 0: 'Unknown', 1: 'Create', 2: 'Update', 3: 'Close', 99: 'Other' };
const STATUSES: Record<number, string> = { 0: 'Unknown', 1: 'New', 2: 'In Progress', 3: 'Suppressed', 4: 'Resolved', 5: 'Archived', 99: 'Other' };

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}
function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}

/**
 * Maps an OCSF Detection Finding (the JSON text on portcullis.alerts) to an `alerts`
 * row, keeping the text itself in `raw`. The id is finding_info.uid, else the record
 * key; the version (updated_at) is finding_info.modified_time, else time. Evidence
 * event ids are read from each evidence's `data.event_id` / `data.event_ids` or `uid`.
 * Refuses (PCX_BAD_REQUEST) text that is not JSON, not class 2004, or has no id or time.
 */
export function alertToRow(text: string, key?: string | null): AlertRow {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PcxError('PCX_BAD_REQUEST', 'alert is not JSON');
  }
  const f = obj(parsed);
  if (num(f.class_uid) !== DETECTION_FINDING_CLASS_UID) {
    throw new PcxError('PCX_BAD_REQUEST', `alert is not an OCSF Detection Finding (class_uid ${str(f.class_uid) || 'missing'})`);
  }
  const info = obj(f.finding_info);
  const alertId = str(info.uid) || (key ?? '');
  if (!alertId) throw new PcxError('PCX_BAD_REQUEST', 'alert has no finding_info.uid');
  const time = num(f.time);
  if (time <= 0) throw new PcxError('PCX_BAD_REQUEST', 'alert has no time', { alert_id: alertId });
  const analytic = obj(info.analytic);
  const user = obj(obj(f.actor).user);
  const severityId = num(f.severity_id);
  const activityId = num(f.activity_id);
  const evidence: string[] = [];
  for (const ev of Array.isArray(f.evidences) ? f.evidences : []) {
    const e = obj(ev);
    const data = obj(e.data);
    if (typeof data.event_id === 'string') evidence.push(data.event_id);
    if (Array.isArray(data.event_ids)) for (const id of data.event_ids) if (typeof id === 'string') evidence.push(id);
    if (typeof e.uid === 'string') evidence.push(e.uid);
  }
  return {
    alert_id: alertId,
    time,
    updated_at: num(info.modified_time) || time,
    activity: str(f.activity_name) || (ACTIVITIES[activityId] ?? ''),
    severity_id: severityId,
    severity: str(f.severity) || (SEVERITIES[severityId] ?? ''),
    title: str(info.title),
    detector: str(analytic.name),
    analytic: str(analytic.uid) || str(analytic.name),
    subject: str(user.name) || str(user.uid),
    credential_id: str(user.credential_uid),
    risk_score: num(f.risk_score),
    confidence: num(f.confidence_score ?? f.confidence),
    status: str(f.status) || (STATUSES[num(f.status_id)] ?? ''),
    evidence_event_ids: [...new Set(evidence)],
    raw: text,
  };
}
