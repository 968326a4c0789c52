import type { Cell } from './table.js';

/**
 * An alert as a SOC reads it in a terminal: when, how bad, what, who, with which
 * credential, the risk score and how many events back it. Built from either a row of
 * the store's alerts table or the OCSF Detection Finding on portcullis.alerts.
 */
export interface AlertView {
  id: string;
  time: string;
  severity: string;
  title: string;
  subject: string;
  credential: string;
  risk: number;
  evidence: number;
  /** Version of the alert (OCSF updates re-emit it); used to show updates once. */
  updatedAt: string;
}

export const ALERT_COLUMNS = ['time', 'severity', 'title', 'subject', 'credential', 'risk', 'evidence'] as const;
export const ALERT_RIGHT_ALIGN = [false, false, false, false, false, true, true] as const;

export function alertCells(a: AlertView): Cell[] {
  return [a.time, a.severity, a.title, a.subject, a.credential, a.risk, a.evidence];
}

/** The store query behind `portcullis alerts`; database is a checked identifier from the config schema. */
export function alertsSql(database: string, opts: { limit: number; updatedAfter?: string }): string {
  const where = opts.updatedAfter ? `WHERE updated_at > parseDateTime64BestEffort('${opts.updatedAfter.replace(/'/g, '')}', 3, 'UTC')` : '';
  return `SELECT * FROM (
  SELECT alert_id, formatDateTime(time, '%Y-%m-%d %H:%i:%S', 'UTC') AS time, severity, title, subject, credential_id,
         risk_score, length(evidence_event_ids) AS evidence, toString(updated_at) AS updated_at
  FROM ${database}.alerts FINAL ${where}
  ORDER BY updated_at DESC, alert_id LIMIT ${Math.max(1, Math.floor(opts.limit))}
) ORDER BY updated_at ASC, alert_id`;
}

/** One row of alertsSql's result, by column name. */
export function alertFromRow(columns: readonly string[], row: readonly Cell[]): AlertView {
  const get = (name: string): Cell => row[columns.indexOf(name)] ?? null;
  const str = (name: string): string => {
    const v = get(name);
    return v === null ? '' : String(v);
  };
  return {
    id: str('alert_id'),
    time: str('time'),
    severity: str('severity'),
    title: str('title'),
    subject: str('subject'),
    credential: str('credential_id'),
    risk: Number(get('risk_score') ?? 0),
    evidence: Number(get('evidence') ?? 0),
    updatedAt: str('updated_at'),
  };
}

/** An OCSF Detection Finding (JSON text) from portcullis.alerts, or undefined if it is not one. */
export function alertFromOcsf(json: string): AlertView | undefined {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (f.class_uid !== 2004) return undefined;
  const info = (f.finding_info ?? {}) as { uid?: string; title?: string; related_events?: unknown[]; modified_time?: number };
  const user = ((f.actor ?? {}) as { user?: { name?: string; credential_uid?: string } }).user ?? {};
  const time = typeof f.time === 'number' ? f.time : 0;
  const unmapped = (f.unmapped ?? {}) as { subject?: string };
  return {
    id: info.uid ?? '',
    time: new Date(time).toISOString().replace('T', ' ').slice(0, 19),
    severity: typeof f.severity === 'string' ? f.severity : '',
    title: info.title ?? '',
    subject: user.name ?? unmapped.subject ?? '',
    credential: user.credential_uid ?? '',
    risk: typeof f.risk_score === 'number' ? f.risk_score : 0,
    evidence: Array.isArray(info.related_events) ? info.related_events.length : 0,
    updatedAt: String(info.modified_time ?? time),
  };
}

/** One alert on one line, for --follow. */
export function alertLine(a: AlertView): string {
  return `${a.time}  ${a.severity.padEnd(8)}  ${a.title}  subject=${a.subject} credential=${a.credential} risk=${a.risk} evidence=${a.evidence}`;
}
