import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { Action, type IValue } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventsOf, memoryLogger, readEvents, uniqueName, withPg } from './support/harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AGENT_TOKEN = `pcx_${randomBytes(32).toString('base64url')}`;
const OFFICER_TOKEN = `pcx_${randomBytes(32).toString('base64url')}`;
const schema = uniqueName('gw_mask');
const EVENTS = uniqueName('mask.events');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-mask-spool-'));
const logs = memoryLogger();

// Synthetic PII, planted in Postgres; none of it may reach an agent or an event.
const PII = {
  email: 'alice.planted@example.com',
  phone: '+1 415 555 0132',
  ssn: '536-90-4399',
  card: '4111 1111 1111 1111',
  iban: 'GB82 WEST 1234 5698 7654 32',
  secret: 'OPEN-SESAME-7731',
};
const PLANTED = [PII.email, PII.phone, PII.ssn, PII.card, PII.card.replace(/ /g, ''), PII.iban, PII.iban.replace(/ /g, ''), PII.secret];

let bus: Bus;
let gateway: Gateway;
let agent: PortcullisGatewayClient;
let officer: PortcullisGatewayClient;

const text = (v: IValue | undefined): string => String(v?.text ?? v?.number ?? '');
const cells = (rows: Array<{ values?: IValue[] | null }> | null | undefined): string[] => (rows ?? []).flatMap((r) => (r.values ?? []).map(text));

function expectNoPlanted(s: string): void {
  for (const p of PLANTED) expect(s).not.toContain(p);
}

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, name text, email text, phone text, ssn text, card_number text, secret_code text)`);
    await c.query(`INSERT INTO ${schema}.customers VALUES ($1, 'Alice', $2, $3, $4, $5, $6), (2, 'Bob', 'bob.planted@example.com', NULL, NULL, NULL, NULL)`, [1, PII.email, PII.phone, PII.ssn, PII.card, PII.secret]);
    await c.query(`CREATE TABLE ${schema}.payments (id int, customer_id int, iban text)`);
    await c.query(`INSERT INTO ${schema}.payments VALUES (1, 1, $1)`, [PII.iban]);
  });
  bus = createMemoryBus({ logger: logs.logger });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      tokens: [
        { id: 'tok-agent', subject: 'agent:demo', kind: 'agent', sha256: sha(AGENT_TOKEN) },
        { id: 'tok-officer', subject: 'officer', kind: 'human', groups: ['privacy-officers'], sha256: sha(OFFICER_TOKEN) },
      ],
      connections: [
        // No masking configured: callers get raw values; events must not.
        { name: 'plain', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent:demo', access: 'read' }] },
        {
          name: 'crm',
          kind: 'postgres',
          url: '${env:PG}',
          grants: [
            { subject: 'agent:demo', access: 'write' },
            { group: 'privacy-officers', access: 'read' },
          ],
          masking: {
            key: '${env:MASK_KEY}',
            unmaskGroups: ['privacy-officers'],
            // A source-column rule: only lineage can find it behind an alias or an expression.
            columns: [{ column: 'customers.secret_code', label: 'secret', action: 'redact' }],
            detectors: { email: 'token', phone: 'partial', ssn: 'partial', card: 'partial', iban: 'partial' },
          },
        },
      ],
    },
  });
  gateway = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test', MASK_KEY: randomBytes(32).toString('hex') }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS } });
  await gateway.start();
  const address = `127.0.0.1:${gateway.grpcPort}`;
  agent = createGatewayClient(address, AGENT_TOKEN);
  officer = createGatewayClient(address, OFFICER_TOKEN);
});

afterAll(async () => {
  agent?.close();
  officer?.close();
  await gateway?.close();
  await bus?.close();
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('response masking over gRPC', () => {
  it('select * masks every sensitive value; the RESPONSE event is MASKED with counts per detector and the masked fields', async () => {
    const res = await agent.exec('crm', `SELECT * FROM ${schema}.customers ORDER BY id`);
    const [alice] = res.rows ?? [];
    const v = (alice?.values ?? []).map(text);
    expectNoPlanted(cells(res.rows).join('\n'));
    expect(v[0]).toBe('1');
    expect(v[1]).toBe('Alice');
    expect(v[2]).toMatch(/^tok_email_[a-z2-7]{12}$/);
    expect(v[3]).toMatch(/0132$/);
    expect(v[4]).toMatch(/^\*\*\*-\*\*-4399$/);
    expect(v[5]).toMatch(/^[* ]+1111$/);
    expect(v[6]).toBe('[REDACTED:secret]');

    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(req?.verdict?.action).toBe(Action.ALLOW);
    expect(resp?.verdict).toMatchObject({ action: Action.MASKED, ruleId: 'masking' });
    expect(resp?.response?.maskedFields).toEqual(['email', 'phone', 'ssn', 'card_number', 'secret_code']);
    const pii = Object.fromEntries((resp?.response?.pii ?? []).map((p) => [p.detector, p.count]));
    expect(pii).toEqual({ card: 1, email: 2, phone: 1, secret: 1, ssn: 1 });
    const payload = Buffer.from(resp!.payload).toString();
    expect(payload).toContain(v[2]);
    expectNoPlanted(payload);
  });

  it('deterministic tokens: the same email masks to the same token, so masked values still join', async () => {
    const a = await agent.exec('crm', `SELECT email FROM ${schema}.customers WHERE id = 1`);
    const b = await agent.exec('crm', `SELECT c.email AS e FROM ${schema}.customers c WHERE c.id = 1`);
    expect(text(a.rows?.[0]?.values?.[0])).toBe(text(b.rows?.[0]?.values?.[0]));
  });

  it('aliases and expressions: select ssn as x, lower(email), string_agg(card_number, …), and a source-column rule through lineage', async () => {
    const r = await agent.exec(
      'crm',
      `SELECT ssn AS x, lower(email), string_agg(card_number, ',') OVER () AS cards, secret_code AS y, upper(c.secret_code) AS z, (SELECT iban FROM ${schema}.payments p WHERE p.customer_id = c.id) AS acct FROM ${schema}.customers c WHERE id = 1`,
    );
    const v = (r.rows?.[0]?.values ?? []).map(text);
    expectNoPlanted(v.join('\n'));
    expect(v[0]).toMatch(/4399$/);
    expect(v[1]).toMatch(/^tok_email_/);
    expect(v[2]).toMatch(/1111$/);
    expect(v[3]).toBe('[REDACTED:secret]');
    expect(v[4]).toBe('[REDACTED:secret]');
    expect(v[5]).toMatch(/32$/);

    const agg = await agent.exec('crm', `SELECT string_agg(card_number || ' ' || ssn, ', ') FROM ${schema}.customers`);
    expectNoPlanted(cells(agg.rows).join('\n'));
  });

  it('a target error message is masked like a cell', async () => {
    const e = await agent.exec('crm', "SELECT 'carol.other@example.net'::int").then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(PcxError);
    expect((e as PcxError).message).toMatch(/^SQLSTATE 22P02: invalid input syntax for type integer: "tok_email_[a-z2-7]{12}"$/);
  });

  it('break glass: a member of unmaskGroups sees raw values; the event says so and still records only masked values', async () => {
    const res = await officer.exec('crm', `SELECT email, ssn FROM ${schema}.customers WHERE id = 1`);
    expect((res.rows?.[0]?.values ?? []).map(text)).toEqual([PII.email, PII.ssn]);
    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect(req?.command?.riskTags).not.toContain('unmasked');
    expect(resp?.command?.riskTags).toContain('unmasked');
    expect(resp?.verdict?.action).toBe(Action.ALLOW);
    expect(resp?.verdict?.reason).toBe('unmasked: break glass by group privacy-officers; raw values in email, ssn');
    expect(resp?.response?.maskedFields).toEqual(['email', 'ssn']);
    expectNoPlanted(Buffer.from(resp!.payload).toString());
  });

  it('a connection without masking answers raw values, and its RESPONSE event records them redacted with their counts', async () => {
    const res = await agent.exec('plain', `SELECT email, card_number, ssn FROM ${schema}.customers WHERE id = 1`);
    expect((res.rows?.[0]?.values ?? []).map(text)).toEqual([PII.email, PII.card, PII.ssn]);
    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    expect([req?.verdict?.action, resp?.verdict?.action]).toEqual([Action.ALLOW, Action.ALLOW]);
    const pii = Object.fromEntries((resp?.response?.pii ?? []).map((p) => [p.detector, p.count]));
    expect(pii).toEqual({ card: 1, email: 1, ssn: 1 });
    const payload = Buffer.from(resp!.payload).toString();
    expect(payload).toContain('[REDACTED:email]');
    expectNoPlanted(payload);
  });

  it('PII in the command text, or quoted back in a target error, reaches neither events nor logs', async () => {
    const ok = await agent.exec('plain', `SELECT id FROM ${schema}.customers WHERE email = '${PII.email}' OR card_number = '${PII.card}'`);
    for (const e of await eventsOf(bus, EVENTS, ok.requestId!)) {
      expect(e.command?.text).toMatch(/^SELECT id FROM \S+ WHERE email = .*\[REDACTED:email\].* OR card_number = '\[REDACTED:card\]'$/);
      expectNoPlanted(e.command?.text ?? '');
    }
    const err = await agent.exec('plain', `SELECT '${PII.card.replace(/ /g, '')}'::int`).then(
      () => undefined,
      (e: unknown) => e,
    );
    // No masking on this connection: the caller gets the target's message as it is.
    expect((err as PcxError).message).toContain(PII.card.replace(/ /g, ''));
    const requestId = String((err as PcxError).context['requestId']);
    const [, resp] = await eventsOf(bus, EVENTS, requestId);
    expect(Buffer.from(resp!.payload).toString()).toContain('[REDACTED:card]');
    expectNoPlanted(Buffer.from(resp!.payload).toString());
  });

  it('no published event contains a planted value', async () => {
    const events = await readEvents(bus, EVENTS);
    expect(events.length).toBeGreaterThanOrEqual(12);
    for (const { record } of events) expectNoPlanted(record.value!.toString('utf8'));
    expectNoPlanted(logs.text());
  });
});
