import { decodeDecision } from '@portcullis/proto';

/** An alert as the evaluator reads it back from portcullis.alerts (OCSF Detection Finding JSON). */
export interface SeenAlert {
  id: string;
  detector: string;
  title: string;
  severityId: number;
  severity: string;
  /** The agent identity on the triggering event (actor.user.name). */
  actor: string;
  credentialId: string;
  /** Event time of the latest evidence. */
  time: number;
  firstSeen: number;
  eventIds: string[];
  /** The subject the finding asked to block, if any. */
  blockSubject?: string;
  /** Activity: Create, Update, Close (risk aggregation updates one alert). */
  activity: string;
}

export interface SeenDecision {
  id: string;
  subject: string;
  source: string;
  alertId: string;
  createdAt: number;
  expiresAt: number;
}

interface OcsfShape {
  activity_name?: string;
  time?: number;
  severity_id?: number;
  severity?: string;
  finding_info?: { uid?: string; title?: string; analytic?: { name?: string }; first_seen_time?: number; last_seen_time?: number; related_events?: Array<{ uid?: string }> };
  actor?: { user?: { name?: string; credential_uid?: string } };
  unmapped?: { detector?: string; block?: { subject?: string } };
}

export function parseAlert(value: Buffer | string): SeenAlert | undefined {
  let o: OcsfShape;
  try {
    o = JSON.parse(typeof value === 'string' ? value : value.toString('utf8')) as OcsfShape;
  } catch {
    return undefined;
  }
  const fi = o.finding_info ?? {};
  const id = fi.uid ?? '';
  if (!id) return undefined;
  const block = o.unmapped?.block?.subject;
  return {
    id,
    detector: o.unmapped?.detector ?? fi.analytic?.name ?? '',
    title: fi.title ?? '',
    severityId: o.severity_id ?? 0,
    severity: o.severity ?? '',
    actor: o.actor?.user?.name ?? '',
    credentialId: o.actor?.user?.credential_uid ?? '',
    time: Number(fi.last_seen_time ?? o.time ?? 0),
    firstSeen: Number(fi.first_seen_time ?? o.time ?? 0),
    eventIds: (fi.related_events ?? []).map((e) => e.uid ?? '').filter((x) => x !== ''),
    activity: o.activity_name ?? 'Create',
    ...(block ? { blockSubject: block } : {}),
  };
}

export function parseDecision(value: Buffer | null): SeenDecision | undefined {
  if (!value) return undefined;
  try {
    const d = decodeDecision(value);
    return { id: d.decisionId, subject: d.subject, source: d.source, alertId: d.alertId, createdAt: Number(d.createdAt), expiresAt: Number(d.expiresAt) };
  } catch {
    return undefined;
  }
}

/** One entry per alert id (the latest version: updates re-emit an alert under its id). */
export function latestAlerts(alerts: readonly SeenAlert[]): SeenAlert[] {
  const byId = new Map<string, SeenAlert>();
  for (const a of alerts) {
    const prev = byId.get(a.id);
    if (!prev || a.time >= prev.time) byId.set(a.id, prev ? { ...a, firstSeen: Math.min(prev.firstSeen, a.firstSeen) } : a);
  }
  return [...byId.values()].sort((a, b) => a.time - b.time || a.id.localeCompare(b.id));
}
