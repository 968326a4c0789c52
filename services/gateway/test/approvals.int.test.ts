import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { Action, Phase, pb } from '@portcullis/proto';
import { decodeApprovalState } from '../src/approvals/codec.js';
import type { ApprovalState } from '../src/approvals/state.js';
import { createGateway, createGatewayClient, type ApprovalUpdate, type ApprovalView, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventsOf, eventually, memoryLogger, readEvents, uniqueName, withPg } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const token = (who: string) => `pcx_tok-${who}-${randomBytes(8).toString('hex')}`;
const AGENT = token('agent');
const ALICE = token('alice');
const BOB = token('bob');
const CAROL = token('carol');
const schema = uniqueName('gw_appr');
const EVENTS = uniqueName('appr.events');
const DECISIONS = uniqueName('appr.decisions');
const APPROVALS = uniqueName('appr.approvals');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-appr-spool-'));
const logs = memoryLogger();

/** The local receiver of the approval webhook: every body it got, and the status it answers. */
const webhook = { bodies: [] as Array<{ text: string; blocks?: unknown[] }>, status: 200 };
let webhookServer: Server;
let bus: Bus;
let gateway: Gateway;
let agent: PortcullisGatewayClient;
let carolGrpc: PortcullisGatewayClient;
const metrics = new MetricsRegistry();

function config(webhookUrl: string) {
  return parseConfig({
    environment: 'prod',
    gateway: {
      id: 'gw-appr',
      grpc: { port: 0 },
      admin: { port: 0 },
      tokens: [
        { id: 'tok-agent', subject: 'agent-a', kind: 'agent', groups: ['etl'], sha256: sha(AGENT) },
        { id: 'tok-alice', subject: 'alice', kind: 'human', groups: ['dba'], sha256: sha(ALICE) },
        { id: 'tok-bob', subject: 'bob', kind: 'human', groups: ['dba', 'oncall'], sha256: sha(BOB) },
        { id: 'tok-carol', subject: 'carol', kind: 'human', groups: ['dev'], sha256: sha(CAROL) },
      ],
      connections: [
        {
          name: 'main',
          kind: 'postgres',
          url: '${env:PG}',
          grants: [
            { group: 'etl', access: 'write' },
            { group: 'dev', access: 'write' },
          ],
        },
      ],
      spool: { dir: spoolDir },
      approvals: {
        approvers: ['dba'],
        webhookUrl,
        rules: [
          { id: 'ledger-two-man', when: { isWrite: true, tables: ['ledger'] }, approvals: 2 },
          { id: 'short-lived', when: { isWrite: true, tables: ['ephemeral'] }, ttlMs: 300 },
          { id: 'prod-writes', when: { environment: ['prod'], isWrite: true }, reason: 'a write in prod' },
        ],
      },
    },
  });
}

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    for (const t of ['items', 'ledger', 'ephemeral']) {
      await c.query(`CREATE TABLE ${schema}.${t} (id int PRIMARY KEY, qty int NOT NULL)`);
      await c.query(`INSERT INTO ${schema}.${t} SELECT g, 0 FROM generate_series(1, 20) g`);
    }
  });
  webhookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      webhook.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string });
      res.writeHead(webhook.status).end();
    });
  });
  await new Promise<void>((r) => webhookServer.listen(0, '127.0.0.1', r));
  bus = createMemoryBus({ logger: logs.logger });
  gateway = createGateway({
    config: config(`http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/hook`),
    env: { PG: 'postgres://postgres@127.0.0.1:5432/test' },
    bus,
    logger: logs.logger,
    metrics,
    topics: { events: EVENTS, decisions: DECISIONS, approvals: APPROVALS },
  });
  await gateway.start();
  agent = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, AGENT);
  carolGrpc = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, CAROL);
});

afterAll(async () => {
  agent?.close();
  carolGrpc?.close();
  await gateway?.close();
  await bus?.close();
  await new Promise<void>((r) => (webhookServer ? webhookServer.close(() => r()) : r()));
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  rmSync(spoolDir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<PcxError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PcxError);
  return e as PcxError;
}

/** Runs `command`, expects the hold, and returns the approval id from the pcx-approval-id trailer. */
async function held(command: string): Promise<{ id: string; error: PcxError }> {
  const error = await rejection(agent.exec('main', command));
  expect(error.code).toBe('PCX_APPROVAL_REQUIRED');
  const id = error.context['approvalId'];
  expect(typeof id).toBe('string');
  expect(error.message).toContain(id as string);
  return { id: id as string, error };
}

async function admin(tok: string | undefined, method: 'GET' | 'POST', path: string, body?: object): Promise<{ status: number; json: Record<string, unknown>; type: string }> {
  const res = await fetch(`http://127.0.0.1:${gateway.adminPort}${path}`, {
    method,
    headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, type: res.headers.get('content-type') ?? '' };
}

const vote = (tok: string, id: string, v: 'approve' | 'deny', comment = '') => admin(tok, 'POST', `/approvals/${id}/${v}`, { comment });

async function approvalRecords(id: string): Promise<ApprovalState[]> {
  const out: ApprovalState[] = [];
  await bus.readToEnd(APPROVALS, (r) => {
    if (r.value && r.key?.toString() === id) out.push(decodeApprovalState(r.value));
  });
  return out;
}

const sql = (s: string) => s.replaceAll('$S', schema);

describe('approvals: hold, approve, re-submit', () => {
  it('holds a write in prod: PCX_APPROVAL_REQUIRED with the id, a PENDING_APPROVAL event, the request on the topic and the webhook', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 987654321 WHERE id = 1');
    const { id, error } = await held(cmd);
    expect(error.message).toMatch(/^a write in prod: held for approval \S+ \(rule prod-writes, needs 1 approval\(s\) from dba\); re-submit the same command with approval_id /);

    const [request] = await eventsOf(bus, EVENTS, error.context['requestId'] as string, 1);
    expect(request?.phase).toBe(Phase.REQUEST);
    expect(request?.verdict?.action).toBe(Action.PENDING_APPROVAL);
    expect(request?.verdict?.approvalId).toBe(id);
    expect(request?.verdict?.ruleId).toBe('prod-writes');

    const [record] = await approvalRecords(id);
    expect(record?.status).toBe('pending');
    expect(record?.request).toMatchObject({ connection: 'main', requester: 'agent-a', requesterCredentialId: 'tok-agent', commandText: cmd, ruleId: 'prod-writes', requiredApprovals: 1, approverGroups: ['dba'], environment: 'prod' });

    const body = await eventually(() => webhook.bodies.find((b) => b.text.includes(id)), 'the webhook for the approval');
    expect(body.text).toMatch(/agent-a wants to run an UPDATE on main \(prod\)/);
    expect(JSON.stringify(body.blocks)).toContain('qty = ?');
    // The chat message carries the fingerprint, not the literal values (one no timestamp or id will contain by chance).
    expect(JSON.stringify(body)).not.toContain('987654321');
  });

  it('admin API: a second identity approves; the requester, an outsider, a second vote and an unknown id are refused with stable codes', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 7 WHERE id = 2');
    const { id } = await held(cmd);

    const pending = await admin(ALICE, 'GET', '/approvals?status=pending');
    expect(pending.status).toBe(200);
    expect((pending.json['approvals'] as ApprovalView[]).map((a) => a.approvalId)).toContain(id);
    const shown = await admin(ALICE, 'GET', `/approvals/${id}`);
    expect(shown.json).toMatchObject({ approvalId: id, status: 'pending', commandText: cmd, requester: 'agent-a', approvals: 0, requiredApprovals: 1 });

    const noToken = await admin(undefined, 'GET', '/approvals');
    expect([noToken.status, noToken.json['code']]).toEqual([401, 'PCX_AUTH_MISSING']);
    expect(noToken.type).toContain('application/problem+json');
    const outsider = await admin(CAROL, 'GET', `/approvals/${id}`);
    expect([outsider.status, outsider.json['code']]).toEqual([404, 'PCX_NOT_FOUND']);
    expect((await admin(CAROL, 'GET', '/approvals?status=pending')).json['approvals']).toEqual([]);
    const own = await vote(AGENT, id, 'approve');
    expect([own.status, own.json['code']]).toEqual([403, 'PCX_FORBIDDEN']);
    expect(own.json['message']).toMatch(/own request/);
    const unknown = await vote(ALICE, 'no-such-approval', 'approve');
    expect([unknown.status, unknown.json['code']]).toEqual([404, 'PCX_NOT_FOUND']);
    const badStatus = await admin(ALICE, 'GET', '/approvals?status=maybe');
    expect([badStatus.status, badStatus.json['code']]).toEqual([400, 'PCX_BAD_REQUEST']);

    const ok = await vote(ALICE, id, 'approve', 'looks right');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'approved', approvals: 1, votes: [{ approver: 'alice', vote: 'approve', comment: 'looks right' }] });
    const twice = await vote(ALICE, id, 'approve');
    expect([twice.status, twice.json['code']]).toEqual([400, 'PCX_BAD_REQUEST']);
    expect(twice.json['message']).toMatch(/already voted/);
  });

  it('approvers read the command with its PII redacted; the exact text still binds and runs', async () => {
    const card = '4111 1111 1111 1111';
    const cmd = sql(`UPDATE $S.items SET qty = length('${card}') WHERE id = 18`);
    const { id } = await held(cmd);
    const [record] = await approvalRecords(id);
    expect(record?.request?.commandText).toBe(sql("UPDATE $S.items SET qty = length('[REDACTED:card]') WHERE id = 18"));
    expect(JSON.stringify((await admin(ALICE, 'GET', `/approvals/${id}`)).json)).not.toContain(card);
    expect((await vote(ALICE, id, 'approve')).status).toBe(200);
    // The redacted text is not the command: it does not redeem the approval.
    const redacted = await rejection(agent.exec('main', record?.request?.commandText ?? '', { approvalId: id }));
    expect([redacted.code, redacted.message]).toEqual(['PCX_FORBIDDEN', expect.stringMatching(/binds another command/) as string]);
    const res = await agent.exec('main', cmd, { approvalId: id });
    expect(Number(res.rowCount)).toBe(1);
    expect(await withPg(async (c) => (await c.query(sql('SELECT qty FROM $S.items WHERE id = 18'))).rows[0])).toEqual({ qty: 19 });
  });

  it('an approval binds the declared destination of the results too: approvers see it, another one is refused', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 55 WHERE id = 19');
    const first = await rejection(agent.exec('main', cmd, { destination: 'https://Reports.internal:443/upload?sig=abc' }));
    const id = String(first.context['approvalId']);
    const shown = await admin(ALICE, 'GET', `/approvals/${id}`);
    expect(shown.json['destination']).toBe('https://reports.internal');
    expect((await vote(ALICE, id, 'approve')).status).toBe(200);
    const elsewhere = await rejection(agent.exec('main', cmd, { approvalId: id, destination: 'https://paste.example' }));
    expect([elsewhere.code, elsewhere.message]).toEqual(['PCX_FORBIDDEN', expect.stringMatching(/destination differs/) as string]);
    const undeclared = await rejection(agent.exec('main', cmd, { approvalId: id }));
    expect(undeclared.message).toMatch(/destination differs/);
    const res = await agent.exec('main', cmd, { approvalId: id, destination: 'https://reports.internal' });
    expect(Number(res.rowCount)).toBe(1);
  });

  it('re-submitted with its approval id, exactly that command runs once (APPROVED events); another text, another caller or a reuse is refused', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 99 WHERE id = 3');
    const { id, error } = await held(cmd);
    expect((await vote(BOB, id, 'approve')).status).toBe(200);

    const other = await rejection(agent.exec('main', sql('UPDATE $S.items SET qty = 98 WHERE id = 3'), { approvalId: id }));
    expect(other.code).toBe('PCX_FORBIDDEN');
    expect(other.message).toMatch(/binds another command \(fingerprint differs\)|text differs/);
    const stolen = await rejection(carolGrpc.exec('main', cmd, { approvalId: id }));
    expect(stolen.code).toBe('PCX_FORBIDDEN');
    expect(stolen.message).toMatch(/requester differs/);

    const res = await agent.exec('main', cmd, { approvalId: id });
    expect(Number(res.rowCount)).toBe(1);
    expect(await withPg(async (c) => (await c.query(sql('SELECT qty FROM $S.items WHERE id = 3'))).rows[0])).toEqual({ qty: 99 });

    const held1 = await eventsOf(bus, EVENTS, error.context['requestId'] as string, 1);
    expect(held1.map((e) => e.verdict?.action)).toEqual([Action.PENDING_APPROVAL]);
    const ran = await eventsOf(bus, EVENTS, res.requestId ?? '', 2);
    expect(ran.map((e) => [e.phase, e.verdict?.action, e.verdict?.approvalId])).toEqual([
      [Phase.REQUEST, Action.APPROVED, id],
      [Phase.RESPONSE, Action.APPROVED, id],
    ]);
    expect(ran[1]?.verdict?.reason).toBe('approved by bob');

    const again = await rejection(agent.exec('main', cmd, { approvalId: id }));
    expect(again.code).toBe('PCX_BAD_REQUEST');
    expect(again.message).toMatch(/is used/);
    expect((await admin(BOB, 'GET', `/approvals/${id}`)).json).toMatchObject({ status: 'used', usedByRequestId: res.requestId });
    const unknown = await rejection(agent.exec('main', cmd, { approvalId: 'not-an-approval' }));
    expect(unknown.code).toBe('PCX_NOT_FOUND');
    const denied = (await readEvents(bus, EVENTS)).map((e) => e.event).filter((e) => e.verdict?.ruleId === 'approvals.used');
    expect(denied.length).toBeGreaterThan(0);
  });

  it('N of M: a rule needing 2 approvals stays pending after one and runs after a second, distinct approver', async () => {
    const cmd = sql('UPDATE $S.ledger SET qty = qty + 5 WHERE id = 1');
    const { id } = await held(cmd);
    expect((await vote(ALICE, id, 'approve')).json).toMatchObject({ status: 'pending', approvals: 1, requiredApprovals: 2 });
    const early = await rejection(agent.exec('main', cmd, { approvalId: id }));
    expect(early.code).toBe('PCX_APPROVAL_REQUIRED');
    expect(early.message).toMatch(/1 of 2/);
    expect((await vote(ALICE, id, 'approve')).json['message']).toMatch(/already voted/);
    expect((await vote(BOB, id, 'approve')).json).toMatchObject({ status: 'approved', approvals: 2 });
    expect(Number((await agent.exec('main', cmd, { approvalId: id })).rowCount)).toBe(1);
  });
});

/** The pending approval of `command` as an approver finds it (the held Exec has not answered yet). */
async function pendingFor(command: string): Promise<string> {
  return eventually(async () => {
    const list = (await admin(ALICE, 'GET', '/approvals?status=pending')).json['approvals'] as ApprovalView[];
    return list.find((a) => a.commandText === command)?.approvalId;
  }, `the approval of ${command}`);
}

describe('approvals: waiting (hold_ms and WaitApproval)', () => {
  it('Exec with hold_ms waits, then runs once approved; its events go PENDING_APPROVAL → APPROVED', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 5 WHERE id = 4');
    const exec = agent.exec('main', cmd, { holdMs: 60_000, timeoutMs: 90_000 });
    const id = await pendingFor(cmd);
    expect((await vote(ALICE, id, 'approve')).status).toBe(200);
    const res = await exec;
    expect(Number(res.rowCount)).toBe(1);
    const evs = await eventsOf(bus, EVENTS, res.requestId ?? '', 3);
    expect(evs.map((e) => [e.phase, e.verdict?.action, e.verdict?.approvalId])).toEqual([
      [Phase.REQUEST, Action.PENDING_APPROVAL, id],
      [Phase.REQUEST, Action.APPROVED, id],
      [Phase.RESPONSE, Action.APPROVED, id],
    ]);
    expect((await admin(ALICE, 'GET', `/approvals/${id}`)).json['status']).toBe('used');
  });

  it('Exec with hold_ms fails PCX_FORBIDDEN when denied, and closes its REQUEST with a RESPONSE', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 6 WHERE id = 5');
    const exec = rejection(agent.exec('main', cmd, { holdMs: 60_000, timeoutMs: 90_000 }));
    const id = await pendingFor(cmd);
    expect((await vote(BOB, id, 'deny', 'not during the freeze')).json).toMatchObject({ status: 'denied' });
    const e = await exec;
    expect(e.code).toBe('PCX_FORBIDDEN');
    expect(e.message).toMatch(/denied by bob: not during the freeze/);
    expect(e.context['approvalId']).toBe(id);
    const evs = await eventsOf(bus, EVENTS, e.context['requestId'] as string, 2);
    expect(evs.map((x) => [x.phase, x.verdict?.action, x.response?.errorCode ?? ''])).toEqual([
      [Phase.REQUEST, Action.PENDING_APPROVAL, ''],
      [Phase.RESPONSE, Action.DENY, 'PCX_FORBIDDEN'],
    ]);
    expect((await rejection(agent.exec('main', cmd, { approvalId: id }))).code).toBe('PCX_FORBIDDEN');
    expect(await withPg(async (c) => (await c.query(sql('SELECT qty FROM $S.items WHERE id = 5'))).rows[0])).toEqual({ qty: 0 });
  });

  it('WaitApproval streams the state, then the approval, and ends; an outsider gets PCX_NOT_FOUND', async () => {
    const cmd = sql('UPDATE $S.items SET qty = 8 WHERE id = 6');
    const { id } = await held(cmd);
    const updates: ApprovalUpdate[] = [];
    let voted: Promise<unknown> | undefined;
    const last = await agent.waitApproval(id, 60_000, (u) => {
      updates.push(u);
      // Vote only once the stream is open, so the approval must arrive as an update.
      voted ??= vote(ALICE, id, 'approve', 'go');
    });
    await voted;
    expect(updates[0]?.status).toBe(pb.ApprovalStatus.APPROVAL_STATUS_PENDING);
    expect(last?.status).toBe(pb.ApprovalStatus.APPROVAL_STATUS_APPROVED);
    expect(last?.votes.map((v) => [v.approver, v.vote, v.comment])).toEqual([['alice', pb.ApprovalVote.VOTE_APPROVE, 'go']]);
    expect((await rejection(carolGrpc.waitApproval(id, 1_000))).code).toBe('PCX_NOT_FOUND');
    expect(Number((await agent.exec('main', cmd, { approvalId: id })).rowCount)).toBe(1);
  });
});

describe('approvals: expiry and a failing webhook', () => {
  it('an approval past its TTL is expired: no votes, no run, and a hold_ms Exec fails', async () => {
    const cmd = sql('UPDATE $S.ephemeral SET qty = 1 WHERE id = 1');
    const { id } = await held(cmd);
    await eventually(async () => ((await admin(ALICE, 'GET', `/approvals/${id}`)).json['status'] === 'expired' ? true : undefined), 'expiry');
    const late = await vote(ALICE, id, 'approve');
    expect([late.status, late.json['code']]).toEqual([400, 'PCX_BAD_REQUEST']);
    expect(late.json['message']).toMatch(/is expired/);
    const run = await rejection(agent.exec('main', cmd, { approvalId: id }));
    expect(run.code).toBe('PCX_BAD_REQUEST');
    expect(run.message).toMatch(/is expired/);

    const waited = await rejection(agent.exec('main', sql('UPDATE $S.ephemeral SET qty = 2 WHERE id = 2'), { holdMs: 60_000, timeoutMs: 90_000 }));
    expect(waited.code).toBe('PCX_BAD_REQUEST');
    expect(waited.message).toMatch(/is expired/);
    expect(await withPg(async (c) => (await c.query(sql('SELECT sum(qty)::int AS s FROM $S.ephemeral'))).rows[0])).toEqual({ s: 0 });
  });

  it('a webhook that fails is counted and logged, and the hold still answers', async () => {
    webhook.status = 500;
    try {
      const { id } = await held(sql('UPDATE $S.items SET qty = 3 WHERE id = 7'));
      await eventually(() => (metrics.render().match(/portcullis_gateway_approval_webhook_total\{outcome="failed"\} (\d+)/)?.[1] === '1' ? true : undefined), 'the failed webhook count');
      expect(logs.text()).toMatch(new RegExp(`"approval_id":"${id}".*approval webhook failed`));
      expect(logs.text()).not.toContain('/hook');
    } finally {
      webhook.status = 200;
    }
  });
});
