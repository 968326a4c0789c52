import { IdentityKind, ConnectionKind, type IAccessEvent } from '@portcullis/proto';
import type { AnalyticKind, Finding, SeverityName } from '../scorer.js';

/**
 * OCSF 1.3 Detection Finding (class 2004) for one finding and the event that triggered
 * it. Pure, so the same finding always renders the same JSON. Deliberately leaves out
 * the command text and the response payload: an alert travels to a SOC and must not
 * carry data the agent read (the event ids point back to the audited record instead).
 */
export const OCSF_VERSION = '1.3.0';

export interface OcsfOptions {
  alertId: string;
  productVersion: string;
  /**
   * What this record does to the alert `alertId`: opens it (default), updates it (a risk
   * episode that grew) or closes it (the episode decayed). All three share the uid, so a
   * SOC tool folds them into one alert.
   */
  activity?: AlertActivity;
}

export type AlertActivity = 'create' | 'update' | 'close';

const ACTIVITY: Record<AlertActivity, { id: number; name: string; statusId: number; status: string }> = {
  create: { id: 1, name: 'Create', statusId: 1, status: 'New' },
  update: { id: 2, name: 'Update', statusId: 2, status: 'In Progress' },
  close: { id: 3, name: 'Close', statusId: 4, status: 'Resolved' },
};

const SEVERITY: Record<SeverityName, { id: number; name: string }> = {
  info: { id: 1, name: 'Informational' },
  low: { id: 2, name: 'Low' },
  medium: { id: 3, name: 'Medium' },
  high: { id: 4, name: 'High' },
  critical: { id: 5, name: 'Critical' },
  fatal: { id: 6, name: 'Fatal' },
};

const ANALYTIC: Record<AnalyticKind, { id: number; name: string }> = {
  rule: { id: 1, name: 'Rule' },
  behavioral: { id: 2, name: 'Behavioral' },
  statistical: { id: 3, name: 'Statistical' },
  learning: { id: 4, name: 'Learning (ML/DL)' },
};

export type DetectionFinding = Record<string, unknown> & {
  class_uid: 2004;
  finding_info: { uid: string; title: string; [field: string]: unknown };
};

export function toDetectionFinding(f: Finding, e: IAccessEvent, o: OcsfOptions): DetectionFinding {
  const severity = SEVERITY[f.severity];
  const confidence = f.confidence >= 0.8 ? { id: 3, name: 'High' } : f.confidence >= 0.5 ? { id: 2, name: 'Medium' } : { id: 1, name: 'Low' };
  const identity = e.identity ?? {};
  const origin = e.origin ?? {};
  const endpoint = {
    ip: origin.peerIp || undefined,
    port: origin.peerPort || undefined,
    hostname: origin.declaredHost || undefined,
    container: origin.containerId ? { uid: origin.containerId } : undefined,
  };
  const kind = userKind(identity.kind ?? IdentityKind.IDENTITY_KIND_UNSPECIFIED);
  const analytic = ANALYTIC[f.analytic];
  const activity = ACTIVITY[o.activity ?? 'create'];
  return {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: 2,
    category_name: 'Findings',
    class_uid: 2004,
    class_name: 'Detection Finding',
    type_uid: 200400 + activity.id,
    type_name: `Detection Finding: ${activity.name}`,
    time: f.lastSeen,
    message: f.title,
    severity_id: severity.id,
    severity: severity.name,
    risk_score: Math.round(f.score * 100),
    confidence_id: confidence.id,
    confidence: confidence.name,
    confidence_score: Math.round(f.confidence * 100),
    status_id: activity.statusId,
    status: activity.status,
    finding_info: {
      uid: o.alertId,
      title: f.title,
      desc: f.description,
      analytic: { name: f.detector, type_id: analytic.id, type: analytic.name, uid: f.detector },
      types: [f.detector],
      first_seen_time: f.firstSeen,
      last_seen_time: f.lastSeen,
      modified_time: o.activity && o.activity !== 'create' ? f.lastSeen : undefined,
      related_events: f.eventIds.map((uid) => ({ uid })),
    },
    actor: {
      user: {
        name: identity.subject || undefined,
        uid: identity.subject || undefined,
        type: kind.name,
        type_id: kind.id,
        credential_uid: identity.credentialId || undefined,
        groups: identity.groups?.length ? identity.groups.map((name) => ({ name })) : undefined,
      },
      session: e.sessionId ? { uid: e.sessionId } : undefined,
    },
    src_endpoint: endpoint,
    device: { ip: endpoint.ip, hostname: endpoint.hostname, container: endpoint.container, type_id: 0, type: 'Unknown' },
    resources: resourcesOf(e),
    evidences: [
      {
        data: { event_ids: f.eventIds, subject: `${f.subject.kind}:${f.subject.value}` },
        src_endpoint: endpoint,
        actor: { user: { name: identity.subject || undefined, credential_uid: identity.credentialId || undefined } },
      },
    ],
    metadata: {
      uid: o.alertId,
      product: { name: 'Portcullis', vendor_name: 'Portcullis', version: o.productVersion },
      version: OCSF_VERSION,
      log_name: 'portcullis.alerts',
      original_time: String(f.lastSeen),
    },
    unmapped: {
      detector: f.detector,
      score: f.score,
      subject: `${f.subject.kind}:${f.subject.value}`,
      environment: e.environment || undefined,
      gateway_id: e.gatewayId || undefined,
      block: f.block ? { subject: `${f.block.subject.kind}:${f.block.subject.value}`, ttl_ms: f.block.ttlMs, reason: f.block.reason } : undefined,
      ...f.details,
    },
  };
}

/**
 * The connection the command ran on, then each table it touched (grouped under that
 * connection), so a SOC can pivot from an alert to the data at stake.
 */
function resourcesOf(e: IAccessEvent): Array<Record<string, unknown>> {
  const c = e.connection;
  if (!c?.name) return [];
  const out: Array<Record<string, unknown>> = [
    { name: c.name, type: connectionKind(c.kind ?? 0), data: { target_host: c.targetHost || undefined, target_db: c.targetDb || undefined } },
  ];
  for (const table of e.command?.tables ?? []) out.push({ name: table, type: 'table', uid: `${c.name}/${table}`, group: { name: c.name } });
  return out;
}

/** OCSF user type: 1 User, 3 System, 99 Other (an AI agent has no OCSF type of its own). */
function userKind(k: number): { id: number; name: string } {
  switch (k) {
    case IdentityKind.HUMAN:
      return { id: 1, name: 'User' };
    case IdentityKind.SERVICE:
      return { id: 3, name: 'System' };
    case IdentityKind.AGENT:
      return { id: 99, name: 'Agent' };
    default:
      return { id: 0, name: 'Unknown' };
  }
}

function connectionKind(k: number): string {
  switch (k) {
    case ConnectionKind.POSTGRES:
      return 'postgres';
    case ConnectionKind.MYSQL:
      return 'mysql';
    case ConnectionKind.HTTP:
      return 'http';
    case ConnectionKind.SSH:
      return 'ssh';
    default:
      return 'unknown';
  }
}
