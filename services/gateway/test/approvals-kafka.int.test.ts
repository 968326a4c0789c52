import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createKafkaBus, type Bus } from '@portcullis/bus';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';
import { decodeApprovalState } from '../src/approvals/codec.js';
import { createGateway, createGatewayClient, type ApprovalView, type Gateway } from '../src/index.js';
import { eventually, memoryLogger, uniqueName, withPg } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AGENT = `pcx_tok-agent-${randomBytes(8).toString('hex')}`;
const ALICE = `pcx_tok-alice-${randomBytes(8).toString('hex')}`;
const BOB = `pcx_tok-bob-${randomBytes(8).toString('hex')}`;
const EVENTS = uniqueTopic('gw.appr.events');
const DECISIONS = uniqueTopic('gw.appr.decisions');
const APPROVALS = uniqueTopic('gw.appr.approvals');
const schema = uniqueName('gw_appr_k');
const spoolDirs: string[] = [];
const logs = memoryLogger();
let bus: Bus;
const running: Gateway[] = [];

function gatewayOn(id: string): Gateway {
  const spool = mkdtempSync(join(tmpdir(), 'gw-appr-k-spool-'));
  spoolDirs.push(spool);
  const gw = createGateway({
    config: parseConfig({
      environment: 'prod',
      gateway: {
        id,
        grpc: { port: 0 },
        admin: { port: 0 },
        tokens: [
          { id: 'tok-agent', subject: 'agent-a', groups: ['etl'], sha256: sha(AGENT) },
          { id: 'tok-alice', subject: 'alice', kind: 'human', groups: ['dba'], sha256: sha(ALICE) },
          { id: 'tok-bob', subject: 'bob', kind: 'human', groups: ['dba'], sha256: sha(BOB) },
        ],
        connections: [{ name: 'main', kind: 'postgres', url: '${env:PG}', grants: [{ group: 'etl', access: 'write' }] }],
        spool: { dir: spool },
        approvals: { approvers: ['dba'], rules: [{ id: 'prod-writes', when: { isWrite: true }, approvals: 2 }] },
      },
    }),
    env: { PG: 'postgres://postgres@127.0.0.1:5432/test' },
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: EVENTS, decisions: DECISIONS, approvals: APPROVALS },
  });
  running.push(gw);
  return gw;
}

async function vote(gw: Gateway, tok: string, id: string, v: 'approve' | 'deny'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/approvals/${id}/${v}`, { method: 'POST', headers: { authorization: `Bearer ${tok}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function show(gw: Gateway, tok: string, id: string): Promise<ApprovalView> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/approvals/${id}`, { headers: { authorization: `Bearer ${tok}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as ApprovalView;
}

beforeAll(async () => {
  bus = createKafkaBus({ brokers: await kafkaBrokers(), clientId: 'gw-approvals-it', logger: logs.logger });
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, qty int NOT NULL)`);
    await c.query(`INSERT INTO ${schema}.items VALUES (1, 0)`);
  });
});

afterAll(async () => {
  for (const gw of running) await gw.close();
  await bus?.close();
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  for (const d of spoolDirs) rmSync(d, { recursive: true, force: true });
});

describe('approvals on Kafka', () => {
  it('survive a gateway restart: the next gateway rebuilds them from the compacted topic and takes the remaining vote', async () => {
    const cmd = `UPDATE ${schema}.items SET qty = 12 WHERE id = 1`;
    const first = gatewayOn('gw-appr-a');
    await first.start();
    const a = createGatewayClient(`127.0.0.1:${first.grpcPort}`, AGENT);
    const held = await a.exec('main', cmd).then(
      () => undefined,
      (e: unknown) => e,
    );
    a.close();
    expect(held).toBeInstanceOf(PcxError);
    const id = (held as PcxError).context['approvalId'] as string;
    expect((held as PcxError).code).toBe('PCX_APPROVAL_REQUIRED');
    expect((await vote(first, ALICE, id, 'approve')).json).toMatchObject({ status: 'pending', approvals: 1 });
    await first.close(); // flushes its publisher: the request and alice's vote are on the topic

    const second = gatewayOn('gw-appr-b');
    await second.start();
    // Rebuilt before serving: no waiting for the subscription.
    expect(await show(second, BOB, id)).toMatchObject({ status: 'pending', approvals: 1, commandText: cmd, requester: 'agent-a', votes: [{ approver: 'alice', vote: 'approve' }] });
    const again = await vote(second, ALICE, id, 'approve');
    expect([again.status, again.json['code']]).toEqual([400, 'PCX_BAD_REQUEST']);
    expect(again.json['message']).toMatch(/already voted/);
    expect((await vote(second, BOB, id, 'approve')).json).toMatchObject({ status: 'approved', approvals: 2 });

    const b = createGatewayClient(`127.0.0.1:${second.grpcPort}`, AGENT);
    try {
      expect(Number((await b.exec('main', cmd, { approvalId: id })).rowCount)).toBe(1);
      const reuse = await b.exec('main', cmd, { approvalId: id }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((reuse as PcxError).code).toBe('PCX_BAD_REQUEST');
    } finally {
      b.close();
    }
    // The topic's latest value for the id says USED, so a third gateway would refuse it too.
    await eventually(
      async () => {
        let latest: string | undefined;
        await bus.readToEnd(APPROVALS, (r) => {
          if (r.value && r.key?.toString() === id) latest = decodeApprovalState(r.value).status;
        });
        return latest === 'used' ? latest : undefined;
      },
      'the USED state on the topic',
      60_000,
    );
  });
});
