import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { GatewayClient, Phase, pb } from '@portcullis/proto';
import { createGateway, type ChangeRequestView, type Gateway } from '../src/index.js';
import { eventually, memoryLogger, readEvents, uniqueName } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const APPROVER = `pcx_${randomBytes(32).toString('base64url')}`;
const AGENT = `pcx_${randomBytes(32).toString('base64url')}`;
const EVENTS = uniqueName('chg.events');
const DECISIONS = uniqueName('chg.decisions');
const CHANGES = uniqueName('chg.changes');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-chg-spool-'));
const logs = memoryLogger();
const HOUR = 3_600_000;

let bus: Bus;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  bus = createMemoryBus({ logger: logs.logger });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      id: 'gw-chg',
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      tokens: [
        { id: 'tok-lead', subject: 'lead@example.com', kind: 'human', groups: ['change-board'], sha256: sha(APPROVER) },
        { id: 'tok-agent', subject: 'agent-chg', kind: 'agent', sha256: sha(AGENT) },
      ],
      // A URL carrying a password: the CONFIG event must not.
      connections: [{ name: 'main', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent-chg', access: 'read' }], masking: { key: '${env:MASK_KEY}' } }],
      changes: { approverGroups: ['change-board'], maxWindowMs: 7 * 24 * HOUR },
    },
  });
  gateway = createGateway({
    config,
    env: { PG: 'postgres://postgres:s3cr3t-pw@127.0.0.1:5432/test', MASK_KEY: 'mask-key-material-0123456789abcdef' },
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: EVENTS, decisions: DECISIONS, changes: CHANGES },
  });
  await gateway.start();
  base = `http://127.0.0.1:${gateway.adminPort}`;
});

afterAll(async () => {
  await gateway?.close();
  await bus?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const valid = () => ({
  title: 'add the paste endpoint for the nightly ETL',
  scope: 'agent-chg',
  kind: 'AGENT_MANIFEST',
  expected: { endpoints: ['https://paste.example.net:443'], env: ['API_TOKEN', { name: 'DB_PASSWORD', valueSha256: sha('rotated') }] },
  windowStart: Date.now() - HOUR,
  windowEnd: new Date(Date.now() + HOUR).toISOString(),
});

describe('change requests on the admin API', () => {
  it('files an approved change request on portcullis.changes, lists it, and withdraws it as REVOKED', async () => {
    const filed = await call('POST', '/changes', APPROVER, { ...valid(), changeId: 'chg-etl-1' });
    expect(filed.status).toBe(201);
    const v = filed.body as unknown as ChangeRequestView;
    expect(v).toMatchObject({ changeId: 'chg-etl-1', status: 'APPROVED', approvedBy: 'lead@example.com', requestedBy: 'lead@example.com', kind: 'AGENT_MANIFEST', environment: 'itest' });
    expect(v.expected.env).toEqual([
      { name: 'API_TOKEN', valueSha256: '' },
      { name: 'DB_PASSWORD', valueSha256: sha('rotated') },
    ]);

    const onTopic: Array<{ key: string; value: ReturnType<typeof pb.ChangeRequest.decode> }> = [];
    await bus.readToEnd(CHANGES, (r) => {
      if (r.key && r.value) onTopic.push({ key: r.key.toString(), value: pb.ChangeRequest.decode(r.value) });
    });
    expect(onTopic.map((r) => r.key)).toEqual(['chg-etl-1']);
    expect(onTopic[0]?.value).toMatchObject({ changeId: 'chg-etl-1', scope: 'agent-chg', kind: pb.ChangeKind.AGENT_MANIFEST, status: pb.ChangeStatus.CHANGE_APPROVED });

    const list = await call('GET', '/changes', APPROVER);
    expect((list.body['changes'] as ChangeRequestView[]).map((c) => c.changeId)).toContain('chg-etl-1');
    expect((await call('POST', '/changes', APPROVER, { ...valid(), changeId: 'chg-etl-1' })).body).toMatchObject({ code: 'PCX_BAD_REQUEST', field: 'changeId' });

    const withdrawn = await call('DELETE', '/changes/chg-etl-1', APPROVER);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ status: 'REVOKED', revokedBy: 'lead@example.com' });
    expect(withdrawn.body['revokedAt']).toBeGreaterThan(0);
    await eventually(async () => ((await call('GET', '/changes?status=revoked', APPROVER)).body['changes'] as ChangeRequestView[]).find((c) => c.changeId === 'chg-etl-1'), 'revoked in the list');
    expect((await call('DELETE', '/changes/nope', APPROVER)).status).toBe(404);
  });

  it('refuses callers outside gateway.changes.approverGroups, and callers without a token', async () => {
    const r = await call('POST', '/changes', AGENT, valid());
    expect(r.status).toBe(403);
    expect(r.body['code']).toBe('PCX_FORBIDDEN');
    expect((await call('GET', '/changes', AGENT)).status).toBe(403);
    expect((await fetch(`${base}/changes`)).status).toBe(401);
  });

  it('a malformed change request is a 400 that names the bad field, and nothing is published', async () => {
    const cases: Array<[unknown, string]> = [
      ['{not json', 'body'],
      [{ ...valid(), title: '' }, 'title'],
      [{ ...valid(), scope: undefined }, 'scope'],
      [{ ...valid(), scope: 'a*b' }, 'scope'],
      [{ ...valid(), kind: 'FIREWALL' }, 'kind'],
      [{ ...valid(), expected: undefined }, 'expected'],
      [{ ...valid(), expected: {} }, 'expected'],
      [{ ...valid(), expected: { endpoints: 'https://x' } }, 'expected.endpoints'],
      [{ ...valid(), expected: { endpoints: ['ok', ''] } }, 'expected.endpoints[1]'],
      [{ ...valid(), expected: { env: [{ name: 'DB_PASSWORD', valueSha256: 'hunter2' }] } }, 'expected.env[0].valueSha256'],
      [{ ...valid(), expected: { env: ['9BAD'] } }, 'expected.env[0].name'],
      [{ ...valid(), expected: { sections: ['grants:main'] } }, 'expected.sections'],
      [{ ...valid(), expected: { endpoints: ['x'], colour: 'red' } }, 'expected.colour'],
      [{ ...valid(), windowStart: 'tomorrow' }, 'windowStart'],
      [{ ...valid(), windowEnd: undefined }, 'windowEnd'],
      [{ ...valid(), windowEnd: Date.now() - 2 * HOUR }, 'windowEnd'],
      [{ ...valid(), windowStart: Date.now() - HOUR, windowEnd: Date.now() + 30 * 24 * HOUR }, 'windowEnd'],
      [{ ...valid(), changeId: 'has spaces' }, 'changeId'],
      [{ ...valid(), approvedBy: 'someone-else' }, 'approvedBy'],
    ];
    let before = 0;
    await bus.readToEnd(CHANGES, () => void (before += 1));
    for (const [body, field] of cases) {
      const r = await call('POST', '/changes', APPROVER, body);
      expect({ field, status: r.status, code: r.body['code'], bodyField: r.body['field'] }).toEqual({ field, status: 400, code: 'PCX_BAD_REQUEST', bodyField: field });
      expect(String(r.body['message'])).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    }
    let after = 0;
    await bus.readToEnd(CHANGES, () => void (after += 1));
    expect(after).toBe(before);
  });
});

describe('what the gateway publishes for the config-drift detector', () => {
  it('a CONFIG event at start, keyed gateway:<id>, with section digests and no secrets', async () => {
    const events = await eventually(async () => {
      const evs = (await readEvents(bus, EVENTS)).filter((e) => e.event.phase === Phase.CONFIG);
      return evs.length > 0 ? evs : undefined;
    }, 'CONFIG event');
    const { record, event } = events[0] as (typeof events)[number];
    expect(record.key?.toString()).toBe('gateway:gw-chg');
    expect(event.configChange?.gatewayId).toBe('gw-chg');
    expect(event.configChange?.newDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(event.configChange?.newDigest).toBe(gateway.configChanges?.current.digest);
    expect((event.configChange?.sections ?? []).map((s) => s.name)).toEqual(['approvals', 'changes', 'connection:main', 'grants:main', 'guardrails:main', 'identity', 'masking:main']);
    const raw = record.value?.toString('latin1') ?? '';
    for (const secret of ['s3cr3t-pw', 'mask-key-material', sha(APPROVER), sha(AGENT)]) expect(raw).not.toContain(secret);
  });

  it('ReportManifest publishes a MANIFEST event keyed by the caller subject; a bad manifest names its field', async () => {
    const client = new GatewayClient(`127.0.0.1:${gateway.grpcPort}`, credentials.createInsecure());
    const md = new Metadata();
    md.set('authorization', `Bearer ${AGENT}`);
    md.set('x-portcullis-host', 'etl-host');
    const report = (m: Parameters<typeof client.reportManifest>[0]) =>
      new Promise<{ eventId: string; sessionId: string }>((resolve, reject) => client.reportManifest(m, md, {}, (err, res) => (err ? reject(err) : resolve(res as { eventId: string; sessionId: string }))));
    try {
      const out = await report({ agentConfigHash: 'cfg-1', endpoints: ['https://api.internal:443'], env: [{ name: 'DB_PASSWORD', valueSha256: sha('hunter2'), secretBearing: true }], reportedAt: Date.now() });
      const ev = await eventually(async () => (await readEvents(bus, EVENTS)).find((e) => e.event.eventId === out.eventId), 'MANIFEST event');
      expect(ev.record.key?.toString()).toBe('agent-chg');
      expect(ev.event.phase).toBe(Phase.MANIFEST);
      expect(ev.event.sessionId).toBe(out.sessionId);
      expect(ev.event.identity?.subject).toBe('agent-chg');
      expect(ev.event.origin?.declaredHost).toBe('etl-host');
      expect(ev.event.manifest).toMatchObject({ agentConfigHash: 'cfg-1', endpoints: ['https://api.internal:443'], env: [{ name: 'DB_PASSWORD', valueSha256: sha('hunter2'), secretBearing: true }] });

      const refused = await report({ env: [{ name: 'DB_PASSWORD', valueSha256: 'hunter2' }] }).catch((e: ServiceError) => e);
      expect(refused).toMatchObject({ details: expect.stringMatching(/^PCX_BAD_REQUEST: env\[0\]\.value_sha256: /) });
      const anonymous = await new Promise<ServiceError | null>((resolve) => client.reportManifest({}, new Metadata(), {}, (err) => resolve(err)));
      expect(anonymous?.details).toMatch(/^PCX_AUTH_MISSING/);
    } finally {
      client.close();
    }
  });
});
