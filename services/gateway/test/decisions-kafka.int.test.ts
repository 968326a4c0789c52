import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, type PcxError } from '@portcullis/common';
import { createKafkaBus, type Bus, type BusProducer } from '@portcullis/bus';
import { DecisionEffect, encodeDecision } from '@portcullis/proto';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventually, memoryLogger, readEvents } from './support/harness.js';

const TOKEN = `pcx_tok-${randomBytes(8).toString('hex')}`;
const EVENTS = uniqueTopic('gw.it.events');
const DECISIONS = uniqueTopic('gw.it.decisions');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-kafka-spool-'));
const logs = memoryLogger();

let bus: Bus;
let producer: BusProducer;
let gateway: Gateway;
let client: PortcullisGatewayClient;

function decision(key: string, id: string): { key: string; value: Buffer } {
  return { key, value: encodeDecision({ decisionId: id, subject: key, effect: DecisionEffect.BLOCK, source: 'soc', reason: 'test' }) };
}

beforeAll(async () => {
  bus = createKafkaBus({ brokers: await kafkaBrokers(), clientId: 'gw-decisions-it', logger: logs.logger });
  await bus.ensureTopics([
    { name: EVENTS, partitions: 2, cleanupPolicy: 'delete' },
    { name: DECISIONS, partitions: 2, cleanupPolicy: 'compact' },
  ]);
  producer = await bus.producer();
  await producer.send(DECISIONS, [decision('session:pre-blocked', 'dec-pre')]);
  gateway = createGateway({
    config: parseConfig({
      environment: 'itest',
      gateway: {
        id: 'gw-kafka',
        grpc: { port: 0 },
        admin: { port: 0 },
        tokens: [{ id: 'tok-k', subject: 'agent-k', sha256: createHash('sha256').update(TOKEN).digest('hex') }],
        connections: [{ name: 'main', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent-k', access: 'read' }] }],
        spool: { dir: spoolDir },
      },
    }),
    env: { PG: 'postgres://postgres@127.0.0.1:5432/test' },
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: EVENTS, decisions: DECISIONS },
  });
  await gateway.start();
  client = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN);
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await producer?.close();
  await bus?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('decision view and events on Kafka', () => {
  it('has the decisions published before start when it starts serving', async () => {
    const e = await client.exec('main', 'select 1', { sessionId: 'pre-blocked' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((e as PcxError).code).toBe('PCX_BLOCKED_BY_DECISION');
    expect((await client.exec('main', 'select 1', { sessionId: 'other' })).rowCount).toBe(1);
  });

  it('follows blocks and tombstones published while serving, and its events reach the topic', async () => {
    await producer.send(DECISIONS, [decision('identity:agent-k', 'dec-live')]);
    await eventually(() => gateway.decisionView.isBlocked(['identity:agent-k']), 'the block to arrive over Kafka', 60_000);
    const e = await client.exec('main', 'select 2').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((e as PcxError).message).toContain('dec-live');

    await producer.send(DECISIONS, [{ key: 'identity:agent-k', value: null }]);
    await eventually(() => (gateway.decisionView.isBlocked(['identity:agent-k']) ? undefined : true), 'the tombstone to arrive over Kafka', 60_000);
    const ok = await client.exec('main', 'select 3');
    const events = await eventually(async () => {
      const evs = (await readEvents(bus, EVENTS)).filter((x) => x.event.requestId === ok.requestId);
      return evs.length === 2 ? evs : undefined;
    }, 'REQUEST and RESPONSE on Kafka', 60_000);
    expect(events.map((x) => x.record.key?.toString())).toEqual(['agent-k', 'agent-k']);
  });
});
