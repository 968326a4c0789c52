import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainPending } from 'chdb';
import { storeSchema, uuidv7 } from '@portcullis/common';
import { decodeEvent, encodeEvent } from '@portcullis/proto';
import {
  alertToRow,
  appliedVersions,
  countFinal,
  createStoreClient,
  decisionToRow,
  eventToRow,
  eventsForSubject,
  insertRows,
  migrate,
  migrations,
  query,
  recentAlerts,
  type ClickHouseClient,
} from '../src/index.js';
import { chTime, fullEvent, ocsfFinding, T0 } from './fixtures/events.js';

// One chdb data directory per process (per test file), removed afterwards.
const dir = mkdtempSync(join(tmpdir(), 'pcx-store-'));
const db = `store_${Date.now().toString(36)}`;
let client: ClickHouseClient;

beforeAll(async () => {
  client = createStoreClient(storeSchema.parse({ path: join(dir, 'chdb'), database: db }));
});

afterAll(async () => {
  await client.close();
  await drainPending();
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate on chdb', () => {
  it('creates the schema once and is idempotent', async () => {
    const first = await migrate(client, db);
    expect(first.applied).toEqual(migrations.map((m) => m.version));
    const second = await migrate(client, db);
    expect(second).toEqual({ applied: [], version: first.version });
    expect(await appliedVersions(client, db)).toEqual(migrations.map((m) => m.version));
    const tables = await query<{ name: string }>(client, 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', { db });
    expect(tables.map((t) => t.name)).toEqual(['agent_hourly', 'agent_hourly_mv', 'alerts', 'approvals', 'decisions', 'events', 'schema_migrations', 'sessions', 'sessions_mv']);
  });

  it('refuses a database name that is not an identifier', async () => {
    await expect(migrate(client, 'x; DROP TABLE y')).rejects.toThrow(/database name/);
  });
});

describe('rows round-trip through chdb', () => {
  it('reads back an event with every field', async () => {
    const e = fullEvent({ sessionId: `s-${uuidv7()}` });
    await insertRows(client, db, 'events', [eventToRow(decodeEvent(encodeEvent(e)))]);
    const [row] = await eventsForSubject(client, db, 'agent:planner', { limit: 1, sinceMs: T0 });
    expect(row).toMatchObject({
      event_id: e.eventId,
      time: chTime(T0 + 123),
      phase: 'RESPONSE',
      groups: ['etl', 'readers'],
      pii: { pan: 1200, email: 3 },
      is_write: false,
      payload_truncated: true,
      duration_ms: 12.5,
      connection_kind: 'postgres',
    });
  });

  it('keeps one row per event_id under FINAL when the same events are inserted twice', async () => {
    const subject = `agent:dup-${uuidv7()}`;
    const rows = Array.from({ length: 50 }, (_, i) => eventToRow(fullEvent({ time: T0 + i, identity: { subject } })));
    await insertRows(client, db, 'events', rows);
    // A second, different block with the same ids (insert deduplication cannot catch it).
    await insertRows(client, db, 'events', [...rows].reverse());
    const raw = await query<{ n: string }>(client, `SELECT count() AS n FROM ${db}.events WHERE subject = {s:String}`, { s: subject });
    expect(Number(raw[0]?.n)).toBe(100);
    expect(await countFinal(client, db, 'events', `subject = '${subject}'`)).toBe(50);
  });

  it('feeds the session and hourly views, counting each event once', async () => {
    const subject = `agent:mv-${uuidv7()}`;
    const sessionId = `s-${uuidv7()}`;
    const base = { sessionId, identity: { subject } };
    const rows = [
      eventToRow(fullEvent({ ...base, requestId: 'r1', phase: 1, time: T0, verdict: { action: 1 } })),
      eventToRow(fullEvent({ ...base, requestId: 'r1', phase: 2, time: T0 + 500 })),
      eventToRow(fullEvent({ ...base, requestId: 'r2', phase: 1, time: T0 + 1_000, verdict: { action: 2 } })),
    ];
    await insertRows(client, db, 'events', rows);
    await insertRows(client, db, 'events', rows.slice(0, 1));
    const [s] = await query(client, `SELECT subject, min(first_time) AS first, max(last_time) AS last, uniqExactMerge(events) AS events FROM ${db}.sessions WHERE session_id = {id:String} GROUP BY subject`, { id: sessionId });
    expect(s).toEqual({ subject, first: chTime(T0), last: chTime(T0 + 1_000), events: '3' });
    const [h] = await query(client, `SELECT uniqExactMerge(requests) AS requests, uniqExactMerge(denials) AS denials, sum(rows) AS rows FROM ${db}.agent_hourly WHERE subject = {s:String}`, { s: subject });
    expect(h).toEqual({ requests: '2', denials: '1', rows: '1200' });
  });

  it('keeps the latest version of an alert', async () => {
    const id = `al-${uuidv7()}`;
    const v1 = ocsfFinding(id, { severity_id: 3 });
    const v2 = ocsfFinding(id, { severity_id: 5, activity_id: 2, finding_info: { uid: id, title: 'updated', modified_time: T0 + 9_000 } });
    await insertRows(client, db, 'alerts', [alertToRow(JSON.stringify(v1), id)]);
    await insertRows(client, db, 'alerts', [alertToRow(JSON.stringify(v2), id)]);
    const mine = (await recentAlerts(client, db, { limit: 100 })).filter((a) => a.alert_id === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ severity_id: 5, severity: 'Critical', title: 'updated', activity: 'Update', evidence_event_ids: ['e1', 'e2'] });
    expect(JSON.parse(mine[0]?.raw ?? '{}')).toEqual(v2);
  });

  it('stores decisions and lifts idempotently by topic position', async () => {
    const subject = `credential:${uuidv7()}`;
    const at = (offset: string) => ({ topic: 'portcullis.decisions', partition: 0, offset, timestamp: T0 + 10_000 });
    const block = decisionToRow(subject, { decisionId: 'd1', subject, subjectKind: 2, subjectValue: 'x', effect: 1, createdAt: T0 + 9_000, expiresAt: T0 + 3_600_000 }, at('7'));
    const lift = decisionToRow(subject, null, at('8'));
    await insertRows(client, db, 'decisions', [block, lift]);
    await insertRows(client, db, 'decisions', [block]);
    const rows = await query(client, `SELECT decision_id, lifted, expires_at, kafka_offset FROM ${db}.decisions FINAL WHERE subject = {s:String} ORDER BY kafka_offset`, { s: subject });
    expect(rows).toEqual([
      { decision_id: 'd1', lifted: false, expires_at: chTime(T0 + 3_600_000), kafka_offset: '7' },
      { decision_id: '', lifted: true, expires_at: null, kafka_offset: '8' },
    ]);
  });
});
