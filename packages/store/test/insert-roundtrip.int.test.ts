import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainPending } from 'chdb';
import { storeSchema } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import {
  ALERT_COLUMNS,
  CHANGE_COLUMNS,
  createStoreClient,
  DECISION_COLUMNS,
  EVENT_COLUMNS,
  eventToRow,
  insertRows,
  migrate,
  query,
  type AlertRow,
  type ChangeRow,
  type ClickHouseClient,
  type DecisionRow,
  type EventRow,
} from '../src/index.js';
import { insertTsv } from '../src/insert.js';
import { EVENT_COLUMN_KINDS } from '../src/rows/event-row.js';
import { ALERT_COLUMN_KINDS } from '../src/rows/alert-row.js';
import { DECISION_COLUMN_KINDS } from '../src/rows/decision-row.js';
import { CHANGE_COLUMN_KINDS } from '../src/rows/change-row.js';
import type { ColumnKind } from '../src/tsv.js';
import { startClickHouseServer, type ClickHouseServer } from '../../../test/support/clickhouse-server.js';
import { T0 } from './fixtures/events.js';

// Every value the sink may be handed must come back from the engine exactly as it went in:
// the TabSeparated payload is written by hand (src/tsv.ts), so its escaping is checked
// here against the real engine (chdb) for every column kind, and against a real server
// over HTTP (Debian's 18.16) for the kinds its old type system has.

const HOSTILE = [
  '',
  "it's",
  'say "hi"',
  'back\\slash',
  'ends with backslash\\',
  '\\',
  '\\\\',
  '\\N',
  '\\t not a tab',
  'tab\there',
  'new\nline',
  'cr\rlf\r\n',
  'nul\0byte',
  '\0',
  'ctl \x01\x02\x07\b\f\v\x1b\x7f',
  "['not', 'an', 'array']",
  "{'not':1}",
  ',:[]{}',
  'é ñ ü — “quotes” ‘single’',
  '中文 日本語 한국어',
  'emoji 😀 👩‍💻 𝄞',
  'line sep \u2028 para sep \u2029 bom \ufeff',
  `long ${"x\t\\'\n😀".repeat(50_000)} end`,
];

const dir = mkdtempSync(join(tmpdir(), 'pcx-roundtrip-'));
const db = `roundtrip_${Date.now().toString(36)}`;
let client: ClickHouseClient;

beforeAll(async () => {
  client = createStoreClient(storeSchema.parse({ path: join(dir, 'chdb'), database: db }));
  await migrate(client, db);
});

afterAll(async () => {
  await client?.close();
  await drainPending();
  rmSync(dir, { recursive: true, force: true });
});

/** `SELECT` list reading each column back in the shape its row field has: times as ms, 64-bit integers as numbers. */
function selectList(kinds: Readonly<Record<string, ColumnKind>>, columns: readonly string[]): string {
  return columns
    .map((c) => (kinds[c] === 'time' || kinds[c] === 'nullableTime' ? `toUnixTimestamp64Milli(${c}) AS ${c}` : c))
    .join(', ');
}

/** Stored values as the row had them (the client reads 64-bit integers as strings). */
function normalise(kinds: Readonly<Record<string, ColumnKind>>, stored: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(stored)) {
    const kind = kinds[k];
    out[k] = (kind === 'number' || kind === 'time' || kind === 'nullableTime') && typeof v === 'string' ? Number(v) : v;
  }
  return out;
}

function hostileEvent(i: number, s: string): IAccessEvent {
  const manifest = i % 3 === 0;
  return {
    eventId: `evt-${i}-${s.slice(0, 20)}`,
    requestId: s,
    sessionId: s,
    time: T0 + i,
    phase: manifest ? 5 : 1 + (i % 2),
    environment: s,
    gatewayId: s,
    identity: { subject: s, kind: 1, groups: [s, 'plain', s], credentialId: s, issuer: s, onBehalfOf: s },
    origin: { peerIp: s, peerPort: 65535, declaredHost: s, containerId: s, process: s, userAgent: s, agentConfigHash: s },
    connection: { name: s, kind: 2, targetHost: s, targetDb: s },
    command: { text: s, fingerprint: s, statementType: s, tables: [s], isWrite: i % 2 === 0, hasWhere: true, hasLimit: i % 2 === 1, riskTags: [s, ''] },
    response: { rows: 2 ** 53 - 1, bytes: i, durationMs: 0.1 + i / 7, errorCode: s, pii: [{ detector: s, count: 4_294_967_295 }, { detector: 'pan', count: i }], maskedFields: [s], destination: s },
    verdict: { action: 2, ruleId: s, reason: s, approvalId: s, decisionId: s, code: s },
    payload: Buffer.from(s, 'utf8'),
    payloadTruncated: i % 2 === 0,
    ...(manifest
      ? {
          manifest: {
            agentConfigHash: s,
            endpoints: [s, 'https://api.example.com'],
            env: [{ name: s, valueSha256: 'a'.repeat(64), secretBearing: true }, { name: 'PATH', valueSha256: '', secretBearing: false }],
            reportedAt: -1,
            sessionId: s,
          },
        }
      : {}),
    ...(i % 3 === 1 ? { configChange: { gatewayId: s, oldDigest: s, newDigest: s, changed: [s], sections: [{ name: s, digest: s }] } } : {}),
  };
}

describe('insert round trip on chdb', () => {
  it('leaves out only columns whose schema default is the empty value (no DEFAULT expression but `false`)', async () => {
    // insertRows omits a column no row of the batch fills; that stores what sending it
    // would only while its default is the type's empty value. A migration adding a
    // DEFAULT to a sink table must revisit columnsInUse (src/tsv.ts).
    const defaults = await query<{ table: string; name: string; default_kind: string; default_expression: string }>(
      client,
      `SELECT table, name, default_kind, default_expression FROM system.columns
       WHERE database = {db:String} AND table IN ('events', 'events_ingest', 'alerts', 'decisions', 'approvals', 'changes') AND default_kind != ''`,
      { db },
    );
    expect(defaults.filter((d) => !(d.default_kind === 'DEFAULT' && d.default_expression === 'false'))).toEqual([]);
  });

  it('takes events through events_ingest, which has every events column in its plain type', async () => {
    const columns = async (table: string) =>
      query<{ name: string; type: string }>(client, 'SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position', { db, table });
    const plainType = (t: string) => t.replace(/LowCardinality\((\w+)\)/g, '$1');
    expect(await columns('events_ingest')).toEqual((await columns('events')).map((c) => ({ name: c.name, type: plainType(c.type) })));
  });

  it('stores every events column of hostile values exactly, with and without drift payloads in one batch', async () => {
    const rows = HOSTILE.map((s, i) => eventToRow(hostileEvent(i, s)));
    await insertRows(client, db, 'events', rows);
    const stored = await query(client, `SELECT ${selectList(EVENT_COLUMN_KINDS, EVENT_COLUMNS)} FROM ${db}.events FINAL ORDER BY time`);
    expect(stored).toHaveLength(rows.length);
    stored.forEach((s, i) => {
      const want = rows[i] as EventRow;
      const got = normalise(EVENT_COLUMN_KINDS, s);
      for (const c of EVENT_COLUMNS) expect(got[c], `${c} of row ${i}`).toEqual(want[c]);
    });
  });

  it('stores alerts, decisions (null and set expiry) and changes (zero times) exactly', async () => {
    const alerts: AlertRow[] = HOSTILE.map((s, i) => ({
      alert_id: `alert-${i}`, time: T0 + i, updated_at: T0 + i + 1, activity: s, severity_id: 5, severity: s, title: s, detector: s, analytic: s,
      subject: s, credential_id: s, risk_score: 0.1 * i, confidence: 1e-7, status: s, evidence_event_ids: [s, s], raw: s,
    }));
    const decisions: DecisionRow[] = HOSTILE.map((s, i) => ({
      decision_id: s, subject: `subject-${i}`, subject_kind: s, subject_value: s, effect: s, reason: s, source: s, alert_id: s,
      created_at: T0, expires_at: i % 2 === 0 ? null : T0 + 60_000, environment: s, lifted: i % 2 === 0, recorded_at: T0 + i,
      kafka_topic: s, kafka_partition: i, kafka_offset: String(2n ** 64n - 1n - BigInt(i)),
    }));
    const changes: ChangeRow[] = HOSTILE.map((s, i) => ({
      change_key: `change-${i}`, tombstone: false, undecodable: i === 0, change_id: s, title: s, requested_by: s, approved_by: s, scope: s, kind: s, status: s,
      environment: s, expected_digest: s, expected_endpoints: [s], expected_env_names: [s, ''], expected_env_sha256: [], expected_sections: [s],
      window_start: 0, window_end: T0, created_at: T0 - 1, revoked_at: 0, revoked_by: s, recorded_at: T0,
      kafka_topic: 'portcullis.changes', kafka_partition: 0, kafka_offset: String(i),
    }));
    await insertRows(client, db, 'alerts', alerts);
    await insertRows(client, db, 'decisions', decisions);
    await insertRows(client, db, 'changes', changes);
    const cases = [
      { table: 'alerts', kinds: ALERT_COLUMN_KINDS, columns: ALERT_COLUMNS, rows: alerts as object[], order: 'time' },
      { table: 'decisions', kinds: DECISION_COLUMN_KINDS, columns: DECISION_COLUMNS, rows: decisions as object[], order: 'recorded_at' },
      { table: 'changes', kinds: CHANGE_COLUMN_KINDS, columns: CHANGE_COLUMNS, rows: changes as object[], order: 'kafka_offset' },
    ] as const;
    for (const { table, kinds, columns, rows, order } of cases) {
      const stored = await query(client, `SELECT ${selectList(kinds, columns)} FROM ${db}.${table} FINAL ORDER BY ${order}`);
      expect(stored, table).toHaveLength(rows.length);
      stored.forEach((s, i) => {
        const want = rows[i] as Record<string, unknown>;
        const got = normalise(kinds, s);
        for (const c of columns) {
          // UInt64 offsets come back as the same decimal text.
          expect(c === 'kafka_offset' ? String(got[c]) : got[c], `${table}.${c} of row ${i}`).toEqual(want[c]);
        }
      });
    }
  });

  it('stores a lone UTF-16 surrogate as U+FFFD, as any UTF-8 encoder writes it', async () => {
    const rows = [eventToRow({ eventId: 'lone-surrogate', time: T0, command: { text: 'a\ud800b' }, identity: { groups: ['\udc00'] } })];
    await insertRows(client, db, 'events', rows);
    expect(await query(client, `SELECT command_text, groups FROM ${db}.events FINAL WHERE event_id = 'lone-surrogate'`)).toEqual([{ command_text: 'a\ufffdb', groups: ['\ufffd'] }]);
  });

  it('stores a batch in which every row leaves a column empty with that column at its default', async () => {
    const rows = [eventToRow({ eventId: 'sparse-1', time: T0, identity: { subject: 'agent:sparse' } })];
    await insertRows(client, db, 'events', rows);
    const [stored] = await query(client, `SELECT ${selectList(EVENT_COLUMN_KINDS, EVENT_COLUMNS)} FROM ${db}.events FINAL WHERE event_id = 'sparse-1'`);
    const got = normalise(EVENT_COLUMN_KINDS, stored as Record<string, unknown>);
    for (const c of EVENT_COLUMNS) expect(got[c], c).toEqual((rows[0] as EventRow)[c]);
  });
});

describe('insert round trip over HTTP (clickhouse-server 18.16)', () => {
  // The Portcullis schema needs a newer server (DateTime64, Bool, Map, LowCardinality), so
  // a table of the kinds 18.16 has, written through the same function insertRows uses.
  let server: ClickHouseServer;
  let http: ClickHouseClient;
  const sdb = `roundtrip_http_${Date.now().toString(36)}`;

  beforeAll(async () => {
    server = await startClickHouseServer();
    http = createStoreClient(storeSchema.parse({ url: server.url, username: server.username, password: '${env:PCX_TEST_CH_PASSWORD}', database: sdb }), {
      env: { PCX_TEST_CH_PASSWORD: server.password },
    });
  }, 60_000);

  afterAll(async () => {
    await http?.close();
    await server?.stop();
  });

  it('stores strings, string arrays and numbers of hostile values exactly', async () => {
    await http.command({ query: `CREATE DATABASE IF NOT EXISTS ${sdb}` });
    await http.command({ query: `CREATE TABLE ${sdb}.t (id UInt32, s String, a Array(String), n UInt64, f Float64, e String) ENGINE = MergeTree ORDER BY id` });
    const rows = HOSTILE.map((s, i) => ({ id: i, s, a: [s, '', s.slice(0, 3)], n: 2 ** 53 - 1 - i, f: i / 3, e: '' }));
    const columns = [
      { name: 'id', kind: 'number' },
      { name: 's', kind: 'string' },
      { name: 'a', kind: 'strings' },
      { name: 'n', kind: 'number' },
      { name: 'f', kind: 'number' },
      { name: 'e', kind: 'string' },
    ] as const;
    await insertTsv(http, `${sdb}.t`, columns, rows);
    const stored = await query(http, `SELECT id, s, a, n, f, e FROM ${sdb}.t ORDER BY id`);
    expect(stored.map((r) => ({ ...r, id: Number(r.id), n: Number(r.n) }))).toEqual(rows);
  });
});
