import { decodeDecision, decodeEvent } from '@portcullis/proto';
import { alertToRow, approvalToRow, changeToRow, decisionToRow, eventToRow, undecodableChangeRow, type SinkTable, type TableRows } from '@portcullis/store';
import type { BusRecord } from '@portcullis/bus';

/**
 * What one record becomes: a row for its table, nothing (a record with no row), or a dead
 * letter with the reason — and, where the record's mere presence on the topic matters
 * (an unreadable change request still replaces its key's approval), a row for it too.
 */
export type Decoded = { kind: 'row'; row: TableRows[SinkTable] } | { kind: 'skip'; reason: string } | { kind: 'dead'; reason: string; row?: TableRows[SinkTable] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one record of a source topic into a row of its table. Pure; never throws: bytes
 * that are not the topic's contract (bad protobuf, bad JSON, missing ids) come back as
 * a dead letter with the reason, so the caller can route them and carry on.
 */
export function decodeRecord(table: SinkTable, r: BusRecord): Decoded {
  try {
    const key = r.key ? r.key.toString('utf8') : null;
    switch (table) {
      case 'events':
        if (!r.value) return { kind: 'dead', reason: 'events record without a value' };
        return { kind: 'row', row: eventToRow(decodeEvent(r.value)) };
      case 'alerts':
        if (!r.value) return { kind: 'dead', reason: 'alerts record without a value' };
        return { kind: 'row', row: alertToRow(utf8.decode(r.value), key) };
      case 'decisions':
        // A null value is a tombstone: the lift of the keyed subject, stored as such.
        return { kind: 'row', row: decisionToRow(key, r.value ? decodeDecision(r.value) : null, { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp }) };
      case 'approvals':
        // Compaction's delete marker on approvals carries nothing to record.
        if (!r.value) return { kind: 'skip', reason: 'tombstone' };
        return { kind: 'row', row: approvalToRow(r.value, key, r.timestamp) };
      case 'changes': {
        // Every record, tombstones included: a backtest folds them in order as the live view does.
        const at = { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp };
        try {
          return { kind: 'row', row: changeToRow(key ?? '', r.value, at) };
        } catch (e) {
          return { kind: 'dead', reason: `change is not a ChangeRequest: ${e instanceof Error ? e.message : String(e)}`, row: undecodableChangeRow(key ?? '', at) };
        }
      }
    }
  } catch (e) {
    return { kind: 'dead', reason: e instanceof Error ? e.message : String(e) };
  }
}
