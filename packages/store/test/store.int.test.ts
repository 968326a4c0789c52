import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainPending } from 'chdb';
import { storeSchema, uuidv7 } from '@portcullis/common';
import { decodeEvent, encodeEvent, pb, Phase } from '@portcullis/proto';
import {
  alertToRow,
  appliedVersions,
  changeToRow,
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
  undecodableChangeRow,
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
    expect(tables.map((t) => t.name)).toEqual(['agent_hourly', 'agent_hourly_mv', 'alerts', 'approvals', 'changes', 'decisions', 'events', 'events_ingest', 'events_ingest_mv', 'schema_migrations', 'sessions', 'sessions_mv']);
  });

  it('brings a store of the first schema up to date, keeping its rows (their MANIFEST payload reads as absent)', async () => {
    const old = `${db}_v1`;
    const first = migrations.filter((m) => m.version === 1);
    expect(await migrate(client, old, first)).toEqual({ applied: [1], version: 1 });
    // A row as the first schema's sink wrote it: no payload columns.
    await client.insert({ table: `${old}.events`, values: [{ event_id: 'old-1', time: T0, phase: 'MANIFEST', subject: 'agent:old' }], format: 'JSONEachRow' });
    expect(await migrate(client, old)).toEqual({ applied: migrations.filter((m) => m.version > 1).map((m) => m.version), version: migrations.length });
    const rows = await query(client, `SELECT event_id, manifest_present, manifest_endpoints, config_present FROM ${old}.events FINAL`);
    expect(rows).toEqual([{ event_id: 'old-1', manifest_present: false, manifest_endpoints: [], config_present: false }]);
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

  it('stores a MANIFEST event\'s manifest (names and value hashes) and a CONFIG event\'s change in their columns', async () => {
    const subject = `agent:drift-${uuidv7()}`;
    const sha = (c: string) => c.repeat(64);
    const manifest = fullEvent({
      phase: Phase.MANIFEST,
      identity: { subject },
      response: null,
      payload: null,
      manifest: {
        agentConfigHash: 'cfg-2',
        endpoints: ['postgres://db:5432', 'https://paste.example.net:443'],
        env: [
          { name: 'DB_PASSWORD', valueSha256: sha('a'), secretBearing: true },
          { name: 'LOG_LEVEL', valueSha256: sha('b'), secretBearing: false },
          // A producer that is not the gateway (which refuses this) sent a value, not its hash.
          { name: 'API_TOKEN', valueSha256: 'hunter2-not-a-hash', secretBearing: true },
        ],
        reportedAt: T0 + 7,
        sessionId: 'sess-m',
      },
    });
    const config = fullEvent({
      time: T0 + 200,
      phase: Phase.CONFIG,
      identity: { subject: 'gateway:gw-1' },
      response: null,
      payload: null,
      configChange: { gatewayId: 'gw-1', oldDigest: 'd1', newDigest: 'd2', changed: ['connection:main'], sections: [{ name: 'connection:main', digest: 's1' }, { name: 'approvals', digest: 's2' }] },
    });
    // One batch mixing them with a plain event, as the sink's batches do (insertRows sends the plain rows without the payload columns).
    const plain = fullEvent({ identity: { subject } });
    await insertRows(client, db, 'events', [plain, manifest, config].map((e) => eventToRow(decodeEvent(encodeEvent(e)))));
    expect(await query(client, `SELECT phase, manifest_present, config_present FROM ${db}.events FINAL WHERE event_id = {p:String}`, { p: plain.eventId })).toEqual([{ phase: 'RESPONSE', manifest_present: false, config_present: false }]);
    const rows = await query(
      client,
      `SELECT phase, manifest_present, manifest_config_hash, manifest_endpoints, manifest_env_names, manifest_env_sha256, manifest_env_secret, manifest_reported_at, manifest_session_id,
              config_present, config_gateway_id, config_old_digest, config_new_digest, config_changed, config_section_names, config_section_digests
       FROM ${db}.events FINAL WHERE event_id IN ({m:String}, {c:String}) ORDER BY time`,
      { m: manifest.eventId, c: config.eventId },
    );
    const noConfig = { config_present: false, config_gateway_id: '', config_old_digest: '', config_new_digest: '', config_changed: [], config_section_names: [], config_section_digests: [] };
    const noManifest = { manifest_present: false, manifest_config_hash: '', manifest_endpoints: [], manifest_env_names: [], manifest_env_sha256: [], manifest_env_secret: [], manifest_reported_at: '0', manifest_session_id: '' };
    const hashedValue = createHash('sha256').update('hunter2-not-a-hash').digest('hex');
    expect(rows).toEqual([
      {
        phase: 'MANIFEST',
        manifest_present: true,
        manifest_config_hash: 'cfg-2',
        manifest_endpoints: ['postgres://db:5432', 'https://paste.example.net:443'],
        manifest_env_names: ['DB_PASSWORD', 'LOG_LEVEL', 'API_TOKEN'],
        manifest_env_sha256: [sha('a'), sha('b'), hashedValue],
        manifest_env_secret: [true, false, true],
        manifest_reported_at: String(T0 + 7),
        manifest_session_id: 'sess-m',
        ...noConfig,
      },
      { phase: 'CONFIG', ...noManifest, config_present: true, config_gateway_id: 'gw-1', config_old_digest: 'd1', config_new_digest: 'd2', config_changed: ['connection:main'], config_section_names: ['connection:main', 'approvals'], config_section_digests: ['s1', 's2'] },
    ]);
    // Nothing of the value the producer sent is anywhere in the row.
    const [whole] = await query<{ text: string }>(client, `SELECT toJSONString(tuple(*)) AS text FROM ${db}.events FINAL WHERE event_id = {m:String}`, { m: manifest.eventId });
    expect(whole?.text).not.toContain('hunter2');
  });

  it('stores change records with their topic position, tombstones and unreadable ones included, once per position', async () => {
    const key = `chg-${uuidv7()}`;
    const at = (offset: string) => ({ topic: 'portcullis.changes', partition: 1, offset, timestamp: T0 + Number(offset) });
    const value = pb.ChangeRequest.encode({
      changeId: key,
      scope: 'agent:etl-1',
      kind: pb.ChangeKind.AGENT_MANIFEST,
      status: pb.ChangeStatus.CHANGE_APPROVED,
      expected: { digest: 'cfg-2', endpoints: ['https://a:443'], env: [{ name: 'DB_PASSWORD', valueSha256: 'AB'.repeat(32) }, { name: 'X', valueSha256: 'plaintext' }], sections: [] },
      windowStart: T0,
      windowEnd: T0 + 60_000,
      createdAt: T0 - 1,
      environment: 'prod',
    }).finish();
    const rows = [changeToRow(key, value, at('5')), changeToRow(key, null, at('6')), undecodableChangeRow(key, at('7'))];
    await insertRows(client, db, 'changes', rows);
    await insertRows(client, db, 'changes', rows.slice(0, 2));
    const back = await query(
      client,
      `SELECT tombstone, undecodable, change_id, kind, status, expected_digest, expected_env_sha256, toUnixTimestamp64Milli(window_end) AS we, toUnixTimestamp64Milli(recorded_at) AS rec, kafka_partition, kafka_offset
       FROM ${db}.changes FINAL WHERE change_key = {k:String} ORDER BY kafka_offset`,
      { k: key },
    );
    expect(back).toEqual([
      { tombstone: false, undecodable: false, change_id: key, kind: 'AGENT_MANIFEST', status: 'CHANGE_APPROVED', expected_digest: 'cfg-2', expected_env_sha256: ['ab'.repeat(32), 'not-a-sha256'], we: String(T0 + 60_000), rec: String(T0 + 5), kafka_partition: 1, kafka_offset: '5' },
      { tombstone: true, undecodable: false, change_id: '', kind: '', status: '', expected_digest: '', expected_env_sha256: [], we: '0', rec: String(T0 + 6), kafka_partition: 1, kafka_offset: '6' },
      { tombstone: false, undecodable: true, change_id: '', kind: '', status: '', expected_digest: '', expected_env_sha256: [], we: '0', rec: String(T0 + 7), kafka_partition: 1, kafka_offset: '7' },
    ]);
  });
});
