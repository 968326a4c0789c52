import { PcxError } from '@portcullis/common';
import { Action, ConnectionKind, IdentityKind, Phase, type IAccessEvent } from '@portcullis/proto';
import { enumName } from './enum-name.js';
import { manifestColumns, configColumns, type ConfigColumns, type ManifestColumns } from './drift-columns.js';
import type { ColumnKinds } from '../tsv.js';

/** The `events` columns of the first schema. Times are ms since epoch (DateTime64(3) reads integers as ms). */
interface EventCoreRow {
  event_id: string;
  request_id: string;
  session_id: string;
  time: number;
  phase: string;
  environment: string;
  gateway_id: string;
  subject: string;
  identity_kind: string;
  groups: string[];
  credential_id: string;
  issuer: string;
  on_behalf_of: string;
  peer_ip: string;
  peer_port: number;
  declared_host: string;
  container_id: string;
  process: string;
  user_agent: string;
  agent_config_hash: string;
  connection: string;
  connection_kind: string;
  target_host: string;
  target_db: string;
  command_text: string;
  fingerprint: string;
  statement_type: string;
  tables: string[];
  is_write: boolean;
  has_where: boolean;
  has_limit: boolean;
  risk_tags: string[];
  rows: number;
  bytes: number;
  duration_ms: number;
  error_code: string;
  pii: Record<string, number>;
  masked_fields: string[];
  destination: string;
  action: string;
  rule_id: string;
  reason: string;
  approval_id: string;
  decision_id: string;
  verdict_code: string;
  payload: string;
  payload_truncated: boolean;
}

/** One row of `events`, as JSONEachRow takes it: the flattened event plus its MANIFEST and CONFIG payloads (migration 2). */
export type EventRow = EventCoreRow & ManifestColumns & ConfigColumns;

/** Column order of the first schema's `events` columns: what a row of an event without a MANIFEST or CONFIG payload needs. */
export const EVENT_CORE_COLUMNS = [
  'event_id', 'request_id', 'session_id', 'time', 'phase', 'environment', 'gateway_id',
  'subject', 'identity_kind', 'groups', 'credential_id', 'issuer', 'on_behalf_of',
  'peer_ip', 'peer_port', 'declared_host', 'container_id', 'process', 'user_agent', 'agent_config_hash',
  'connection', 'connection_kind', 'target_host', 'target_db',
  'command_text', 'fingerprint', 'statement_type', 'tables', 'is_write', 'has_where', 'has_limit', 'risk_tags',
  'rows', 'bytes', 'duration_ms', 'error_code', 'pii', 'masked_fields', 'destination',
  'action', 'rule_id', 'reason', 'approval_id', 'decision_id', 'verdict_code',
  'payload', 'payload_truncated',
] as const satisfies ReadonlyArray<keyof EventRow>;

/** Column order of `events`, for formats without names (JSONCompactEachRow) and for INSERT column lists. */
export const EVENT_COLUMNS = [
  ...EVENT_CORE_COLUMNS,
  'manifest_present', 'manifest_config_hash', 'manifest_endpoints', 'manifest_env_names', 'manifest_env_sha256', 'manifest_env_secret',
  'manifest_reported_at', 'manifest_session_id',
  'config_present', 'config_gateway_id', 'config_old_digest', 'config_new_digest', 'config_changed', 'config_section_names', 'config_section_digests',
] as const satisfies ReadonlyArray<keyof EventRow>;

/** How each `events` column is written (tsv.ts). */
export const EVENT_COLUMN_KINDS = {
  event_id: 'string', request_id: 'string', session_id: 'string', time: 'time', phase: 'string', environment: 'string', gateway_id: 'string',
  subject: 'string', identity_kind: 'string', groups: 'strings', credential_id: 'string', issuer: 'string', on_behalf_of: 'string',
  peer_ip: 'string', peer_port: 'number', declared_host: 'string', container_id: 'string', process: 'string', user_agent: 'string', agent_config_hash: 'string',
  connection: 'string', connection_kind: 'string', target_host: 'string', target_db: 'string',
  command_text: 'string', fingerprint: 'string', statement_type: 'string', tables: 'strings', is_write: 'bool', has_where: 'bool', has_limit: 'bool', risk_tags: 'strings',
  rows: 'number', bytes: 'number', duration_ms: 'number', error_code: 'string', pii: 'counts', masked_fields: 'strings', destination: 'string',
  action: 'string', rule_id: 'string', reason: 'string', approval_id: 'string', decision_id: 'string', verdict_code: 'string',
  payload: 'string', payload_truncated: 'bool',
  manifest_present: 'bool', manifest_config_hash: 'string', manifest_endpoints: 'strings', manifest_env_names: 'strings', manifest_env_sha256: 'strings', manifest_env_secret: 'bools',
  manifest_reported_at: 'number', manifest_session_id: 'string',
  config_present: 'bool', config_gateway_id: 'string', config_old_digest: 'string', config_new_digest: 'string', config_changed: 'strings', config_section_names: 'strings', config_section_digests: 'strings',
} as const satisfies ColumnKinds<EventRow>;

const utf8 = new TextDecoder('utf-8');

/**
 * Flattens an AccessEvent into an `events` row. Enum columns hold enum names: phase and
 * action as in the contract (REQUEST, DENY …), identity and connection kinds in lower
 * case as the config spells them (agent, postgres …). The payload is the masked response
 * text, stored as UTF-8. A MANIFEST's and a CONFIG's payload fill their own columns
 * (drift-columns.ts), hashes only. Refuses (PCX_BAD_REQUEST) an event without an id or a time,
 * which is what random bytes that happen to parse as protobuf look like.
 */
export function eventToRow(e: IAccessEvent): EventRow {
  const eventId = e.eventId ?? '';
  const time = Number(e.time ?? 0);
  if (!eventId) throw new PcxError('PCX_BAD_REQUEST', 'access event has no event_id');
  if (!Number.isFinite(time) || time <= 0) throw new PcxError('PCX_BAD_REQUEST', 'access event has no time', { event_id: eventId });
  const id = e.identity ?? {};
  const o = e.origin ?? {};
  const c = e.connection ?? {};
  const cmd = e.command ?? {};
  const r = e.response ?? {};
  const v = e.verdict ?? {};
  const pii: Record<string, number> = {};
  for (const p of r.pii ?? []) if (p.detector) pii[p.detector] = (pii[p.detector] ?? 0) + (p.count ?? 0);
  return {
    event_id: eventId,
    request_id: e.requestId ?? '',
    session_id: e.sessionId ?? '',
    time,
    phase: enumName(Phase, e.phase),
    environment: e.environment ?? '',
    gateway_id: e.gatewayId ?? '',
    subject: id.subject ?? '',
    identity_kind: enumName(IdentityKind, id.kind, true),
    groups: id.groups ?? [],
    credential_id: id.credentialId ?? '',
    issuer: id.issuer ?? '',
    on_behalf_of: id.onBehalfOf ?? '',
    peer_ip: o.peerIp ?? '',
    peer_port: o.peerPort ?? 0,
    declared_host: o.declaredHost ?? '',
    container_id: o.containerId ?? '',
    process: o.process ?? '',
    user_agent: o.userAgent ?? '',
    agent_config_hash: o.agentConfigHash ?? '',
    connection: c.name ?? '',
    connection_kind: enumName(ConnectionKind, c.kind, true),
    target_host: c.targetHost ?? '',
    target_db: c.targetDb ?? '',
    command_text: cmd.text ?? '',
    fingerprint: cmd.fingerprint ?? '',
    statement_type: cmd.statementType ?? '',
    tables: cmd.tables ?? [],
    is_write: cmd.isWrite ?? false,
    has_where: cmd.hasWhere ?? false,
    has_limit: cmd.hasLimit ?? false,
    risk_tags: cmd.riskTags ?? [],
    rows: Number(r.rows ?? 0),
    bytes: Number(r.bytes ?? 0),
    duration_ms: r.durationMs ?? 0,
    error_code: r.errorCode ?? '',
    pii,
    masked_fields: r.maskedFields ?? [],
    destination: r.destination ?? '',
    action: enumName(Action, v.action),
    rule_id: v.ruleId ?? '',
    reason: v.reason ?? '',
    approval_id: v.approvalId ?? '',
    decision_id: v.decisionId ?? '',
    verdict_code: v.code ?? '',
    payload: e.payload && e.payload.length > 0 ? utf8.decode(e.payload) : '',
    payload_truncated: e.payloadTruncated ?? false,
    ...manifestColumns(e.manifest),
    ...configColumns(e.configChange),
  };
}
