import { describe, it, expect, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { MetricsRegistry, parseConfig, silentLogger, type PcxError } from '@portcullis/common';
import { DecisionEffect, encodeDecision } from '@portcullis/proto';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createGatewayClient } from '../src/client/gateway-client.js';
import { eventually } from './support/harness.js';

// The embedded mode's lift: the admin API publishes the tombstone on the gateway's own bus.
const AGENT = `pcx_dadm-agent-${randomBytes(8).toString('hex')}`;
const SOC = `pcx_dadm-soc-${randomBytes(8).toString('hex')}`;
const DECISIONS = `it.dadm.decisions.${randomBytes(4).toString('hex')}`;
const EVENTS = `it.dadm.events.${randomBytes(4).toString('hex')}`;
const logger = silentLogger();
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

const open: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of open.reverse()) await c();
});

describe('decisions admin API (GET /decisions, DELETE /decisions/:subject)', () => {
  it('a SOC member lists and lifts a block; others get 403; a reason is required', async () => {
    const bus: Bus = createMemoryBus({ logger });
    open.push(() => bus.close());
    const config = parseConfig({
      environment: 'itest',
      gateway: {
        id: 'gw-dadm',
        grpc: { port: 0 },
        admin: { port: 0 },
        tokens: [
          { id: 'dadm-agent', subject: 'agent-dadm', kind: 'agent', sha256: sha(AGENT) },
          { id: 'dadm-soc', subject: 'analyst@soc', kind: 'human', groups: ['soc'], sha256: sha(SOC) },
        ],
        connections: [{ name: 'main', kind: 'postgres', url: '${env:PG_DADM}', grants: [{ subject: 'agent-dadm', access: 'read' }] }],
      },
    });
    const gateway: Gateway = createGateway({ config, env: { PG_DADM: 'postgres://postgres@127.0.0.1:5432/postgres' }, bus, logger, metrics: new MetricsRegistry(), topics: { events: EVENTS, decisions: DECISIONS } });
    await gateway.start();
    open.push(() => gateway.close());
    const client = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, AGENT);
    open.push(() => client.close());
    const admin = `http://127.0.0.1:${gateway.adminPort}`;
    const call = (method: string, path: string, token: string, body?: object) =>
      fetch(`${admin}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

    const producer = await bus.producer();
    const createdAt = Date.now();
    await producer.send(DECISIONS, [
      { key: 'credential:dadm-agent', value: encodeDecision({ decisionId: 'dec-dadm', subject: 'credential:dadm-agent', effect: DecisionEffect.BLOCK, source: 'data-leakage', reason: 'bulk read of payroll', alertId: 'al-1', environment: 'itest', createdAt, expiresAt: createdAt + 3_600_000 }) },
    ]);
    await producer.close();
    await eventually(() => gateway.decisionView.isBlocked(['credential:dadm-agent']), 'the block to reach the gateway', 30_000);
    const denied = await client.exec('main', 'select 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((denied as PcxError).code).toBe('PCX_BLOCKED_BY_DECISION');

    const list = await call('GET', '/decisions', SOC);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({
      decisions: [{ subject: 'credential:dadm-agent', decisionId: 'dec-dadm', source: 'data-leakage', reason: 'bulk read of payroll', alertId: 'al-1', environment: 'itest', createdAt, expiresAt: createdAt + 3_600_000 }],
    });

    // Not in the group: the agent itself may neither list nor lift its own block.
    for (const [method, body] of [['GET', undefined], ['DELETE', { reason: 'let me out' }]] as const) {
      const r = await call(method, method === 'GET' ? '/decisions' : `/decisions/${encodeURIComponent('credential:dadm-agent')}`, AGENT, body);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { code: string }).code).toBe('PCX_FORBIDDEN');
    }
    const anonymous = await fetch(`${admin}/decisions`);
    expect(anonymous.status).toBe(401);

    // No reason, no lift.
    for (const body of [undefined, {}, { reason: '  ' }]) {
      const r = await call('DELETE', `/decisions/${encodeURIComponent('credential:dadm-agent')}`, SOC, body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('PCX_BAD_REQUEST');
    }
    const badSubject = await call('DELETE', '/decisions/nonsense', SOC, { reason: 'x' });
    expect(badSubject.status).toBe(400);
    expect(gateway.decisionView.isBlocked(['credential:dadm-agent'])).toBeDefined();

    const lift = await call('DELETE', `/decisions/${encodeURIComponent('credential:dadm-agent')}`, SOC, { reason: 'false positive: quarterly payroll export' });
    expect(lift.status).toBe(200);
    expect(await lift.json()).toMatchObject({ subject: 'credential:dadm-agent', liftedBy: 'analyst@soc', reason: 'false positive: quarterly payroll export', applied: true, lifted: { decisionId: 'dec-dadm', source: 'data-leakage' } });
    // Answered once this gateway's view dropped it: the next Exec runs.
    expect((await client.exec('main', 'select 1')).rowCount).toBe(1);
    expect(await (await call('GET', '/decisions', SOC)).json()).toEqual({ decisions: [] });

    const tombstones: Array<Record<string, string>> = [];
    await bus.readToEnd(DECISIONS, (r) => {
      if (r.value === null) tombstones.push({ key: r.key?.toString('utf8') ?? '', ...r.headers });
    });
    expect(tombstones).toEqual([expect.objectContaining({ key: 'credential:dadm-agent', 'lifted-by': 'analyst@soc', reason: 'false positive: quarterly payroll export', 'decision-id': 'dec-dadm' })]);
  });
});
