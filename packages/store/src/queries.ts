import type { ClickHouseClient } from '@clickhouse/client';
import { checkIdentifier } from './identifier.js';
import type { AlertRow } from './rows/alert-row.js';

/**
 * Small read helpers for the CLI and tests. Reads of the id-keyed tables use FINAL:
 * ReplacingMergeTree collapses duplicates only at merge time, and FINAL is what makes a
 * read exact before that.
 */

export type JsonRow = Record<string, unknown>;

/** Runs one SELECT (with optional `{name:Type}` parameters) and returns its rows as JSON objects. */
export async function query<T extends JsonRow = JsonRow>(client: ClickHouseClient, sql: string, params?: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow', ...(params ? { query_params: params } : {}) });
  return rs.json<T>();
}

/** Alert rows as stored; times come back as 'YYYY-MM-DD hh:mm:ss.sss' (UTC) strings. */
export type StoredAlert = Omit<AlertRow, 'time' | 'updated_at'> & { time: string; updated_at: string };

export interface RecentAlertsOptions {
  limit?: number;
  /** Only alerts updated at or after this time (ms). */
  sinceMs?: number;
  /** Only alerts at or above this OCSF severity_id. */
  minSeverityId?: number;
}

/** The latest version of each alert, most recently updated first. */
export function recentAlerts(client: ClickHouseClient, database: string, options: RecentAlertsOptions = {}): Promise<StoredAlert[]> {
  const db = checkIdentifier(database);
  return query<StoredAlert>(
    client,
    `SELECT * FROM ${db}.alerts FINAL
     WHERE updated_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND severity_id >= {minSeverity:UInt8}
     ORDER BY updated_at DESC, alert_id
     LIMIT {limit:UInt32}`,
    { since: options.sinceMs ?? 0, minSeverity: options.minSeverityId ?? 0, limit: options.limit ?? 50 },
  );
}

export interface SubjectEventsOptions {
  limit?: number;
  sinceMs?: number;
  untilMs?: number;
}

/** A subject's events, newest first, one row per event_id. */
export function eventsForSubject(client: ClickHouseClient, database: string, subject: string, options: SubjectEventsOptions = {}): Promise<JsonRow[]> {
  const db = checkIdentifier(database);
  return query(
    client,
    `SELECT * FROM ${db}.events FINAL
     WHERE subject = {subject:String}
       AND time >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
       AND time < fromUnixTimestamp64Milli({until:Int64}, 'UTC')
     ORDER BY time DESC, event_id
     LIMIT {limit:UInt32}`,
    { subject, since: options.sinceMs ?? 0, until: options.untilMs ?? 8_000_000_000_000, limit: options.limit ?? 100 },
  );
}

/** Exact row count of a table, duplicates collapsed (FINAL). */
export async function countFinal(client: ClickHouseClient, database: string, table: string, where = '1'): Promise<number> {
  const db = checkIdentifier(database);
  const rows = await query<{ n: string | number }>(client, `SELECT count() AS n FROM ${db}.${checkIdentifier(table, 'table')} FINAL WHERE ${where}`);
  return Number(rows[0]?.n ?? 0);
}
