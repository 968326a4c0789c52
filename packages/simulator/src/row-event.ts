import { Action, ConnectionKind, IdentityKind, Phase, type IAccessEvent } from '@portcullis/proto';

/**
 * An `events` row read back from ClickHouse → the AccessEvent it was stored from, for
 * replays and backtests. Takes rows as JSONEachRow gives them or as the CLI's store
 * reader flattens them: arrays and maps as values or JSON text, 64-bit numbers as
 * numbers or strings, `time` as ms or as the DateTime64 text 'YYYY-MM-DD hh:mm:ss.sss'
 * (UTC), or a `time_ms` column. Enum columns hold names (REQUEST, agent, postgres).
 * A MANIFEST's AgentManifest and a CONFIG's ConfigChange come back from their columns
 * (store migration 2) when the row says it had one.
 */
export type StoredRow = Readonly<Record<string, unknown>>;

export function rowToEvent(row: StoredRow): IAccessEvent {
  const s = (k: string): string => {
    const v = row[k];
    return v === null || v === undefined ? '' : String(v);
  };
  const n = (k: string): number => {
    const v = row[k];
    const x = typeof v === 'number' ? v : Number(v ?? 0);
    return Number.isFinite(x) ? x : 0;
  };
  const b = (k: string): boolean => row[k] === true || row[k] === 1 || row[k] === 'true' || row[k] === '1';
  const list = (k: string): string[] => {
    const v = parsed(row[k]);
    return Array.isArray(v) ? v.map(String) : [];
  };
  const flags = (k: string): boolean[] => {
    const v = parsed(row[k]);
    return Array.isArray(v) ? v.map((x) => x === true || x === 1 || x === 'true') : [];
  };
  const pii = parsed(row.pii);
  const piiCounts = pii && typeof pii === 'object' && !Array.isArray(pii) ? Object.entries(pii as Record<string, unknown>).map(([detector, count]) => ({ detector, count: Number(count) })) : [];
  const phase = enumValue(Phase, s('phase'));
  const e: IAccessEvent = {
    eventId: s('event_id'),
    requestId: s('request_id'),
    sessionId: s('session_id'),
    time: row.time_ms !== undefined ? n('time_ms') : timeOf(row.time),
    phase,
    environment: s('environment'),
    gatewayId: s('gateway_id'),
    identity: { subject: s('subject'), kind: enumValue(IdentityKind, s('identity_kind')), groups: list('groups'), credentialId: s('credential_id'), issuer: s('issuer'), onBehalfOf: s('on_behalf_of') },
    origin: { peerIp: s('peer_ip'), peerPort: n('peer_port'), declaredHost: s('declared_host'), containerId: s('container_id'), process: s('process'), userAgent: s('user_agent'), agentConfigHash: s('agent_config_hash') },
    connection: { name: s('connection'), kind: enumValue(ConnectionKind, s('connection_kind')), targetHost: s('target_host'), targetDb: s('target_db') },
    command: {
      text: s('command_text'),
      fingerprint: s('fingerprint'),
      statementType: s('statement_type'),
      tables: list('tables'),
      isWrite: b('is_write'),
      hasWhere: b('has_where'),
      hasLimit: b('has_limit'),
      riskTags: list('risk_tags'),
    },
    verdict: { action: enumValue(Action, s('action')), ruleId: s('rule_id'), reason: s('reason'), approvalId: s('approval_id'), decisionId: s('decision_id'), code: s('verdict_code') },
  };
  if (phase === Phase.RESPONSE) {
    e.response = { rows: n('rows'), bytes: n('bytes'), durationMs: n('duration_ms'), errorCode: s('error_code'), pii: piiCounts, maskedFields: list('masked_fields'), destination: s('destination') };
  }
  // Rows stored before the store kept these payloads have no *_present flag: their
  // MANIFEST and CONFIG events come back without one, never with an empty one.
  if (b('manifest_present')) {
    const names = list('manifest_env_names');
    const hashes = list('manifest_env_sha256');
    const secret = flags('manifest_env_secret');
    e.manifest = {
      agentConfigHash: s('manifest_config_hash'),
      endpoints: list('manifest_endpoints'),
      env: names.map((name, i) => ({ name, valueSha256: hashes[i] ?? '', secretBearing: secret[i] ?? false })),
      reportedAt: n('manifest_reported_at'),
      sessionId: s('manifest_session_id'),
    };
  }
  if (b('config_present')) {
    const digests = list('config_section_digests');
    e.configChange = {
      gatewayId: s('config_gateway_id'),
      oldDigest: s('config_old_digest'),
      newDigest: s('config_new_digest'),
      changed: list('config_changed'),
      sections: list('config_section_names').map((name, i) => ({ name, digest: digests[i] ?? '' })),
    };
  }
  if (typeof row.payload === 'string' && row.payload !== '') e.payload = Buffer.from(row.payload, 'utf8');
  if (row.payload_truncated !== undefined) e.payloadTruncated = b('payload_truncated');
  return e;
}

function parsed(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function timeOf(v: unknown): number {
  if (typeof v === 'number') return v;
  const text = String(v ?? '');
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? ms : 0;
}

/** The number of an enum name, case-insensitive; 0 (unspecified) when unknown or empty. */
function enumValue(values: Readonly<Record<string, number | string>>, name: string): number {
  if (!name) return 0;
  const v = values[name] ?? values[name.toUpperCase()];
  return typeof v === 'number' ? v : 0;
}
