import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus, createMemoryBus, createSpoolingPublisher, type Bus, type SpoolingPublisher } from '@portcullis/bus';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { memoryLogger, uniqueName, withPg } from './support/harness.js';

const TOKEN = `pcx_tok-${randomBytes(8).toString('hex')}`;
const schema = uniqueName('gw_strict');
const logs = memoryLogger();

let decisionsBus: Bus;
let deadKafka: Bus;
let publisher: SpoolingPublisher;
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-strict-spool-'));
let gateway: Gateway;
let client: PortcullisGatewayClient;

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.probe (n int)`);
  });
  // Decisions come from a working bus; events go to a Kafka bus where nothing listens.
  decisionsBus = createMemoryBus({ logger: logs.logger });
  deadKafka = createKafkaBus({ brokers: ['127.0.0.1:1'], clientId: 'gw-strict-test', logger: logs.logger, connectionTimeoutMs: 300, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } });
  publisher = await createSpoolingPublisher(deadKafka, { dir: spoolDir, maxBytes: 1 << 20, logger: logs.logger, closeTimeoutMs: 500 });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      id: 'gw-strict',
      grpc: { port: 0 },
      admin: { port: 0 },
      tokens: [{ id: 'tok-s', subject: 'agent-s', sha256: createHash('sha256').update(TOKEN).digest('hex') }],
      connections: [
        { name: 'strict', kind: 'postgres', url: '${env:PG}', audit: 'strict', grants: [{ subject: 'agent-s', access: 'write' }] },
        { name: 'normal', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent-s', access: 'write' }] },
      ],
    },
  });
  gateway = createGateway({
    config,
    env: { PG: 'postgres://postgres@127.0.0.1:5432/test' },
    bus: decisionsBus,
    publisher,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: uniqueName('strict.events'), decisions: uniqueName('strict.decisions') },
    auditTimeoutMs: 1_000,
  });
  await gateway.start();
  client = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN);
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await publisher?.close();
  await deadKafka?.close();
  await decisionsBus?.close();
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('strict audit with the broker down', () => {
  it('refuses a strict connection with UNAVAILABLE PCX_AUDIT_UNAVAILABLE and does not run the command', async () => {
    const e = await client.exec('strict', `INSERT INTO ${schema}.probe VALUES (1)`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(PcxError);
    expect((e as PcxError).code).toBe('PCX_AUDIT_UNAVAILABLE');
    expect((e as PcxError).message).toContain('it was not run');
    const n = await withPg((c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.probe`));
    expect(n.rows[0]?.n).toBe(0);
  });

  it('still serves a normal connection, publishing without waiting', async () => {
    const r = await client.exec('normal', `INSERT INTO ${schema}.probe VALUES (2)`);
    expect(r.commandTag).toBe('INSERT 0 1');
    const n = await withPg((c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.probe`));
    expect(n.rows[0]?.n).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/portcullis_gateway_audit_refused_total\{connection="strict"\} 1/);
    // Both commands' events wait on the publisher (memory queue or disk spool) for the broker.
    const st = publisher.stats();
    expect(st.delivered).toBe(0);
    expect(st.queued + st.spooledRecords).toBeGreaterThanOrEqual(4);
  });
});
