import type { IAccessEvent } from '@portcullis/proto';
import { rowToEvent } from './row-event.js';

/** A read-only SQL runner returning columns and rows (the CLI's store reader has this shape). */
export type QueryRows = (sql: string) => Promise<{ columns: ReadonlyArray<{ name: string }>; rows: ReadonlyArray<ReadonlyArray<unknown>> }>;

const COLUMNS = [
  'event_id', 'request_id', 'session_id', 'phase', 'environment', 'gateway_id', 'subject', 'identity_kind', 'groups', 'credential_id', 'issuer', 'on_behalf_of',
  'peer_ip', 'peer_port', 'declared_host', 'container_id', 'process', 'user_agent', 'agent_config_hash', 'connection', 'connection_kind', 'target_host', 'target_db',
  'command_text', 'fingerprint', 'statement_type', 'tables', 'is_write', 'has_where', 'has_limit', 'risk_tags', 'rows', 'bytes', 'duration_ms', 'error_code', 'pii',
  'masked_fields', 'destination', 'action', 'rule_id', 'reason', 'approval_id', 'decision_id', 'verdict_code',
  // Config drift's inputs (store migration 2).
  'manifest_present', 'manifest_config_hash', 'manifest_endpoints', 'manifest_env_names', 'manifest_env_sha256', 'manifest_env_secret', 'manifest_reported_at', 'manifest_session_id',
  'config_present', 'config_gateway_id', 'config_old_digest', 'config_new_digest', 'config_changed', 'config_section_names', 'config_section_digests',
];

/**
 * Stored events in [from, to), oldest first (`events FINAL`, so each event once), read in
 * pages by (time, event_id) so a long window never sits in memory as one result. The
 * payload is left out: no detector reads it.
 */
export async function* readStoredEvents(query: QueryRows, database: string, from: number, to: number, pageSize = 20_000): AsyncGenerator<IAccessEvent> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new Error(`bad database name ${JSON.stringify(database)}`);
  let after: { t: number; id: string } | undefined;
  for (;;) {
    const cursor = after ? `AND (toUnixTimestamp64Milli(time), event_id) > (${after.t}, '${after.id.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}')` : '';
    const sql =
      `SELECT ${COLUMNS.join(', ')}, toUnixTimestamp64Milli(time) AS time_ms FROM ${database}.events FINAL ` +
      `WHERE time >= fromUnixTimestamp64Milli(${Math.floor(from)}, 'UTC') AND time < fromUnixTimestamp64Milli(${Math.floor(to)}, 'UTC') ${cursor} ` +
      `ORDER BY time_ms, event_id LIMIT ${pageSize}`;
    const r = await query(sql);
    const names = r.columns.map((c) => c.name);
    for (const cells of r.rows) {
      const row: Record<string, unknown> = {};
      names.forEach((name, i) => (row[name] = cells[i]));
      const e = rowToEvent(row);
      after = { t: Number(e.time), id: e.eventId ?? '' };
      yield e;
    }
    if (r.rows.length < pageSize) return;
  }
}
