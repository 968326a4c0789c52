import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { embeddedConnection } from './client.js';
import { checkIdentifier } from './identifier.js';
import { APPROVAL_COLUMNS, APPROVAL_COLUMN_KINDS, type ApprovalRow } from './rows/approval-row.js';
import { ALERT_COLUMNS, ALERT_COLUMN_KINDS, type AlertRow } from './rows/alert-row.js';
import { CHANGE_COLUMNS, CHANGE_COLUMN_KINDS, type ChangeRow } from './rows/change-row.js';
import { DECISION_COLUMNS, DECISION_COLUMN_KINDS, type DecisionRow } from './rows/decision-row.js';
import { EVENT_COLUMNS, EVENT_COLUMN_KINDS, EVENT_CORE_COLUMNS, type EventRow } from './rows/event-row.js';
import { columnsInUse, encodeTsv, tsvColumns, type TsvColumn } from './tsv.js';
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

const COLUMNS: { readonly [T in SinkTable]: readonly TsvColumn[] } = {
  events: tsvColumns(EVENT_COLUMNS, EVENT_COLUMN_KINDS),
  alerts: tsvColumns(ALERT_COLUMNS, ALERT_COLUMN_KINDS),
  decisions: tsvColumns(DECISION_COLUMNS, DECISION_COLUMN_KINDS),
  approvals: tsvColumns(APPROVAL_COLUMNS, APPROVAL_COLUMN_KINDS),
  changes: tsvColumns(CHANGE_COLUMNS, CHANGE_COLUMN_KINDS),
};
const EVENT_CORE = tsvColumns(EVENT_CORE_COLUMNS, EVENT_COLUMN_KINDS);

/**
 * Inserts rows into `<database>.<table>` in one statement (events: two, when a batch
 * mixes MANIFEST/CONFIG events with others) and resolves only when the engine has
 * accepted every row. Rejects with the engine's error (ClickHouseError for a
 * server answer) and leaves retrying to the caller.
 *
 * The payload is TabSeparated, written by hand in one pass (tsv.ts), with an explicit
 * column list that leaves out the columns no row of the batch fills: an omitted column
 * stores its default, which is what the empty value would have stored, and the engine
 * parses fewer fields. Events go through `events_ingest` (migration 3), whose plain
 * String columns parse cheaper than `events`' LowCardinality ones. Same payload and SQL
 * on the embedded engine and on a server.
 */
export async function insertRows<T extends SinkTable>(client: ClickHouseClient, database: string, table: T, rows: ReadonlyArray<TableRows[T]>): Promise<void> {
  if (rows.length === 0) return;
  if (table === 'events') {
    // Through the Null table that takes events in plain types (migration 3).
    const target = `${checkIdentifier(database)}.events_ingest`;
    // Config drift's columns are empty on all but MANIFEST and CONFIG events (a few per
    // session); sending them for every row cost a fifth of the insert rate. Rows without
    // them go with the first schema's columns (the rest take their defaults) and the few
    // with them in a second statement. Under at-least-once, a failure between the two
    // only means the retry stores some rows twice, which FINAL collapses.
    const events = rows as ReadonlyArray<EventRow>;
    const plain = events.filter((r) => !r.manifest_present && !r.config_present);
    if (plain.length > 0 && plain.length < events.length) {
      await insertTsv(client, target, EVENT_CORE, plain, INSERT_SETTINGS);
      await insertTsv(client, target, COLUMNS.events, events.filter((r) => r.manifest_present || r.config_present), INSERT_SETTINGS);
      return;
    }
    await insertTsv(client, target, plain.length > 0 ? EVENT_CORE : COLUMNS.events, events, INSERT_SETTINGS);
    return;
  }
  await insertTsv(client, `${checkIdentifier(database)}.${table}`, COLUMNS[table], rows, INSERT_SETTINGS);
}

/**
 * Writes `rows` into `target` (`db.table`) as TabSeparated with the columns of `columns`
 * that some row fills. The embedded engine takes the payload as one buffer on its own
 * insert (no per-row stream, no SQL string around it, parsed on the engine's threads); a
 * server gets the same bytes as the body of an HTTP INSERT.
 */
export async function insertTsv(client: ClickHouseClient, target: string, columns: readonly TsvColumn[], rows: readonly object[], settings: Readonly<Record<string, number>> = {}): Promise<void> {
  if (rows.length === 0) return;
  const used = columnsInUse(columns, rows);
  const body = encodeTsv(used, rows);
  const names = used.map((c) => c.name);
  const chdb = embeddedConnection(client);
  if (chdb) {
    await chdb.chdb.rawInsert({ table: target, values: body, format: 'TabSeparated', columns: names, settings: { ...settings } });
    return;
  }
  await client.insert({
    table: target,
    values: Readable.from([body], { objectMode: false }),
    format: 'TabSeparated',
    columns: names as [string, ...string[]],
    clickhouse_settings: settings,
  });
}
