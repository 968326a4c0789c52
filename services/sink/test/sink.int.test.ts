import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainPending } from 'chdb';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { busSchema, createLogger, MetricsRegistry, sinkSchema, storeSchema, uuidv7, type TopicSpec } from '@portcullis/common';
import { createBus, type Bus } from '@portcullis/bus';
import { DeadLetter, encodeDecision, encodeEvent, pb, Phase, type IAccessEvent } from '@portcullis/proto';
import { countFinal, createStoreClient, migrate, query, type ClickHouseClient } from '@portcullis/store';
import { runSink, type SinkHandle, type SinkTopics } from '../src/index.js';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';

// Real Kafka (test/support/kafka.ts) and the real chdb engine in a temp dir of this file.
const dir = mkdtempSync(join(tmpdir(), 'pcx-sink-'));
const db = `sink_${Date.now().toString(36)}`;
const logger = createLogger('sink-test', process.env.PCX_TEST_LOG ?? 'silent');
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
let client: ClickHouseClient;
let bus: Bus;
let admin: Admin;
const running: SinkHandle[] = [];

beforeAll(async () => {
  const brokers = await kafkaBrokers();
  client = createStoreClient(storeSchema.parse({ path: join(dir, 'chdb'), database: db }));
  await migrate(client, db);
  bus = createBus(busSchema.parse({ kind: 'kafka', brokers, clientId: 'sink-test', producer: { lingerMs: 1 } }), logger);
  admin = new Kafka({ clientId: 'sink-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});

afterAll(async () => {
  for (const s of running) await s.close();
  await admin?.disconnect();
  await bus?.close();
  await client?.close();
  await drainPending();
  rmSync(dir, { recursive: true, force: true });
});

async function freshTopics(name: string): Promise<SinkTopics> {
  const t: SinkTopics = {
    events: uniqueTopic(`${name}.events`),
    alerts: uniqueTopic(`${name}.alerts`),
    decisions: uniqueTopic(`${name}.decisions`),
    approvals: uniqueTopic(`${name}.approvals`),
    changes: uniqueTopic(`${name}.changes`),
    dlq: uniqueTopic(`${name}.dlq`),
  };
  const specs: TopicSpec[] = [
    { name: t.events, partitions: 3, cleanupPolicy: 'delete' },
    { name: t.alerts, partitions: 1, cleanupPolicy: 'delete' },
    { name: t.decisions, partitions: 1, cleanupPolicy: 'compact' },
    { name: t.approvals, partitions: 1, cleanupPolicy: 'compact' },
    { name: t.changes, partitions: 2, cleanupPolicy: 'compact' },
    { name: t.dlq, partitions: 1, cleanupPolicy: 'delete' },
  ];
  await bus.ensureTopics(specs);
  return t;
}

async function startSink(topics: SinkTopics, groupId: string, metrics = new MetricsRegistry()): Promise<SinkHandle> {
  const config = sinkSchema.parse({ groupId, batchRows: 100, flushMs: 50, retry: { initialMs: 50, maxMs: 400 } });
  const sink = await runSink({ bus, client, database: db, config, logger, metrics, topics, maxHoldMs: 1_000 });
  running.push(sink);
  return sink;
}

async function stop(sink: SinkHandle): Promise<void> {
  await sink.close();
  running.splice(running.indexOf(sink), 1);
}

function events(subject: string, n: number, from = 0): IAccessEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: uuidv7(),
    requestId: `r-${from + i}`,
    sessionId: `s-${subject}`,
    time: T0 + from + i,
    phase: Phase.REQUEST,
    environment: 'test',
    identity: { subject },
    connection: { name: 'demo' },
    command: { text: `SELECT ${from + i}` },
  }));
}

async function produceEvents(topic: string, list: readonly IAccessEvent[]): Promise<void> {
  const p = await bus.producer();
  await p.send(topic, list.map((e) => ({ key: e.identity?.subject ?? null, value: encodeEvent(e) })));
  await p.close();
}

async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const subjectCount = (subject: string) => () => countFinal(client, db, 'events', `subject = '${subject}'`);

async function committed(groupId: string, topic: string): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets[0]?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

describe('sink: Kafka → chdb', () => {
  it('stores events, an alert, a decision and its lift; a second delivery of the events adds no rows under FINAL', async () => {
    const topics = await freshTopics('sink-basic');
    const subject = `agent:basic-${uuidv7()}`;
    const list = events(subject, 250);
    await produceEvents(topics.events, list);
    const alertId = `al-${uuidv7()}`;
    const credential = `credential:${uuidv7()}`;
    const p = await bus.producer();
    await p.send(topics.alerts, [{ key: alertId, value: Buffer.from(JSON.stringify({ class_uid: 2004, time: T0, severity_id: 5, finding_info: { uid: alertId, title: 'leak', analytic: { name: 'data-leakage' } }, actor: { user: { name: subject } } })) }]);
    await p.send(topics.decisions, [{ key: credential, value: encodeDecision({ decisionId: 'd-1', subject: credential, subjectKind: 2, effect: 1, alertId, createdAt: T0 }) }]);
    await p.send(topics.decisions, [{ key: credential, value: null }]);
    await p.close();

    const group = `sink-basic-${uuidv7()}`;
    const sink = await startSink(topics, group);
    expect(await eventually('250 events', subjectCount(subject), (n) => n === 250)).toBe(250);
    await eventually('decisions', () => countFinal(client, db, 'decisions', `subject = '${credential}'`), (n) => n === 2);
    const alerts = await eventually('alert', () => query(client, `SELECT alert_id, severity, detector, subject FROM ${db}.alerts FINAL WHERE alert_id = {id:String}`, { id: alertId }), (r) => r.length === 1);
    expect(alerts).toEqual([{ alert_id: alertId, severity: 'Critical', detector: 'data-leakage', subject }]);
    const decisions = await query(client, `SELECT decision_id, lifted, alert_id FROM ${db}.decisions FINAL WHERE subject = {s:String} ORDER BY kafka_offset`, { s: credential });
    expect(decisions).toEqual([
      { decision_id: 'd-1', lifted: false, alert_id: alertId },
      { decision_id: '', lifted: true, alert_id: '' },
    ]);
    await eventually('offsets committed', () => committed(group, topics.events), (n) => n === 250);
    expect(sink.stats()).toMatchObject({ deadLetters: 0, storeOutage: false });
    await stop(sink);

    // The same events again (as after a producer retry or a replay): the group reads them
    // as new records, inserts them, and FINAL still shows each event once.
    await produceEvents(topics.events, list);
    const again = await startSink(topics, group);
    await eventually('second delivery stored', async () => again.stats().written.events, (n) => n === 250);
    // Some second-delivery blocks may equal first ones and be dropped by insert
    // deduplication; the rest are stored again. Either way FINAL shows each event once.
    const raw = await query<{ n: string }>(client, `SELECT count() AS n FROM ${db}.events WHERE subject = {s:String}`, { s: subject });
    expect(Number(raw[0]?.n)).toBeGreaterThanOrEqual(250);
    expect(await subjectCount(subject)()).toBe(250);
    await stop(again);
  });

  it('stores every record of the changes topic — approval, revocation, tombstone, unreadable value — once per topic position', async () => {
    const topics = await freshTopics('sink-changes');
    const id = `chg-${uuidv7()}`;
    const other = `chg-${uuidv7()}`;
    const sha = 'ab'.repeat(32);
    const request = (status: number, revokedAt = 0) =>
      Buffer.from(
        pb.ChangeRequest.encode({
          changeId: id,
          title: 'rotate the upstream credential',
          requestedBy: 'release-bot',
          approvedBy: 'user:platform-lead',
          scope: 'agent:etl-*',
          kind: pb.ChangeKind.AGENT_MANIFEST,
          expected: { endpoints: ['https://etl-svc-v2.internal:443'], env: [{ name: 'DB_PASSWORD', valueSha256: sha }, { name: 'LOG_LEVEL', valueSha256: '' }] },
          windowStart: T0,
          windowEnd: T0 + 3_600_000,
          createdAt: T0 - 60_000,
          status,
          revokedAt,
          revokedBy: revokedAt ? 'user:soc' : '',
          environment: 'prod',
        }).finish(),
      );
    const p = await bus.producer();
    // One key per send: each key's records land on one partition, in order.
    await p.send(topics.changes, [{ key: id, value: request(pb.ChangeStatus.CHANGE_APPROVED) }]);
    await p.send(topics.changes, [{ key: id, value: request(pb.ChangeStatus.CHANGE_REVOKED, T0 + 600_000) }]);
    await p.send(topics.changes, [{ key: id, value: null }]);
    await p.send(topics.changes, [{ key: other, value: Buffer.from([0x0a, 0xff, 0xff]) }]);
    await p.close();

    const group = `sink-changes-${uuidv7()}`;
    const sink = await startSink(topics, group);
    const read = () =>
      query(
        client,
        `SELECT change_key, tombstone, undecodable, change_id, scope, kind, status, environment, expected_endpoints, expected_env_names, expected_env_sha256,
                toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(revoked_at) AS ra, revoked_by, kafka_topic, kafka_offset
         FROM ${db}.changes FINAL WHERE change_key IN ({a:String}, {b:String}) ORDER BY change_key = {a:String} DESC, kafka_offset`,
        { a: id, b: other },
      );
    const rows = await eventually('four change records', read, (r) => r.length === 4);
    const common = { change_key: id, undecodable: false, kafka_topic: topics.changes };
    const fields = { change_id: id, scope: 'agent:etl-*', kind: 'AGENT_MANIFEST', environment: 'prod', expected_endpoints: ['https://etl-svc-v2.internal:443'], expected_env_names: ['DB_PASSWORD', 'LOG_LEVEL'], expected_env_sha256: [sha, ''], ws: String(T0) };
    expect(rows).toEqual([
      { ...common, ...fields, tombstone: false, status: 'CHANGE_APPROVED', ra: '0', revoked_by: '', kafka_offset: '0' },
      { ...common, ...fields, tombstone: false, status: 'CHANGE_REVOKED', ra: String(T0 + 600_000), revoked_by: 'user:soc', kafka_offset: '1' },
      expect.objectContaining({ ...common, tombstone: true, change_id: '', status: '', kafka_offset: '2' }),
      // Its partition depends on the key's hash; its offset is 3 if it shares the first key's.
      expect.objectContaining({ change_key: other, tombstone: false, undecodable: true, change_id: '', kafka_offset: expect.stringMatching(/^[03]$/) }),
    ]);
    // The unreadable value is also a dead letter, bytes and all.
    const letters: Array<ReturnType<typeof DeadLetter.decode>> = [];
    await eventually(
      'the dead letter',
      async () => {
        letters.length = 0;
        await bus.readToEnd(topics.dlq, (r) => void letters.push(DeadLetter.decode(r.value ?? Buffer.alloc(0))));
        return letters.length;
      },
      (n) => n === 1,
    );
    expect(letters[0]).toMatchObject({ sourceTopic: topics.changes, reason: expect.stringMatching(/^change is not a ChangeRequest/) });
    await eventually('offsets committed', () => committed(group, topics.changes), (n) => n === 4);
    await stop(sink);

    // A new group reads the same records again: FINAL still shows each record once.
    const again = await startSink(topics, `sink-changes-${uuidv7()}`);
    await eventually('second delivery stored', async () => again.stats().written.changes, (n) => n === 4);
    expect(await read()).toHaveLength(4);
    await stop(again);
  });

  it('sends undecodable records to the dead-letter topic and stores the good ones that follow', async () => {
    const topics = await freshTopics('sink-dlq');
    const subject = `agent:dlq-${uuidv7()}`;
    const garbage = Buffer.from('this is not an AccessEvent \xff\xfe');
    const [first, ...rest] = events(subject, 5);
    const p = await bus.producer();
    // One key, so all three sends land on one partition, in order.
    await p.send(topics.events, [{ key: subject, value: encodeEvent(first ?? {}) }]);
    await p.send(topics.events, [{ key: subject, value: garbage }]);
    await p.send(topics.events, rest.map((e) => ({ key: subject, value: encodeEvent(e) })));
    await p.send(topics.alerts, [{ key: 'al-bad', value: Buffer.from('{not json') }]);
    await p.close();

    const sink = await startSink(topics, `sink-dlq-${uuidv7()}`);
    expect(await eventually('good events', subjectCount(subject), (n) => n === 5)).toBe(5);
    const letters: Array<ReturnType<typeof DeadLetter.decode>> = [];
    await eventually(
      'two dead letters',
      async () => {
        letters.length = 0;
        await bus.readToEnd(topics.dlq, (r) => void letters.push(DeadLetter.decode(r.value ?? Buffer.alloc(0))));
        return letters.length;
      },
      (n) => n === 2,
    );
    const bad = letters.find((l) => l.sourceTopic === topics.events);
    expect(bad).toMatchObject({ sourceOffset: '1', consumer: expect.stringMatching(/^sink-dlq-/) });
    expect(Buffer.from(bad?.value ?? [])).toEqual(garbage);
    expect(Buffer.from(bad?.key ?? []).toString()).toBe(subject);
    expect(bad?.reason).not.toBe('');
    expect(letters.find((l) => l.sourceTopic === topics.alerts)).toMatchObject({ reason: 'alert is not JSON' });
    expect(sink.stats().deadLetters).toBe(2);
    await stop(sink);
  });

  it('holds batches through a real store outage, commits nothing meanwhile, and stores every event once after it', async () => {
    const topics = await freshTopics('sink-outage');
    const subject = `agent:outage-${uuidv7()}`;
    const group = `sink-outage-${uuidv7()}`;
    const metrics = new MetricsRegistry();
    const sink = await startSink(topics, group, metrics);
    await produceEvents(topics.events, events(subject, 60));
    await eventually('first events', subjectCount(subject), (n) => n === 60);
    await eventually('first offsets committed', () => committed(group, topics.events), (n) => n === 60);

    // The engine itself refuses inserts: the table is gone until it is attached again.
    await client.command({ query: `DETACH TABLE ${db}.events` });
    try {
      await produceEvents(topics.events, events(subject, 140, 60));
      await eventually('retries under outage', async () => sink.stats(), (s) => s.insertRetries >= 3 && s.storeOutage);
      expect(await committed(group, topics.events)).toBe(60);
      expect(metrics.render()).toMatch(/pcx_sink_insert_retries_total\{table="events"\} [1-9]/);
    } finally {
      await client.command({ query: `ATTACH TABLE ${db}.events` });
    }
    expect(await eventually('all events after the outage', subjectCount(subject), (n) => n >= 200)).toBe(200);
    await eventually('all offsets committed', () => committed(group, topics.events), (n) => n === 200);
    expect(sink.stats().storeOutage).toBe(false);
    expect(await subjectCount(subject)()).toBe(200);
    await stop(sink);
  });

  it('runs the same way on the in-process bus (embedded mode)', async () => {
    const memory = createBus(busSchema.parse({ kind: 'memory' }), logger);
    try {
      const topics: SinkTopics = { events: 'm.events', alerts: 'm.alerts', decisions: 'm.decisions', approvals: 'm.approvals', changes: 'm.changes', dlq: 'm.dlq' };
      await memory.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 2, cleanupPolicy: 'delete' as const })));
      const subject = `agent:memory-${uuidv7()}`;
      const p = await memory.producer();
      await p.send(topics.events, events(subject, 40).map((e) => ({ key: subject, value: encodeEvent(e) })));
      await p.send(topics.approvals, [{ key: 'ap-1', value: Buffer.from(pb.ApprovalState.encode({ request: { approvalId: 'ap-1' }, status: pb.ApprovalStatus.APPROVAL_STATUS_APPROVED, updatedAt: Date.now() }).finish()) }]);
      await p.close();
      const config = sinkSchema.parse({ groupId: 'sink-memory', batchRows: 16, flushMs: 20 });
      const sink = await runSink({ bus: memory, client, database: db, config, logger, metrics: new MetricsRegistry(), topics });
      try {
        expect(await eventually('memory-bus events', subjectCount(subject), (n) => n === 40)).toBe(40);
        expect(await eventually('approval', () => query(client, `SELECT approval_id, status FROM ${db}.approvals FINAL WHERE approval_id = 'ap-1'`), (r) => r.length === 1)).toEqual([{ approval_id: 'ap-1', status: 'approved' }]);
      } finally {
        await sink.close();
      }
    } finally {
      await memory.close();
    }
  });
});
