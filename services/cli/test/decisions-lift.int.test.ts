import { describe, it, expect, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { MetricsRegistry, parseConfig, PcxError, silentLogger } from '@portcullis/common';
import { createGateway, createGatewayClient, type Gateway } from '@portcullis/gateway';
import { DecisionEffect, encodeDecision } from '@portcullis/proto';
import { liftDecision, listDecisions } from '../src/commands/decisions.js';

const TOKEN = `pcx_lift-${randomBytes(8).toString('hex')}`;
const DECISIONS = `it.lift.decisions.${randomBytes(4).toString('hex')}`;
const EVENTS = `it.lift.events.${randomBytes(4).toString('hex')}`;
const logger = silentLogger();

async function eventually(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const open: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of open.reverse()) await c();
});

describe('portcullis decisions lift', () => {
  it('a lifted block lets the next Exec through, and the tombstone says who lifted it', async () => {
    const bus: Bus = createMemoryBus({ logger });
    open.push(() => bus.close());
    await bus.ensureTopics([
      { name: EVENTS, partitions: 1, cleanupPolicy: 'delete' },
      { name: DECISIONS, partitions: 1, cleanupPolicy: 'compact' },
    ]);
    const config = parseConfig({
      environment: 'itest',
      gateway: {
        id: 'gw-lift',
        grpc: { port: 0 },
        admin: { port: 0 },
        tokens: [{ id: 'tok-lift', subject: 'agent-lift', kind: 'agent', sha256: createHash('sha256').update(TOKEN).digest('hex') }],
        connections: [{ name: 'main', kind: 'postgres', url: '${env:PG_LIFT}', grants: [{ subject: 'agent-lift', access: 'read' }] }],
      },
    });
    const gateway: Gateway = createGateway({ config, env: { PG_LIFT: 'postgres://postgres@127.0.0.1:5432/postgres' }, bus, logger, metrics: new MetricsRegistry(), topics: { events: EVENTS, decisions: DECISIONS } });
    await gateway.start();
    open.push(() => gateway.close());
    const client = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN);
    open.push(() => client.close());

    // A detector's block on the agent, as the runtime publishes it.
    const producer = await bus.producer();
    await producer.send(DECISIONS, [
      { key: 'identity:agent-lift', value: encodeDecision({ decisionId: 'dec-lift', subject: 'identity:agent-lift', effect: DecisionEffect.BLOCK, source: 'data-leakage', reason: 'sensitive records to a new destination', environment: 'itest', createdAt: Date.now(), expiresAt: Date.now() + 3_600_000 }) },
    ]);
    await producer.close();
    await eventually(() => gateway.decisionView.isBlocked(['identity:agent-lift']) !== undefined, 'the block to reach the gateway');
    const denied = await client.exec('main', 'select 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(PcxError);
    expect((denied as PcxError).code).toBe('PCX_BLOCKED_BY_DECISION');
    expect((await listDecisions(bus, DECISIONS, Date.now())).map((d) => d.subject)).toEqual(['identity:agent-lift']);

    const lifted = await liftDecision(bus, DECISIONS, 'identity:agent-lift', 'soc-analyst', 'false positive: approved export', logger);
    expect(lifted).toMatchObject({ decisionId: 'dec-lift', source: 'data-leakage' });
    await eventually(() => gateway.decisionView.isBlocked(['identity:agent-lift']) === undefined, 'the tombstone to reach the gateway');
    expect((await client.exec('main', 'select 1')).rowCount).toBe(1);

    expect(await listDecisions(bus, DECISIONS, Date.now())).toEqual([]);
    const tombstones: Array<Record<string, string>> = [];
    await bus.readToEnd(DECISIONS, (r) => {
      if (r.value === null) tombstones.push(r.headers);
    });
    expect(tombstones).toEqual([expect.objectContaining({ 'lifted-by': 'soc-analyst', reason: 'false positive: approved export', 'decision-id': 'dec-lift' })]);
  });
});
