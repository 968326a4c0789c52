import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createMemoryBus, type Bus, type BusProducer } from '@portcullis/bus';
import { Action, DecisionEffect, encodeDecision, Phase } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventsOf, eventually, memoryLogger, readEvents, uniqueName, withPg } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TOKEN = `pcx_${randomBytes(32).toString('base64url')}`;
const OTHER = `pcx_${randomBytes(32).toString('base64url')}`;
const EVENTS = uniqueName('fl.events');
const DECISIONS = uniqueName('fl.decisions');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-fl-spool-'));
const logs = memoryLogger();

let bus: Bus;
let producer: BusProducer;
let gateway: Gateway;
let agent: PortcullisGatewayClient;
let other: PortcullisGatewayClient;

async function block(key: string, decisionId: string): Promise<void> {
  await producer.send(DECISIONS, [{ key, value: encodeDecision({ subject: key, decisionId, effect: DecisionEffect.BLOCK, source: 'risk-aggregation', reason: 'risk over threshold', createdAt: Date.now() }) }]);
}

async function lift(key: string): Promise<void> {
  await producer.send(DECISIONS, [{ key, value: null }]);
  await eventually(() => (gateway.decisionView.isBlocked([key]) ? undefined : true), `lift of ${key}`);
}

/** Backends running the statement tagged `marker`, as Postgres sees them. */
async function running(marker: string): Promise<number> {
  return withPg(async (c) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND application_name = 'portcullis-gateway' AND query LIKE '%' || $1 || '%'`, [marker])).rows[0]?.n ?? 0);
}

beforeAll(async () => {
  bus = createMemoryBus({ logger: logs.logger });
  await bus.ensureTopics([{ name: DECISIONS, partitions: 3, cleanupPolicy: 'compact' }]);
  producer = await bus.producer();
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      tokens: [
        { id: 'tok-fl', subject: 'agent-fl', kind: 'agent', sha256: sha(TOKEN) },
        { id: 'tok-other', subject: 'agent-other', kind: 'agent', sha256: sha(OTHER) },
      ],
      connections: [{ name: 'main', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent-fl', access: 'read' }, { subject: 'agent-other', access: 'read' }] }],
    },
  });
  gateway = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS, decisions: DECISIONS } });
  await gateway.start();
  agent = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN, { host: 'fl-host', container: 'fl-ctr' });
  other = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, OTHER);
});

afterAll(async () => {
  agent?.close();
  other?.close();
  await gateway?.close();
  await producer?.close();
  await bus?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('a new block ends the in-flight commands of its subject', () => {
  const kinds: Array<[string, (session: string) => string]> = [
    ['identity', () => 'identity:agent-fl'],
    ['credential', () => 'credential:tok-fl'],
    ['origin', () => 'origin:127.0.0.1|fl-host|fl-ctr'],
    ['session', (session) => `session:${session}`],
  ];

  for (const [kind, keyOf] of kinds) {
    it(`${kind}: select pg_sleep(10) in flight → PERMISSION_DENIED PCX_BLOCKED_BY_DECISION, the backend query cancelled; another agent's command runs on`, async () => {
      const marker = uniqueName(`sleep_${kind}`);
      const session = uniqueName('sess');
      const inFlight = agent.exec('main', `SELECT pg_sleep(10) AS "${marker}"`, { sessionId: session }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const bystanderMarker = uniqueName('bystander');
      const bystander = other.exec('main', `SELECT pg_sleep(0.5) AS "${bystanderMarker}", 1 AS ok`);
      await eventually(async () => ((await running(marker)) === 1 ? true : undefined), 'the sleep to run on Postgres');

      await block(keyOf(session), `dec-${kind}`);
      const e = await inFlight;
      expect(e).toBeInstanceOf(PcxError);
      const err = e as PcxError;
      expect(err.code).toBe('PCX_BLOCKED_BY_DECISION');
      expect(err.context['grpcStatus']).toBe(status.PERMISSION_DENIED);
      expect(err.message).toContain(`dec-${kind}`);
      expect(err.message).toContain('the running command was cancelled');
      expect(await running(marker)).toBe(0);

      const [req, resp] = await eventsOf(bus, EVENTS, String(err.context['requestId']));
      expect(req?.verdict?.action).toBe(Action.ALLOW);
      expect(resp?.phase).toBe(Phase.RESPONSE);
      expect(resp?.verdict).toMatchObject({ action: Action.BLOCKED_BY_DECISION, code: 'PCX_BLOCKED_BY_DECISION', decisionId: `dec-${kind}`, ruleId: 'decision:risk-aggregation' });
      expect(resp?.response?.errorCode).toBe('PCX_BLOCKED_BY_DECISION');

      expect((await bystander).rows?.[0]?.values?.[1]).toEqual({ number: 1 });
      // The block holds for new commands of that subject too, until lifted.
      if (kind !== 'session') expect((await agent.exec('main', 'SELECT 1').catch((x: unknown) => x)) as PcxError).toMatchObject({ code: 'PCX_BLOCKED_BY_DECISION' });
      await lift(keyOf(session));
      expect((await agent.exec('main', 'SELECT 1 AS one')).rowCount).toBe(1);
    });
  }

  it('the pool is healthy after cancellations: no connection is left running a cancelled statement', async () => {
    const rows = await Promise.all(Array.from({ length: 12 }, (_, i) => agent.exec('main', `SELECT ${i} AS n`)));
    expect(rows.map((r) => r.rows?.[0]?.values?.[0]?.number)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const events = await readEvents(bus, EVENTS);
    expect(events.filter((x) => x.event.verdict?.action === Action.BLOCKED_BY_DECISION && x.event.phase === Phase.RESPONSE)).toHaveLength(4);
  });
});
