// Kafka down through the gateway, on a PRIVATE broker (own ports and data dir, started and
// stopped here; the shared broker is never touched):
//  1. mid-run: normal connections keep serving and spool their events, strict connections
//     refuse without running, and after the restart every spooled event arrives;
//  2. at start: the gateway starts from its decision snapshot, enforces its blocks, refuses
//     strict connections (and everything under requireSync), then syncs from the topic,
//     where a tombstone published meanwhile lifts the block.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createKafkaBus, type Bus } from '@portcullis/bus';
import { DecisionEffect, encodeDecision, Phase, type AccessEvent } from '@portcullis/proto';
import { uniqueTopic } from '../../../test/support/kafka.js';
import { privateKafka, type PrivateKafka } from '../../../test/support/private-kafka.js';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventually, memoryLogger, readEvents, uniqueName, withPg } from './support/harness.js';

const work = mkdtempSync(join(tmpdir(), 'gw-kafka-outage-'));
const schema = uniqueName('gw_outage');
const logs = memoryLogger();
const PG = 'postgres://postgres@127.0.0.1:5432/test';

let broker: PrivateKafka | undefined;
const kafka = (cmd: 'start' | 'stop'): Promise<void> => (broker ? broker[cmd]() : Promise.resolve());
let brokers: string[] = [];
/** The test's own view of the broker: publishes decisions, reads events. */
let testBus: Bus | undefined;
const closers: Array<() => Promise<void>> = [];


const tokenOf = (id: string): { token: string; sha256: string } => {
  const token = `pcx_${id}-${randomBytes(8).toString('hex')}`;
  return { token, sha256: createHash('sha256').update(token).digest('hex') };
};

interface Started {
  gateway: Gateway;
  client(token: string): PortcullisGatewayClient;
  /** Also run in afterAll; closing twice is harmless. */
  close(): Promise<void>;
}

/** A gateway on its own KafkaBus against the private broker, closed in afterAll. */
async function startGateway(opts: {
  id: string;
  topics: { events: string; decisions: string; approvals: string };
  tokens: Array<{ id: string; subject: string; sha256: string }>;
  decisions?: Record<string, unknown>;
}): Promise<Started> {
  const bus = createKafkaBus({ brokers, clientId: opts.id, logger: logs.logger });
  const grants = opts.tokens.map((t) => ({ subject: t.subject, access: 'write' }));
  const gateway = createGateway({
    config: parseConfig({
      environment: 'itest',
      bus: { kind: 'kafka', brokers },
      gateway: {
        id: opts.id,
        grpc: { port: 0 },
        admin: { port: 0 },
        tokens: opts.tokens,
        connections: [
          { name: 'normal', kind: 'postgres', url: '${env:PG}', grants },
          { name: 'strict', kind: 'postgres', url: '${env:PG}', audit: 'strict', grants },
        ],
        spool: { dir: join(work, `${opts.id}-spool`) },
        ...(opts.decisions ? { decisions: opts.decisions } : {}),
      },
    }),
    env: { PG },
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: opts.topics,
    auditTimeoutMs: 1_500,
  });
  const clients: PortcullisGatewayClient[] = [];
  const close = async (): Promise<void> => {
    for (const c of clients.splice(0)) c.close();
    await gateway.close();
    await bus.close();
  };
  closers.push(close);
  await gateway.start();
  return {
    gateway,
    close,
    client(token) {
      const c = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, token);
      clients.push(c);
      return c;
    },
  };
}

interface Health {
  status: string;
  decisions: number;
  decisionSync: { synced: boolean; source: string; since: number };
  publisher: { queued: number; spooledRecords: number; delivered: number; dropped: number };
}

async function health(gateway: Gateway): Promise<Health> {
  return (await (await fetch(`http://127.0.0.1:${gateway.adminPort}/healthz`)).json()) as Health;
}

function refusal(p: Promise<unknown>): Promise<PcxError> {
  return p.then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (e: unknown) => {
      if (!(e instanceof PcxError)) throw e;
      return e;
    },
  );
}

async function probeTags(): Promise<string[]> {
  const r = await withPg((c) => c.query<{ tag: string }>(`SELECT tag FROM ${schema}.probe ORDER BY tag`));
  return r.rows.map((x) => x.tag);
}

const insert = (tag: string): string => `INSERT INTO ${schema}.probe (tag) VALUES ('${tag}')`;

/**
 * Waits until every request has its REQUEST and RESPONSE on the topic and checks, per
 * request, that the REQUEST comes first (one key, so one partition, ordered by offset).
 * Delivery is at-least-once: a repeat is allowed, an inversion is not.
 */
async function expectDelivered(topic: string, requestIds: readonly string[]): Promise<AccessEvent[]> {
  if (!testBus) throw new Error('no bus');
  const bus = testBus;
  const all = await eventually(
    async () => {
      const evs = await readEvents(bus, topic);
      const complete = requestIds.every((id) => [Phase.REQUEST, Phase.RESPONSE].every((ph) => evs.some((e) => e.event.requestId === id && e.event.phase === ph)));
      return complete ? evs : undefined;
    },
    `REQUEST and RESPONSE of ${requestIds.length} requests on ${topic}`,
    120_000,
  );
  for (const id of requestIds) {
    const mine = all.filter((e) => e.event.requestId === id);
    expect(new Set(mine.map((e) => e.record.partition)).size).toBe(1);
    const firstOffset = (ph: number) => Math.min(...mine.filter((e) => e.event.phase === ph).map((e) => Number(e.record.offset)));
    expect(firstOffset(Phase.REQUEST)).toBeLessThan(firstOffset(Phase.RESPONSE));
  }
  return all.map((e) => e.event);
}

beforeAll(async () => {
  broker = await privateKafka(work);
  brokers = broker.brokers;
  await kafka('start');
  testBus = createKafkaBus({ brokers, clientId: 'gw-outage-test', logger: logs.logger });
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.probe (tag text)`);
  });
}, 300_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await testBus?.close().catch(() => {});
  await kafka('stop').catch(() => {});
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('Kafka down mid-run, through the gateway', () => {
  it('serves normal connections and spools their events, refuses strict ones without running them, and delivers everything once the broker is back', { timeout: 400_000 }, async () => {
    const topics = { events: uniqueTopic('gw.outage.events'), decisions: uniqueTopic('gw.outage.decisions'), approvals: uniqueTopic('gw.outage.approvals') };
    const agent = tokenOf('mid');
    const { gateway, client } = await startGateway({ id: 'gw-midrun', topics, tokens: [{ id: 'tok-mid', subject: 'agent-mid', sha256: agent.sha256 }] });
    const c = client(agent.token);
    expect((await health(gateway)).decisionSync).toMatchObject({ synced: true, source: 'topic' });

    // Broker up: both kinds of connection run, and their events reach the topic.
    const before = [(await c.exec('normal', insert('up-normal'))).requestId ?? '', (await c.exec('strict', insert('up-strict'))).requestId ?? ''];
    await expectDelivered(topics.events, before);

    // Broker down.
    await kafka('stop');
    const during: string[] = [];
    for (const tag of ['down-normal-1', 'down-normal-2', 'down-normal-3']) during.push((await c.exec('normal', insert(tag))).requestId ?? '');
    const refused = await refusal(c.exec('strict', insert('down-strict')));
    expect(refused.code).toBe('PCX_AUDIT_UNAVAILABLE');
    expect(refused.message).toContain('it was not run');
    during.push(String(refused.context['requestId']));
    expect(await probeTags()).toEqual(['down-normal-1', 'down-normal-2', 'down-normal-3', 'up-normal', 'up-strict']);
    const spooled = await eventually(async () => {
      const h = await health(gateway);
      return h.publisher.spooledRecords > 0 ? h : undefined;
    }, 'events spooled to disk', 120_000);
    expect(spooled.publisher.dropped).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/portcullis_gateway_audit_refused_total\{connection="strict"\} 1/);

    // Broker back: the spool drains, every spooled event arrives in order, strict serves again.
    await kafka('start');
    await eventually(async () => {
      const h = await health(gateway);
      return h.publisher.spooledRecords === 0 && h.publisher.queued === 0 ? h : undefined;
    }, 'the spool to drain', 180_000);
    const events = await expectDelivered(topics.events, during);
    const closing = events.find((e) => e.requestId === during[3] && e.phase === Phase.RESPONSE);
    expect(closing?.response?.errorCode).toBe('PCX_AUDIT_UNAVAILABLE');
    const again = await eventually(
      () => c.exec('strict', insert('back-strict')).catch((e: unknown) => (e instanceof PcxError && e.code === 'PCX_AUDIT_UNAVAILABLE' ? undefined : Promise.reject(e))),
      'a strict command to run again',
      120_000,
    );
    await expectDelivered(topics.events, [again.requestId ?? '']);
    expect(await probeTags()).toContain('back-strict');
    expect(await probeTags()).not.toContain('down-strict');
    expect((await health(gateway)).publisher.dropped).toBe(0);
  });
});

describe('Kafka down at start', () => {
  it('starts from its decision snapshot, enforces its blocks, refuses strict (and, with requireSync, every) command, then syncs from the topic', { timeout: 500_000 }, async () => {
    if (!testBus) throw new Error('no bus');
    const topics = { events: uniqueTopic('gw.start.events'), decisions: uniqueTopic('gw.start.decisions'), approvals: uniqueTopic('gw.start.approvals') };
    const ok = tokenOf('ok');
    const bad = tokenOf('bad');
    const tokens = [
      { id: 'tok-ok', subject: 'agent-ok', sha256: ok.sha256 },
      { id: 'tok-bad', subject: 'agent-bad', sha256: bad.sha256 },
    ];
    const snapshotPath = join(work, 'state', 'decisions.snapshot.json');

    // A previous run, broker up: the block reaches the gateway and its snapshot.
    const previous = await startGateway({ id: 'gw-previous', topics, tokens, decisions: { snapshotPath } });
    const producer = await testBus.producer();
    closers.push(() => producer.close());
    const block = { decisionId: 'dec-snap-1', subject: 'credential:tok-bad', effect: DecisionEffect.BLOCK, source: 'credential-origin', reason: 'new origin', environment: 'itest' };
    await producer.send(topics.decisions, [{ key: block.subject, value: encodeDecision(block) }]);
    await eventually(() => previous.gateway.decisionView.isBlocked(['credential:tok-bad']), 'the block to reach the previous gateway', 60_000);
    await eventually(() => (existsSync(snapshotPath) && readFileSync(snapshotPath, 'utf8').includes('credential:tok-bad') ? true : undefined), 'the block in the snapshot', 30_000);
    await previous.close();
    // Meanwhile on the topic, unseen by any snapshot: the block is lifted.
    await producer.send(topics.decisions, [{ key: block.subject, value: null }]);

    // Broker down; two gateways start: one serving from the snapshot, one requiring sync.
    await kafka('stop');
    const lenient = await startGateway({ id: 'gw-lenient', topics, tokens, decisions: { snapshotPath, startTimeoutMs: 3_000 } });
    const closedGw = await startGateway({ id: 'gw-require-sync', topics, tokens, decisions: { snapshotPath: join(work, 'state', 'none.json'), startTimeoutMs: 3_000, requireSync: true } });

    const h = await health(lenient.gateway);
    expect(h.status).toBe('degraded');
    expect(h.decisionSync).toMatchObject({ synced: false, source: 'snapshot' });
    expect(h.decisions).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${lenient.gateway.adminPort}/metrics`)).text();
    expect(metrics).toContain('portcullis_gateway_decisions_synced 0');

    const okClient = lenient.client(ok.token);
    const badClient = lenient.client(bad.token);
    const served = await okClient.exec('normal', insert('start-normal'));
    const blocked = await refusal(badClient.exec('normal', insert('start-blocked')));
    expect(blocked.code).toBe('PCX_BLOCKED_BY_DECISION');
    expect(blocked.message).toContain('dec-snap-1');
    const strictRefused = await refusal(okClient.exec('strict', insert('start-strict')));
    expect(strictRefused.code).toBe('PCX_AUDIT_UNAVAILABLE');
    expect(strictRefused.message).toContain('decision view not synced');

    expect((await health(closedGw.gateway)).decisionSync).toMatchObject({ synced: false, source: 'empty' });
    const closedClient = closedGw.client(ok.token);
    const unsynced = await refusal(closedClient.exec('normal', insert('require-sync')));
    expect(unsynced.code).toBe('PCX_AUDIT_UNAVAILABLE');
    expect(unsynced.context['grpcStatus']).toBe(14); // UNAVAILABLE
    expect(unsynced.message).toContain('decision view not synced');
    const tags = await probeTags();
    expect(tags).toContain('start-normal');
    expect(tags).not.toContain('start-blocked');
    expect(tags).not.toContain('start-strict');
    expect(tags).not.toContain('require-sync');
    const pub = (await health(lenient.gateway)).publisher;
    expect(pub.delivered).toBe(0);
    expect(pub.queued + pub.spooledRecords).toBeGreaterThanOrEqual(2);

    // Broker back: both views sync from the topic, whose tombstone lifts the snapshot's block.
    await kafka('start');
    for (const g of [lenient.gateway, closedGw.gateway]) {
      await eventually(async () => {
        const x = await health(g);
        return x.decisionSync.synced ? x : undefined;
      }, 'the view to sync from the topic', 180_000);
      const x = await health(g);
      expect(x.status).toBe('ok');
      expect(x.decisionSync.source).toBe('topic');
    }
    expect(lenient.gateway.decisionView.isBlocked(['credential:tok-bad'])).toBeUndefined();
    const lifted = await badClient.exec('normal', insert('after-sync-bad'));
    const synced = await closedClient.exec('normal', insert('after-sync-require'));
    expect(await probeTags()).toEqual(expect.arrayContaining(['after-sync-bad', 'after-sync-require']));
    // The snapshot now follows the topic: the block is gone from it too.
    await eventually(() => (readFileSync(snapshotPath, 'utf8').includes('credential:tok-bad') ? undefined : true), 'the snapshot to follow the topic', 30_000);

    // Events spooled while the broker was down arrive (the blocked attempt's REQUEST included).
    const events = await expectDelivered(topics.events, [served.requestId ?? '', lifted.requestId ?? '', synced.requestId ?? '']);
    const attempt = events.find((e) => e.requestId === blocked.context['requestId'] && e.phase === Phase.REQUEST);
    expect(attempt?.verdict?.decisionId).toBe('dec-snap-1');
  });
});
