import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainPending } from 'chdb';
import { parseConfig } from '@portcullis/common';
import { decodeEvent, encodeEvent, pb, Phase } from '@portcullis/proto';
import { changeToRow, createStoreClient, eventToRow, insertRows, migrate, type ClickHouseClient } from '@portcullis/store';
import { backtestEvents, readStoredChanges, readStoredEvents, type QueryRows } from '../src/index.js';
import { changeRequest, HOUR, manifestEvent, configEvent, NEW_ENDPOINT, T0 } from './fixtures/drift.js';

// Config drift replayed from the store: events and change records written as the sink
// writes them (the store's row mappers) into the real chdb engine, read back by the
// backtest readers, and scored by the real detectors.
const dir = mkdtempSync(join(tmpdir(), 'pcx-stored-drift-'));
const config = parseConfig({ store: { path: join(dir, 'chdb'), database: `drift_${Date.now().toString(36)}` } });
const db = config.store.database;
let client: ClickHouseClient;

const query: QueryRows = async (sql) => {
  const rs = await client.query({ query: sql, format: 'JSONCompact' });
  const body = (await rs.json()) as unknown as { meta: Array<{ name: string }>; data: unknown[][] };
  return { columns: body.meta, rows: body.data };
};

/** Writes change records as the sink does: one row per record at its topic position, `recorded` ms after T0. */
async function storeChanges(records: Array<{ key: string; value: Buffer | null; recorded: number; offset: number }>): Promise<void> {
  await insertRows(
    client,
    db,
    'changes',
    records.map((r) => changeToRow(r.key, r.value, { topic: 'portcullis.changes', partition: 0, offset: String(r.offset), timestamp: T0 + r.recorded })),
  );
}

async function storedEvents(from: number, to: number) {
  const out = [];
  for await (const e of readStoredEvents(query, db, from, to)) out.push(e);
  return out;
}

beforeAll(async () => {
  client = createStoreClient(config.store);
  await migrate(client, db);
});

afterAll(async () => {
  await client?.close();
  await drainPending();
  rmSync(dir, { recursive: true, force: true });
});

describe('config drift from the store', () => {
  it('reads MANIFEST and CONFIG events back with their payloads, as they were published', async () => {
    const manifest = manifestEvent('agent:roundtrip', T0 + 5, true);
    const gateway = configEvent('gw-roundtrip', T0 + 6);
    await insertRows(client, db, 'events', [manifest, gateway].map((e) => eventToRow(decodeEvent(encodeEvent(e)))));
    const back = await storedEvents(T0, T0 + 10);
    const m = back.find((e) => e.eventId === manifest.eventId);
    const c = back.find((e) => e.eventId === gateway.eventId);
    expect(m?.phase).toBe(Phase.MANIFEST);
    // Equal as protobuf: what the detectors decode from the live topic and from the store is the same message.
    expect(pb.AgentManifest.toObject(pb.AgentManifest.fromObject(m?.manifest ?? {}), { longs: Number })).toEqual(pb.AgentManifest.toObject(pb.AgentManifest.fromObject(manifest.manifest ?? {}), { longs: Number }));
    expect(pb.ConfigChange.toObject(pb.ConfigChange.fromObject(c?.configChange ?? {}))).toEqual(pb.ConfigChange.toObject(pb.ConfigChange.fromObject(gateway.configChange ?? {})));
    expect(c?.manifest).toBeUndefined();
    expect(m?.configChange).toBeUndefined();
  });

  it('reads change records back in topic order as of a time, tombstones and unreadable values included', async () => {
    const key = 'chg-readback';
    const approved = changeRequest({ changeId: key, scope: 'agent:readback', endpoints: [NEW_ENDPOINT], createdAt: T0 - HOUR });
    await storeChanges([
      { key, value: approved, recorded: -HOUR, offset: 100 },
      { key, value: null, recorded: 3 * HOUR, offset: 101 },
    ]);
    await insertRows(client, db, 'changes', [changeToRow('chg-bad', Buffer.from(pb.ChangeRequest.encode({ changeId: 'chg-bad' }).finish()), { topic: 'portcullis.changes', partition: 0, offset: '102', timestamp: T0 })]);
    const mine = (records: Awaited<ReturnType<typeof readStoredChanges>>) => records.filter((r) => r.key === key || r.key === 'chg-bad');
    const before = mine(await readStoredChanges(query, db, T0 + 2 * HOUR));
    expect(before.map((r) => [r.key, r.offset])).toEqual([[key, '100'], ['chg-bad', '102']]);
    // The value re-encoded from its columns is the same ChangeRequest.
    expect(pb.ChangeRequest.decode(before[0]?.value ?? Buffer.alloc(0)).toJSON()).toEqual(pb.ChangeRequest.decode(approved).toJSON());
    const after = mine(await readStoredChanges(query, db, T0 + 4 * HOUR));
    expect(after.map((r) => [r.key, r.offset, r.value === null])).toEqual([[key, '100', false], [key, '101', true], ['chg-bad', '102', false]]);
  });

  it('a manifest adding a never-seen endpoint is critical drift without an approved change, and silent with one in force', async () => {
    // Two agents report the same drift an hour apart from their baseline; one has an approved request.
    const events = ['agent:etl-rogue', 'agent:etl-approved'].flatMap((subject) => [manifestEvent(subject, T0 + 10 * HOUR, false), manifestEvent(subject, T0 + 11 * HOUR, true)]);
    await insertRows(client, db, 'events', events.map(eventToRow));
    await storeChanges([{ key: 'chg-etl-approved', value: changeRequest({ changeId: 'chg-etl-approved', scope: 'agent:etl-approved', endpoints: [NEW_ENDPOINT], createdAt: T0 + 9 * HOUR }), recorded: 9 * HOUR, offset: 0 }]);

    const window = { from: T0 + 10 * HOUR, to: T0 + 12 * HOUR };
    const stored = await storedEvents(window.from, window.to);
    const report = backtestEvents(stored, config.detectors, window, await readStoredChanges(query, db, window.to));
    const drift = report.alerts.filter((a) => a.detector === 'config-drift');
    expect(drift.map((a) => [a.actor, a.severity])).toEqual([['agent:etl-rogue', 'Critical']]);
    expect(report.decisions.map((d) => d.subject)).toContain('identity:agent:etl-rogue');
    expect(report.decisions.map((d) => d.subject)).not.toContain('identity:agent:etl-approved');

    // Without the stored change records (the backtest before this change) both alert.
    const blind = backtestEvents(stored, config.detectors, window);
    expect(blind.alerts.filter((a) => a.detector === 'config-drift').map((a) => a.actor).sort()).toEqual(['agent:etl-approved', 'agent:etl-rogue']);
  });

  it('folds the change records written before the window ends: a withdrawal (tombstone) before it counts, one after it does not', async () => {
    const kept = 'agent:etl-kept';
    const withdrawn = 'agent:etl-withdrawn';
    await insertRows(client, db, 'events', [kept, withdrawn].flatMap((subject) => [manifestEvent(subject, T0 + 20 * HOUR, false), manifestEvent(subject, T0 + 21 * HOUR, true)]).map(eventToRow));
    const request = (subject: string) => changeRequest({ changeId: `chg-${subject}`, scope: subject, endpoints: [NEW_ENDPOINT], createdAt: T0 + 18 * HOUR });
    await storeChanges([
      { key: `chg-${kept}`, value: request(kept), recorded: 18 * HOUR, offset: 20 },
      // Withdrawn after the window: the live view still held the approval when it scored the window.
      { key: `chg-${kept}`, value: null, recorded: 23 * HOUR, offset: 21 },
      { key: `chg-${withdrawn}`, value: request(withdrawn), recorded: 18 * HOUR, offset: 22 },
      // Withdrawn before the drift was reported.
      { key: `chg-${withdrawn}`, value: null, recorded: 19 * HOUR, offset: 23 },
    ]);
    const window = { from: T0 + 20 * HOUR, to: T0 + 22 * HOUR };
    const report = backtestEvents(await storedEvents(window.from, window.to), config.detectors, window, await readStoredChanges(query, db, window.to));
    const drift = report.alerts.filter((a) => a.detector === 'config-drift' && (a.actor === kept || a.actor === withdrawn));
    expect(drift.map((a) => [a.actor, a.severity])).toEqual([[withdrawn, 'Critical']]);
  });
});
