import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { Action, GatewayClient, Phase, type IExecResponse } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { denial, eventsOf, memoryLogger, readEvents, uniqueName, withPg } from './support/harness.js';

/**
 * The declared destination of a command's results (ExecRequest.destination or the
 * x-portcullis-destination metadata) against real Postgres and the in-process bus: it
 * reaches the RESPONSE event normalised, nothing secret in it travels, and a malformed
 * one is refused before the target sees the command.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TOKEN = `pcx_dest-${randomBytes(8).toString('hex')}`;
const schema = uniqueName('gw_dest');
const EVENTS = uniqueName('it.events');
const DECISIONS = uniqueName('it.decisions');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-dest-spool-'));
// Parts of a destination URL that must never leave the gateway.
const SECRET_USER = `u${randomBytes(6).toString('hex')}`;
const SECRET_PASS = `p${randomBytes(6).toString('hex')}`;
const SECRET_PATH = `path${randomBytes(6).toString('hex')}`;
const SECRET_QUERY = `sig${randomBytes(6).toString('hex')}`;
const SECRET_FRAGMENT = `frag${randomBytes(6).toString('hex')}`;

let bus: Bus;
let gateway: Gateway;
let agent: PortcullisGatewayClient;
const logs = memoryLogger();

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, email text)`);
    await c.query(`INSERT INTO ${schema}.customers VALUES (1, 'ann.lee@example.com'), (2, 'bo.kim@example.org')`);
    await c.query(`CREATE TABLE ${schema}.touched (id int)`);
  });
  bus = createMemoryBus({ logger: logs.logger });
  await bus.ensureTopics([
    { name: EVENTS, partitions: 3, cleanupPolicy: 'delete' },
    { name: DECISIONS, partitions: 3, cleanupPolicy: 'compact' },
  ]);
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      id: 'gw-dest',
      grpc: { port: 0 },
      admin: { port: 0 },
      tokens: [{ id: 'tok-dest', subject: 'agent-dest', kind: 'agent', groups: ['etl'], sha256: sha(TOKEN) }],
      connections: [{ name: 'main', kind: 'postgres', url: '${env:PG_MAIN}', grants: [{ group: 'etl', access: 'write' }], masking: { detectors: { email: 'redact' } } }],
      spool: { dir: spoolDir },
    },
  });
  gateway = createGateway({ config, env: { PG_MAIN: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS, decisions: DECISIONS } });
  await gateway.start();
  agent = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, TOKEN);
});

afterAll(async () => {
  agent?.close();
  await gateway?.close();
  await bus?.close();
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  rmSync(spoolDir, { recursive: true, force: true });
});

/** One Exec through a raw client, with metadata of our choosing. */
function rawExec(request: Record<string, unknown>, extra: Record<string, string>): Promise<{ err: ServiceError | null; res: IExecResponse | undefined }> {
  const client = new GatewayClient(`127.0.0.1:${gateway.grpcPort}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return new Promise((resolve) => {
    client.exec(request, md, {}, (err, res) => {
      client.close();
      resolve({ err, res: res as IExecResponse | undefined });
    });
  });
}

describe('declared destination of a command’s results', () => {
  it('an Exec with a declared destination yields a RESPONSE event carrying it normalised, beside the PII counts', async () => {
    const res = await agent.exec('main', `SELECT id, email FROM ${schema}.customers ORDER BY id`, { destination: 'HTTPS://Warehouse.Example.COM:443/' });
    expect(res.rowCount).toBe(2);
    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(req?.phase).toBe(Phase.REQUEST);
    // The REQUEST has no place for it: AccessEvent.response is RESPONSE only.
    expect(req?.response ?? null).toBeNull();
    expect(resp?.phase).toBe(Phase.RESPONSE);
    expect(resp?.response?.destination).toBe('https://warehouse.example.com');
    expect(resp?.response?.pii).toEqual([{ detector: 'email', count: 2 }]);
    expect(resp?.verdict?.action).toBe(Action.MASKED);
  });

  it('without a declaration the destination stays empty', async () => {
    const res = await agent.exec('main', 'SELECT 1 AS one');
    const [, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(resp?.response?.destination).toBe('');
  });

  it('x-portcullis-destination metadata declares it too; the request field wins when both are given', async () => {
    const viaMetadata = await rawExec({ connection: 'main', command: 'SELECT 1 AS one' }, { 'x-portcullis-destination': 'BI-Dashboard:9000' });
    expect(viaMetadata.err).toBeNull();
    const [, r1] = await eventsOf(bus, EVENTS, viaMetadata.res!.requestId!);
    expect(r1?.response?.destination).toBe('bi-dashboard:9000');

    const both = await rawExec({ connection: 'main', command: 'SELECT 1 AS one', destination: 's3://Exports-Bucket/daily' }, { 'x-portcullis-destination': 'bi-dashboard:9000' });
    expect(both.err).toBeNull();
    const [, r2] = await eventsOf(bus, EVENTS, both.res!.requestId!);
    expect(r2?.response?.destination).toBe('s3://exports-bucket');
  });

  it('a failed command’s RESPONSE carries the destination too', async () => {
    const e = await denial(agent.exec('main', `SELECT * FROM ${schema}.no_such_table`, { destination: 'ledger.internal' }));
    expect(e.code).toBe('PCX_TARGET_ERROR');
    const [, resp] = await eventsOf(bus, EVENTS, String(e.context['requestId']));
    expect(resp?.response).toMatchObject({ errorCode: '42P01', destination: 'ledger.internal' });
  });

  it('user-info, path, query and fragment of a destination URL appear nowhere in events or logs', async () => {
    const url = `https://${SECRET_USER}:${SECRET_PASS}@Exfil.Example.NET:8443/${SECRET_PATH}/upload?token=${SECRET_QUERY}#${SECRET_FRAGMENT}`;
    const res = await agent.exec('main', `SELECT id FROM ${schema}.customers WHERE id = 1`, { destination: url });
    const [, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(resp?.response?.destination).toBe('https://exfil.example.net:8443');

    // The same URL in the metadata, refused or not, leaves nothing either.
    await rawExec({ connection: 'main', command: 'SELECT 1 AS one' }, { 'x-portcullis-destination': url });
    const bad = await denial(agent.exec('main', 'SELECT 1 AS one', { destination: `${url} ` }));
    expect(bad.code).toBe('PCX_BAD_REQUEST');

    const records = await readEvents(bus, EVENTS);
    for (const secret of [SECRET_USER, SECRET_PASS, SECRET_PATH, SECRET_QUERY, SECRET_FRAGMENT]) {
      for (const { record } of records) expect(record.value!.toString('latin1')).not.toContain(secret);
      expect(logs.text()).not.toContain(secret);
      expect(bad.message).not.toContain(secret);
    }
  });

  it('a malformed destination is refused with INVALID_ARGUMENT PCX_BAD_REQUEST before the target sees the command', async () => {
    const insert = `INSERT INTO ${schema}.touched VALUES (1)`;
    const cases: Array<[Record<string, unknown>, Record<string, string>, RegExp]> = [
      [{ destination: 'https://exfil.example.net/\u0007' }, {}, /^destination contains whitespace or a control character$/],
      [{ destination: `https://exfil.example.net/${'a'.repeat(2100)}` }, {}, /^destination is longer than 2048 characters$/],
      [{ destination: 'user:secret@exfil.example.net' }, {}, /^destination must be a URL .* or a host\[:port\]; without a scheme/],
      [{}, { 'x-portcullis-destination': 'https://exfil.example.net:99999' }, /^x-portcullis-destination has a port outside 1–65535$/],
    ];
    for (const [fields, md, reason] of cases) {
      const { err } = await rawExec({ connection: 'main', command: insert, ...fields }, md);
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.metadata.get('pcx-code')).toEqual(['PCX_BAD_REQUEST']);
      expect(err?.details.replace(/^PCX_BAD_REQUEST: /, '')).toMatch(reason);
      expect(err?.details).not.toContain('secret');

      // Audited like any malformed call: a REQUEST denied before identification, and no RESPONSE.
      const requestId = err?.metadata.get('pcx-request-id')[0];
      expect(typeof requestId).toBe('string');
      const [req] = await eventsOf(bus, EVENTS, String(requestId), 1);
      expect(req).toMatchObject({ phase: Phase.REQUEST, verdict: { action: Action.DENY, code: 'PCX_BAD_REQUEST' } });
      expect(req?.identity?.subject ?? '').toBe('');
      expect((await readEvents(bus, EVENTS)).filter((x) => x.event.requestId === requestId)).toHaveLength(1);
    }
    // The target never ran the INSERT.
    expect((await withPg((c) => c.query(`SELECT count(*)::int AS n FROM ${schema}.touched`))).rows[0]).toEqual({ n: 0 });
    // And a valid declaration runs it, so the refusal above was the destination's doing.
    await agent.exec('main', insert, { destination: 'ledger.internal' });
    expect((await withPg((c) => c.query(`SELECT count(*)::int AS n FROM ${schema}.touched`))).rows[0]).toEqual({ n: 1 });
  });
});
