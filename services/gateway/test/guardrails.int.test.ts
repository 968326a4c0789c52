import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { Action } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway, type PortcullisGatewayClient } from '../src/index.js';
import { eventsOf, memoryLogger, uniqueName, withPg, denial } from './support/harness.js';

const TOKEN = `pcx_${randomBytes(32).toString('base64url')}`;
const schema = uniqueName('gw_guard');
const EVENTS = uniqueName('guard.events');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-guard-spool-'));
const logs = memoryLogger();

let bus: Bus;
let gateway: Gateway;
let agent: PortcullisGatewayClient;

async function rowCount(table: string): Promise<number> {
  return withPg(async (c) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0]?.n ?? -1);
}

beforeAll(async () => {
  await withPg(async (c) => {
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, owner text)`);
    await c.query(`INSERT INTO ${schema}.accounts SELECT g, 'owner' || g FROM generate_series(1, 5) g`);
    await c.query(`CREATE TABLE ${schema}.payroll (id int, amount int)`);
    await c.query(`CREATE TABLE ${schema}.scratch (id int)`);
    await c.query(`INSERT INTO ${schema}.scratch VALUES (1), (2)`);
  });
  bus = createMemoryBus({ logger: logs.logger });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      limits: { maxCommandBytes: 8 << 20 },
      tokens: [{ id: 'tok-agent', subject: 'agent:demo', kind: 'agent', sha256: createHash('sha256').update(TOKEN).digest('hex') }],
      connections: [
        // The demo's shape: the agent may write; guardrails, not a read-only grant, stop destructive statements.
        { name: 'app', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent:demo', access: 'write' }] },
        { name: 'reporting', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent:demo', access: 'read' }] },
        {
          name: 'custom',
          kind: 'postgres',
          url: '${env:PG}',
          grants: [{ subject: 'agent:demo', access: 'write' }],
          guardrails: {
            onUnparseable: 'allow',
            disableDefaults: ['deny-truncate'],
            protectedObjects: ['accounts'],
            rules: [{ id: 'no-payroll', severity: 'high', message: 'payroll is off limits to agents', match: { tables: ['payroll'] } }],
          },
        },
      ],
    },
  });
  gateway = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS } });
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

describe('guardrails through gRPC on real Postgres', () => {
  it('DROP TABLE → PERMISSION_DENIED PCX_GUARDRAIL_DENIED with the rule id and message; the table still exists; the REQUEST event says why', async () => {
    const e = await denial(agent.exec('app', `DROP TABLE ${schema}.accounts`));
    expect(e.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(e.context['grpcStatus']).toBe(status.PERMISSION_DENIED);
    expect(e.message).toMatch(/^guardrail deny-drop: DROP is not allowed through the gateway/);
    expect(await rowCount('accounts')).toBe(5);

    const [req] = await eventsOf(bus, EVENTS, String(e.context['requestId']), 1);
    expect(req?.verdict).toMatchObject({ action: Action.DENY, code: 'PCX_GUARDRAIL_DENIED', ruleId: 'deny-drop', reason: e.message });
    expect(req?.command).toMatchObject({ statementType: 'DDL_DROP', isWrite: true, hasWhere: false, hasLimit: false });
    expect(req?.command?.riskTags).toEqual(expect.arrayContaining(['drop', 'ddl']));
    expect(req?.command?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('DELETE without WHERE, and with WHERE 1=1, are denied and delete nothing', async () => {
    const bare = await denial(agent.exec('app', `DELETE FROM ${schema}.accounts`));
    expect(bare.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(bare.message).toMatch(/^guardrail deny-delete-update-without-where: /);
    const always = await denial(agent.exec('app', `DELETE FROM ${schema}.accounts WHERE 1=1`));
    expect(always.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(always.message).toMatch(/^guardrail deny-where-always-true: /);
    const [req] = await eventsOf(bus, EVENTS, String(always.context['requestId']), 1);
    expect(req?.command).toMatchObject({ statementType: 'DELETE', isWrite: true, hasWhere: true, tables: [`${schema}.accounts`] });
    expect(req?.command?.riskTags).toContain('where_always_true');
    expect(await rowCount('accounts')).toBe(5);
  });

  it('a targeted DELETE runs on the write grant; a string literal that reads like DROP is just a string', async () => {
    const del = await agent.exec('app', `DELETE FROM ${schema}.accounts WHERE id = 5`);
    expect(del.commandTag).toBe('DELETE 1');
    const lit = await agent.exec('app', "SELECT 'DROP TABLE x' AS s -- DROP TABLE y");
    expect(lit.rows?.[0]?.values).toEqual([{ text: 'DROP TABLE x' }]);
    const [req] = await eventsOf(bus, EVENTS, lit.requestId!, 1);
    expect(req?.verdict?.action).toBe(Action.ALLOW);
    expect(req?.command?.riskTags).toEqual([]);
  });

  it('a write hidden in a CTE is refused on a read grant (PCX_FORBIDDEN) and by guardrails on a write grant', async () => {
    const cte = `WITH d AS (DELETE FROM ${schema}.accounts WHERE id = 1 RETURNING *) SELECT * FROM d`;
    const ro = await denial(agent.exec('reporting', cte));
    expect(ro.code).toBe('PCX_FORBIDDEN');
    const [req] = await eventsOf(bus, EVENTS, String(ro.context['requestId']), 1);
    expect(req?.verdict).toMatchObject({ action: Action.DENY, ruleId: 'grants.read-only' });
    expect(req?.command).toMatchObject({ statementType: 'SELECT', isWrite: true });
    const rw = await denial(agent.exec('app', cte));
    expect(rw.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(rw.message).toMatch(/^guardrail deny-write-in-cte: /);
    expect(await rowCount('accounts')).toBe(4);
  });

  it('a multi-statement string with a hidden DROP is denied as a whole', async () => {
    const e = await denial(agent.exec('app', `SELECT 1; DROP TABLE ${schema}.scratch`));
    expect(e.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(e.message).toMatch(/^guardrail deny-drop: /);
    expect(await rowCount('scratch')).toBe(2);
  });

  it('an unparseable statement → INVALID_ARGUMENT PCX_SQL_UNPARSEABLE with the parser\'s reason', async () => {
    const e = await denial(agent.exec('app', 'SELEC * FRM accounts'));
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.context['grpcStatus']).toBe(status.INVALID_ARGUMENT);
    expect(e.message).toMatch(/syntax error at or near "SELEC".*cannot be analysed are refused on this connection/);
    const [req] = await eventsOf(bus, EVENTS, String(e.context['requestId']), 1);
    expect(req?.verdict).toMatchObject({ action: Action.DENY, code: 'PCX_SQL_UNPARSEABLE', ruleId: 'unparseable' });
    // On a read grant it is refused before guardrails: nothing shows it only reads.
    expect((await denial(agent.exec('reporting', 'SELEC 1'))).code).toBe('PCX_FORBIDDEN');
  });

  it('a 5 MB statement → RESOURCE_EXHAUSTED PCX_PAYLOAD_TOO_LARGE', async () => {
    const big = `SELECT '${'x'.repeat(5 << 20)}'`;
    const e = await denial(agent.exec('app', big));
    expect(e.code).toBe('PCX_PAYLOAD_TOO_LARGE');
    expect(e.context['grpcStatus']).toBe(status.RESOURCE_EXHAUSTED);
    expect(e.message).toMatch(/over the \d+-byte limit for analysis/);
  });

  it('20k nested parentheses → a clear error, and the gateway keeps serving', async () => {
    const e = await denial(agent.exec('app', `SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`));
    expect(e.code).toBe('PCX_SQL_UNPARSEABLE');
    expect(e.message).toMatch(/nested too deeply/);
    expect((await agent.exec('app', 'SELECT 2 AS two')).rows?.[0]?.values).toEqual([{ number: 2 }]);
  });

  it('per-connection guardrails: own rules, protected objects, a disabled default, unparseable allowed', async () => {
    const payroll = await denial(agent.exec('custom', `SELECT * FROM ${schema}.payroll`));
    expect(payroll.code).toBe('PCX_GUARDRAIL_DENIED');
    expect(payroll.message).toMatch(/^guardrail no-payroll: payroll is off limits to agents/);
    const prot = await denial(agent.exec('custom', `ALTER TABLE ${schema}.accounts ADD COLUMN x int`));
    expect(prot.message).toMatch(/^guardrail deny-ddl-protected-object: /);
    expect((await agent.exec('custom', `TRUNCATE ${schema}.scratch`)).commandTag).toBe('TRUNCATE');
    expect(await rowCount('scratch')).toBe(0);
    // Not analysable, allowed here: it reaches Postgres, whose syntax error comes back.
    const syntax = await denial(agent.exec('custom', 'SELEC 1'));
    expect(syntax.code).toBe('PCX_TARGET_ERROR');
    expect(syntax.message).toMatch(/^SQLSTATE 42601/);
  });

  it('a bad guardrail rule fails the start and names the key', async () => {
    const config = parseConfig({
      gateway: {
        grpc: { port: 0 },
        admin: { port: 0 },
        spool: { dir: spoolDir },
        connections: [{ name: 'x', kind: 'postgres', url: '${env:PG}', guardrails: { rules: [{ id: 'Bad Id', severity: 'high', message: 'm', match: { kinds: ['select'] } }] } }],
      },
    });
    const gw = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS } });
    const e = await denial(gw.start());
    expect(e.code).toBe('PCX_CONFIG_INVALID');
    expect(e.message).toMatch(/^gateway\.connections\.0\.guardrails\.rules: guardrail rules invalid at 0\.id/);
  });
});
