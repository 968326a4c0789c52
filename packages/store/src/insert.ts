import type { ClickHouseClient } from '@clickhouse/client';
import { embeddedConnection } from './client.js';
import { checkIdentifier } from './identifier.js';
import { APPROVAL_COLUMNS, type ApprovalRow } from './rows/approval-row.js';
import { ALERT_COLUMNS, type AlertRow } from './rows/alert-row.js';
import { CHANGE_COLUMNS, type ChangeRow } from './rows/change-row.js';
import { DECISION_COLUMNS, type DecisionRow } from './rows/decision-row.js';
import { EVENT_COLUMNS, EVENT_CORE_COLUMNS, type EventRow } from './rows/event-row.js';
import type { SinkTable } from './tables.js';

/** The row type each sink table takes. */
export interface TableRows {
  events: EventRow;
  alerts: AlertRow;
  decisions: DecisionRow;
  approvals: ApprovalRow;
  changes: ChangeRow;
}

export const TABLE_COLUMNS: { readonly [T in SinkTable]: ReadonlyArray<keyof TableRows[T] & string> } = {
  events: EVENT_COLUMNS,
  alerts: ALERT_COLUMNS,
  decisions: DECISION_COLUMNS,
  approvals: APPROVAL_COLUMNS,
  changes: CHANGE_COLUMNS,
};

// Collapsing duplicates inside each inserted block buys nothing (reads use FINAL) and
// costs about a fifth of the insert.
const INSERT_SETTINGS = { optimize_on_insert: 0 } as const;

/**
 * Inserts rows into `<database>.<table>` in one statement (events: two, when a batch
 * mixes MANIFEST/CONFIG events with others) and resolves only when the engine has
 * accepted every row. Rejects with the engine's error (ClickHouseError for a
 * server answer) and leaves retrying to the caller.
 *
 * The format is JSONCompactEachRow with an explicit column list: values only, no keys,
 * which makes the payload about a third of JSONEachRow's for events and the insert
 * correspondingly faster, on the server and on chdb alike (TSV was measured no faster to
 * parse and slower to encode).
 */
export async function insertRows<T extends SinkTable>(client: ClickHouseClient, database: string, table: T, rows: ReadonlyArray<TableRows[T]>): Promise<void> {
  if (rows.length === 0) return;
  if (table === 'events') {
    // Config drift's columns are empty on all but MANIFEST and CONFIG events (a few per
    // session); sending them for every row cost a fifth of the insert rate. Rows without
    // them go with the first schema's columns (the rest take their defaults) and the few
    // with them in a second statement. Under at-least-once, a failure between the two
    // only means the retry stores some rows twice, which FINAL collapses.
    const events = rows as ReadonlyArray<EventRow>;
    const plain = events.filter((r) => !r.manifest_present && !r.config_present);
    if (plain.length > 0 && plain.length < events.length) {
      await insertValues(client, database, table, EVENT_CORE_COLUMNS, plain);
      await insertValues(client, database, table, EVENT_COLUMNS, events.filter((r) => r.manifest_present || r.config_present));
      return;
    }
    await insertValues(client, database, table, plain.length > 0 ? EVENT_CORE_COLUMNS : EVENT_COLUMNS, events);
    return;
  }
  await insertValues(client, database, table, TABLE_COLUMNS[table], rows);
}

async function insertValues<R>(client: ClickHouseClient, database: string, table: SinkTable, columns: ReadonlyArray<keyof R & string>, rows: readonly R[]): Promise<void> {
  const values = rows.map((r) => columns.map((c) => r[c]));
  const target = `${checkIdentifier(database)}.${table}`;
  const chdb = embeddedConnection(client);
  if (chdb) {
    // The embedded engine's own insert takes the payload as one buffer (no per-row stream,
    // no SQL string around it) and parses it on its own threads: about half the CPU of the
    // client path for the same rows. Same format, same columns, same settings.
    let body = '';
    for (const v of values) body += JSON.stringify(v) + '\n';
    await chdb.chdb.rawInsert({ table: target, values: Buffer.from(body), format: 'JSONCompactEachRow', columns, settings: INSERT_SETTINGS });
    return;
  }
  await client.insert({
    table: target,
    values,
    format: 'JSONCompactEachRow',
    columns: [...columns] as string[] as [string, ...string[]],
    clickhouse_settings: INSERT_SETTINGS,
  });
}
