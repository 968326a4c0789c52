import { PcxError } from '@portcullis/common';
import type { Cell } from '../output/table.js';

/**
 * Analyst queries on the event store. The shape of @clickhouse/client's query() that this
 * needs, so the same code runs on a server client, the embedded chdb client, and tests.
 */
export interface StoreQueryable {
  query(params: { query: string; format: 'JSONCompact'; clickhouse_settings?: Record<string, string | number> }): Promise<{ json(): Promise<unknown> }>;
}

export interface StoreResult {
  columns: Array<{ name: string; type: string }>;
  rows: Cell[][];
}

/**
 * Runs one read-only query (readonly=1: an analyst's typo cannot drop the audit trail)
 * and returns columns in order with plain cells. Give it a client of its own: chdb's
 * connection applies clickhouse_settings as session-wide SETs, so readonly=1 would stay
 * on that connection and refuse the sink's inserts (found the hard way; over HTTP the
 * settings are per request).
 */
export async function runStoreQuery(client: StoreQueryable, sql: string): Promise<StoreResult> {
  let body: { meta?: Array<{ name: string; type: string }>; data?: unknown[][] };
  try {
    const rs = await client.query({ query: sql, format: 'JSONCompact', clickhouse_settings: { readonly: '1' } });
    body = (await rs.json()) as typeof body;
  } catch (e) {
    const message = firstLine((e as Error).message);
    // chdb: another process holds this data directory.
    if (/Cannot lock file|Failed to create connection/i.test(message)) {
      throw new PcxError('PCX_STORE_UNAVAILABLE', `store: the embedded store is in use by another process (${message})`, {}, { cause: e });
    }
    throw new PcxError('PCX_BAD_REQUEST', `store: ${message}`, {}, { cause: e });
  }
  return {
    columns: (body.meta ?? []).map((m) => ({ name: m.name, type: m.type })),
    rows: (body.data ?? []).map((r) => r.map(toCell)),
  };
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  return JSON.stringify(v);
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? s;
}

/** ClickHouse types that read as numbers, for right-aligned columns. */
export function isNumericType(type: string): boolean {
  return /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/.test(type);
}
