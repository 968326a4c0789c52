import type { ClickHouseClient } from '@clickhouse/client';
import { checkIdentifier } from './identifier.js';
import type { SinkTable } from './tables.js';

/**
 * Inserts rows into `<database>.<table>` as JSONEachRow, one statement, and resolves
 * only when the engine has accepted every row. Rejects with the engine's error
 * (ClickHouseError for a server answer) and leaves retrying to the caller.
 */
export async function insertRows(client: ClickHouseClient, database: string, table: SinkTable, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({ table: `${checkIdentifier(database)}.${table}`, values: rows as object[], format: 'JSONEachRow' });
}
