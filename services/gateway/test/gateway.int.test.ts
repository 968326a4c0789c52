import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, type PcxError } from '@portcullis/common';
import { createMemoryBus, type Bus, type BusProducer } from '@portcullis/bus';
import { Action, ConnectionKind, DecisionEffect, encodeDecision, GatewayClient, IdentityKind, Phase, SubjectKind, type AccessEvent } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventsOf, eventually, memoryLogger, readEvents, uniqueName, withPg, denial } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TOKEN_A = `pcx_tok-a-${randomBytes(8).toString('hex')}`;
const TOKEN_B = `pcx_tok-b-${randomBytes(8).toString('hex')}`;
const TOKEN_PRE = `pcx_tok-pre-${randomBytes(8).toString('hex')}`;
const TOKEN_OLD = `pcx_tok-old-${randomBytes(8).toString('hex')}`;
const CANARY = `canary${randomBytes(8).toString('hex')}`;
const schema = uniqueName('gw_it');
const EVENTS = uniqueName('it.events');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-it-spool-'));
const DECISIONS = uniqueName('it.decisions');

const env = {
  PG_MAIN: `postgres://postgres:${CANARY}@127.0.0.1:5432/test`,
  // Nothing listens on port 1: the target is down.
  PG_DOWN: `postgres://postgres:${CANARY}@127.0.0.1:1/test`,
  TOKEN_B,
};

function config() {
  return parseConfig({
    environment: 'itest',
    gateway: {
      id: 'gw-it',
      grpc: { port: 0 },
      admin: { port: 0 },
      tokens: [
        { id: 'tok-a', subject: 'agent-a', kind: 'agent', groups: ['etl'], sha256: sha(TOKEN_A) },
        { id: 'tok-b', subject: 'agent-b', kind: 'service', token: '${env:TOKEN_B}' },
        { id: 'tok-pre', subject: 'agent-pre', sha256: sha(TOKEN_PRE) },
        { id: 'tok-old', subject: 'agent-old', sha256: sha(TOKEN_OLD) },
      ],
      connections: [
        { name: 'main', kind: 'postgres', url: '${env:PG_MAIN}', grants: [{ group: 'etl', access: 'admin' }, { subject: 'agent-b', access: 'write' }, { subject: 'agent-pre', access: 'read' }, { subject: 'agent-old', access: 'read' }] },
        { name: 'down', kind: 'postgres', url: '${env:PG_DOWN}', pool: { connectTimeoutMs: 3000 }, grants: [{ group: 'etl', access: 'admin' }] },
        { name: 'ro', kind: 'postgres', url: '${env:PG_MAIN}', display: 'reporting-replica', grants: [{ group: 'etl', access: 'read' }] },
        { name: 'audited', kind: 'postgres', url: '${env:PG_MAIN}', audit: 'strict', grants: [{ group: 'etl', access: 'admin' }] },
        // Default deny: no grants admits nobody.
        { name: 'nogrants', kind: 'postgres', url: '${env:PG_MAIN}' },
        { name: 'masked', kind: 'postgres', url: '${env:PG_MAIN}', grants: [{ group: 'etl', access: 'admin' }], masking: { detectors: { email: 'redact' } } },
        { name: 'held', kind: 'postgres', url: '${env:PG_MAIN}', grants: [{ group: 'etl', access: 'admin' }] },
        { name: 'private', kind: 'postgres', url: '${env:PG_MAIN}', grants: [{ subject: 'someone-else', access: 'admin' }] },
      ],
      limits: { maxCommandBytes: 4096, maxEventPayloadBytes: 2048, maxResultRows: 50 },
      approvals: { rules: [{ id: 'hold-held', when: { connections: ['held'] }, approverGroups: ['dba'] }] },
      spool: { dir: spoolDir },
    },
  });
}

let bus: Bus;
let decisions: BusProducer;
let gateway: Gateway;
let a: PortcullisGatewayClient;
let b: PortcullisGatewayClient;
const logs = memoryLogger();

async function publishDecision(key: string, d: Record<string, unknown> | null): Promise<void> {
  await decisions.send(DECISIONS, [{ key, value: d === null ? null : encodeDecision({ subject: key, effect: DecisionEffect.BLOCK, createdAt: Date.now(), ...d }) }]);
}

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text, price numeric(12,2), big int8, created_at timestamptz, ok bool, tags text[])`);
    await c.query(`INSERT INTO ${schema}.items VALUES (1, 'widget', 9.99, 9007199254740993, '2024-01-02T03:04:05Z', true, '{a,b}'), (2, NULL, 0.10, -1, NULL, false, NULL)`);
    await c.query(`CREATE TABLE ${schema}.many AS SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 200) g`);
  });
  bus = createMemoryBus({ logger: logs.logger });
  await bus.ensureTopics([
    { name: EVENTS, partitions: 3, cleanupPolicy: 'delete' },
    { name: DECISIONS, partitions: 3, cleanupPolicy: 'compact' },
  ]);
  decisions = await bus.producer();
  // Before the gateway starts: a live block and an expired one, which start() must read before serving.
  await publishDecision('identity:agent-pre', { decisionId: 'dec-pre', source: 'soc', reason: 'pre-existing block' });
  await publishDecision('identity:agent-old', { decisionId: 'dec-old', source: 'soc', reason: 'expired', expiresAt: Date.now() - 60_000 });

  gateway = createGateway({ config: config(), env, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS, decisions: DECISIONS } });
  await gateway.start();
  const address = `127.0.0.1:${gateway.grpcPort}`;
  a = createGatewayClient(address, TOKEN_A, { host: 'build-7', container: 'c-123', process: 'agent.py', configHash: 'cfg-1' });
  b = createGatewayClient(address, TOKEN_B);
});

afterAll(async () => {
  a?.close();
  b?.close();
  await gateway?.close();
  await decisions?.close();
  await bus?.close();
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('gateway over gRPC against Postgres', () => {
  it('runs a SELECT, maps types exactly and emits REQUEST and RESPONSE events', async () => {
    const res = await a.exec('main', `SELECT id, name, price, big, created_at, ok, tags FROM ${schema}.items WHERE id > 0 ORDER BY id`);
    expect(res.columns).toEqual([
      { name: 'id', type: 'int4' },
      { name: 'name', type: 'text' },
      { name: 'price', type: 'numeric' },
      { name: 'big', type: 'int8' },
      { name: 'created_at', type: 'timestamptz' },
      { name: 'ok', type: 'bool' },
      { name: 'tags', type: '_text' },
    ]);
    expect(res.rows?.[0]?.values).toEqual([{ number: 1 }, { text: 'widget' }, { text: '9.99' }, { text: '9007199254740993' }, { text: expect.stringMatching(/^2024-01-02/) as string }, { boolean: true }, { text: '{a,b}' }]);
    expect(res.rows?.[1]?.values?.[1]).toEqual({ null: true });
    expect(res.rowCount).toBe(2);
    expect(res.commandTag).toBe('SELECT 2');
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(req?.phase).toBe(Phase.REQUEST);
    expect(resp?.phase).toBe(Phase.RESPONSE);
    for (const e of [req, resp] as AccessEvent[]) {
      expect(e).toMatchObject({ sessionId: res.sessionId, environment: 'itest', gatewayId: 'gw-it' });
      expect(e.identity).toMatchObject({ subject: 'agent-a', kind: IdentityKind.AGENT, groups: ['etl'], credentialId: 'tok-a', issuer: 'portcullis:service-token' });
      expect(e.origin).toMatchObject({ peerIp: '127.0.0.1', declaredHost: 'build-7', containerId: 'c-123', process: 'agent.py', agentConfigHash: 'cfg-1' });
      expect(e.origin?.peerPort).toBeGreaterThan(0);
      expect(e.origin?.userAgent).toMatch(/grpc-node-js/);
      expect(e.connection).toMatchObject({ name: 'main', kind: ConnectionKind.POSTGRES, targetHost: '127.0.0.1:5432', targetDb: 'test' });
      expect(e.command).toMatchObject({ statementType: 'SELECT', tables: [`${schema}.items`], isWrite: false, hasWhere: true, hasLimit: false });
      expect(e.command?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(e.verdict?.action).toBe(Action.ALLOW);
    }
    expect(resp?.response).toMatchObject({ rows: 2, errorCode: '' });
    expect(resp?.response?.bytes).toBe(Buffer.byteLength(Buffer.from(resp!.payload).toString()));
    expect(JSON.parse(Buffer.from(resp!.payload).toString())).toMatchObject({ columns: ['id', 'name', 'price', 'big', 'created_at', 'ok', 'tags'], rows: [[1, 'widget', '9.99', '9007199254740993', expect.any(String), true, '{a,b}'], [2, null, '0.10', '-1', null, false, null]] });
    expect(resp?.payloadTruncated).toBe(false);
    const all = await readEvents(bus, EVENTS);
    expect(all.find((x) => x.event.requestId === res.requestId)?.record.key?.toString()).toBe('agent-a');
  });

  it('passes positional parameters, caps rows and truncates the event payload', async () => {
    const p = await b.exec('main', 'SELECT $1::int + 1 AS n, $2::text AS t, $3::bool AS f, $4::text AS z', { params: [41, 'hi', false, null] });
    expect(p.rows?.[0]?.values).toEqual([{ number: 42 }, { text: 'hi' }, { boolean: false }, { null: true }]);

    const many = await b.exec('main', `SELECT n, pad FROM ${schema}.many ORDER BY n`);
    expect(many.rows).toHaveLength(50);
    expect(many.rowCount).toBe(200);
    const [, resp] = await eventsOf(bus, EVENTS, many.requestId!);
    expect(resp?.payloadTruncated).toBe(true);
    expect(resp?.payload?.length).toBeLessThanOrEqual(2048);
    expect(resp?.response?.bytes).toBeGreaterThan(2048);
    expect(JSON.parse(Buffer.from(resp!.payload).toString())).toHaveProperty('rows');
  });

  it('a strict-audit connection runs once the broker has acknowledged its REQUEST', async () => {
    const res = await a.exec('audited', 'select 7 as n');
    expect(res.rows?.[0]?.values).toEqual([{ number: 7 }]);
    const [req] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(req?.connection?.name).toBe('audited');
  });

  it('unknown connection and a connection without a grant both answer NOT_FOUND PCX_CONNECTION_UNKNOWN', async () => {
    const unknown = await denial(a.exec('nope', 'select 1'));
    expect(unknown.code).toBe('PCX_CONNECTION_UNKNOWN');
    expect(unknown.context['grpcStatus']).toBe(status.NOT_FOUND);
    const hidden = await denial(a.exec('private', 'select 1'));
    expect(hidden.code).toBe('PCX_CONNECTION_UNKNOWN');
    expect(hidden.message).toBe('no connection named "private"');
    const [req] = await eventsOf(bus, EVENTS, String(hidden.context['requestId']), 1);
    expect(req?.verdict).toMatchObject({ action: Action.DENY, code: 'PCX_CONNECTION_UNKNOWN', ruleId: 'grants.none' });
    // Default deny: a connection with no grants at all admits nobody, not even a caller with admin elsewhere.
    const none = await denial(a.exec('nogrants', 'select 1'));
    expect(none.code).toBe('PCX_CONNECTION_UNKNOWN');
  });

  it('a read grant refuses writes with PCX_FORBIDDEN and reports the display host', async () => {
    const e = await denial(a.exec('ro', `DELETE FROM ${schema}.items`));
    expect(e.code).toBe('PCX_FORBIDDEN');
    const [req] = await eventsOf(bus, EVENTS, String(e.context['requestId']), 1);
    expect(req?.connection?.targetHost).toBe('reporting-replica');
    expect(req?.command).toMatchObject({ statementType: 'DELETE', isWrite: true, hasWhere: false });
    expect((await withPg((c) => c.query(`SELECT count(*)::int AS n FROM ${schema}.items`))).rows[0]).toEqual({ n: 2 });
  });

  it('missing token → UNAUTHENTICATED PCX_AUTH_MISSING; wrong token → PCX_AUTH_INVALID', async () => {
    const raw = new GatewayClient(`127.0.0.1:${gateway.grpcPort}`, credentials.createInsecure());
    const err = await new Promise<ServiceError>((resolve) => raw.exec({ connection: 'main', command: 'select 1' }, new Metadata(), {}, (e) => resolve(e!)));
    raw.close();
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toMatch(/^PCX_AUTH_MISSING: /);
    expect(err.metadata.get('pcx-code')).toEqual(['PCX_AUTH_MISSING']);

    const wrong = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, 'not-a-token');
    const e = await denial(wrong.exec('main', "select 'ann.probe@example.com'"));
    wrong.close();
    expect(e.code).toBe('PCX_AUTH_INVALID');
    expect(e.context['grpcStatus']).toBe(status.UNAUTHENTICATED);

    // Both refusals are audited: a REQUEST with no identity, the origin, the connection
    // asked for, the redacted command and the code — and nothing of the token.
    const refusals = await eventually(async () => {
      const evs = (await readEvents(bus, EVENTS)).map((x) => x.event).filter((ev) => ev.verdict?.code === 'PCX_AUTH_MISSING' || ev.verdict?.code === 'PCX_AUTH_INVALID');
      return evs.length >= 2 ? evs : undefined;
    }, 'two refusal events');
    for (const ev of refusals) {
      expect(ev.phase).toBe(Phase.REQUEST);
      expect(ev.verdict?.action).toBe(Action.DENY);
      expect(ev.identity?.subject ?? '').toBe('');
      expect(ev.origin?.peerIp).toBe('127.0.0.1');
      expect(ev.connection?.name).toBe('main');
    }
    const invalid = refusals.find((ev) => ev.verdict?.code === 'PCX_AUTH_INVALID');
    expect(invalid?.command?.text).toBe("select '[REDACTED:email]'");
    expect(JSON.stringify(refusals)).not.toContain('not-a-token');
  });

  it('a SQL error carries its SQLSTATE and nothing from the connection URL', async () => {
    const e = await denial(a.exec('main', `SELECT * FROM ${schema}.no_such_table`));
    expect(e.code).toBe('PCX_TARGET_ERROR');
    expect(e.context['grpcStatus']).toBe(status.FAILED_PRECONDITION);
    expect(e.message).toMatch(/^SQLSTATE 42P01: relation .* does not exist$/);
    const [req, resp] = await eventsOf(bus, EVENTS, String(e.context['requestId']));
    expect(req?.verdict?.action).toBe(Action.ALLOW);
    expect(resp?.response?.errorCode).toBe('42P01');
    expect(Buffer.from(resp!.payload).toString()).toContain('PCX_TARGET_ERROR');

    // The target echoes the URL's user name in this message; it must come back scrubbed.
    const echo = await denial(a.exec('main', 'SELECT current_user::int'));
    expect(echo.message).toBe('SQLSTATE 22P02: invalid input syntax for type integer: "[redacted]"');
  });

  it('a target that is down answers UNAVAILABLE PCX_TARGET_UNAVAILABLE with a clean message', async () => {
    const e = await denial(a.exec('down', 'select 1'));
    expect(e.code).toBe('PCX_TARGET_UNAVAILABLE');
    expect(e.context['grpcStatus']).toBe(status.UNAVAILABLE);
    expect(e.message).toBe('target down is unavailable');
  });

  it('an oversize command → RESOURCE_EXHAUSTED PCX_PAYLOAD_TOO_LARGE', async () => {
    const e = await denial(a.exec('main', `select '${'x'.repeat(5000)}'`));
    expect(e.code).toBe('PCX_PAYLOAD_TOO_LARGE');
    expect(e.context['grpcStatus']).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('reads decisions published before start before it serves, and ignores expired ones', async () => {
    const pre = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN_PRE);
    const old = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN_OLD);
    try {
      const e = await denial(pre.exec('main', 'select 1'));
      expect(e.code).toBe('PCX_BLOCKED_BY_DECISION');
      expect(e.message).toContain('dec-pre');
      expect((await old.exec('main', 'select 1')).rowCount).toBe(1);
    } finally {
      pre.close();
      old.close();
    }
  });

  it('a decision published while serving blocks the next Exec, and its tombstone lifts it', async () => {
    expect((await b.exec('main', 'select 1')).rowCount).toBe(1);
    await publishDecision('credential:tok-b', { decisionId: 'dec-42', source: 'credential-origin', reason: 'credential used from a new origin', subjectKind: SubjectKind.SUBJECT_CREDENTIAL, subjectValue: 'tok-b' });
    await eventually(() => gateway.decisionView.isBlocked(['credential:tok-b']), 'the block to reach the view');

    const e = await denial(b.exec('main', 'select 1'));
    expect(e.code).toBe('PCX_BLOCKED_BY_DECISION');
    expect(e.context['grpcStatus']).toBe(status.PERMISSION_DENIED);
    expect(e.message).toBe('blocked by decision dec-42 from credential-origin on credential:tok-b: credential used from a new origin');
    const [req] = await eventsOf(bus, EVENTS, String(e.context['requestId']), 1);
    expect(req?.verdict).toMatchObject({ action: Action.BLOCKED_BY_DECISION, code: 'PCX_BLOCKED_BY_DECISION', decisionId: 'dec-42' });

    await publishDecision('credential:tok-b', null);
    await eventually(() => (gateway.decisionView.isBlocked(['credential:tok-b']) ? undefined : true), 'the tombstone to reach the view');
    expect((await b.exec('main', 'select 1')).rowCount).toBe(1);
  });

  it('ListConnections shows the connections the caller may use, with its access', async () => {
    const r = await a.listConnections();
    expect(r.connections).toEqual([
      { name: 'main', kind: 'postgres', access: 'admin' },
      { name: 'down', kind: 'postgres', access: 'admin' },
      { name: 'ro', kind: 'postgres', access: 'read' },
      { name: 'audited', kind: 'postgres', access: 'admin' },
      { name: 'masked', kind: 'postgres', access: 'admin' },
      { name: 'held', kind: 'postgres', access: 'admin' },
    ]);
    const wrong = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, 'bad');
    expect((await denial(wrong.listConnections())).code).toBe('PCX_AUTH_INVALID');
    wrong.close();
  });

  it('admin HTTP serves /healthz and /metrics', async () => {
    const health = (await (await fetch(`http://127.0.0.1:${gateway.adminPort}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', gateway: 'gw-it', decisions: 1 });
    expect(health['publisher']).toMatchObject({ dropped: 0, delivered: expect.any(Number) as number });
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/portcullis_gateway_exec_total\{code="OK",connection="main"\} \d+/);
    expect(metrics).toMatch(/portcullis_gateway_exec_total\{code="PCX_CONNECTION_UNKNOWN",connection="\(unknown\)"\} 1/);
    expect(metrics).toMatch(/portcullis_gateway_exec_seconds_count\{connection="main"\} \d+/);
    expect(metrics).toContain('portcullis_gateway_decisions 1');
    expect(metrics).toMatch(/portcullis_gateway_publisher\{field="delivered"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${gateway.adminPort}/nope`)).status).toBe(404);
  });

  it('guardrail denial, masking, approval hold and a cancelled command answer nothing of the credential', async () => {
    const shown: string[] = [];
    const guard = await denial(a.exec('main', `DROP TABLE ${schema}.items`));
    expect(guard.code).toBe('PCX_GUARDRAIL_DENIED');
    const masked = await a.exec('masked', "SELECT 'someone@example.com' AS e, current_user AS u");
    expect(masked.rows?.[0]?.values?.[0]).toEqual({ text: '[REDACTED:email]' });
    const maskedErr = await denial(a.exec('masked', "SELECT 'someone@example.com'::int"));
    const held = await denial(a.exec('held', 'select 1'));
    expect(held.code).toBe('PCX_APPROVAL_REQUIRED');
    const session = uniqueName('canary-session');
    const running = a.exec('main', 'SELECT pg_sleep(10)', { sessionId: session }).then(
      () => undefined,
      (e: unknown) => e as PcxError,
    );
    await eventually(async () => ((await withPg((c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(10)'`))).rowCount ? true : undefined), 'the sleep to run');
    await publishDecision(`session:${session}`, { decisionId: 'dec-canary', source: 'soc' });
    const cancelled = await running;
    expect(cancelled?.code).toBe('PCX_BLOCKED_BY_DECISION');
    for (const e of [guard, maskedErr, held, cancelled]) shown.push(JSON.stringify({ m: e?.message, c: e?.context }));
    shown.push(JSON.stringify(masked));
    for (const s of shown) expect(s).not.toContain(CANARY);
  });

  it('no response, event or log line contains the credential canary', async () => {
    const events = await readEvents(bus, EVENTS);
    expect(events.length).toBeGreaterThan(10);
    for (const { record } of events) expect(record.value!.toString('latin1')).not.toContain(CANARY);
    expect(logs.text()).toContain('target refused command');
    expect(logs.text()).not.toContain(CANARY);
    const metrics = await (await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`)).text();
    expect(metrics).not.toContain(CANARY);
  });
});
