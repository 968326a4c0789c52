import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { pb } from '@portcullis/proto';
import { createGateway, type ChangeRequestView, type Gateway } from '../src/index.js';
import { cleanEnv, ensureCliBuilt, runCli } from '../../cli/test/support/cli-process.js';
import { memoryLogger, uniqueName } from './support/harness.js';

/** `portcullis changes list|file|withdraw`, the built CLI against a gateway's admin API. */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const LEAD = `pcx_${randomBytes(32).toString('base64url')}`;
const AGENT = `pcx_${randomBytes(32).toString('base64url')}`;
const CHANGES = uniqueName('cli.changes');
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-cli-chg-'));
const stateDir = mkdtempSync(join(tmpdir(), 'gw-cli-state-'));
const logs = memoryLogger();

let bus: Bus;
let gateway: Gateway;
let admin: string[];

beforeAll(async () => {
  ensureCliBuilt();
  bus = createMemoryBus({ logger: logs.logger });
  gateway = createGateway({
    config: parseConfig({
      environment: 'itest',
      gateway: {
        id: 'gw-cli',
        grpc: { port: 0 },
        admin: { port: 0 },
        spool: { dir: spoolDir },
        tokens: [
          { id: 'tok-lead', subject: 'lead', kind: 'human', groups: ['change-board'], sha256: sha(LEAD) },
          { id: 'tok-agent', subject: 'agent-x', kind: 'agent', sha256: sha(AGENT) },
        ],
        changes: { approverGroups: ['change-board'] },
      },
    }),
    env: {},
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: uniqueName('cli.events'), decisions: uniqueName('cli.decisions'), changes: CHANGES },
  });
  await gateway.start();
  admin = ['--admin', `http://127.0.0.1:${gateway.adminPort}`, '--state-dir', stateDir];
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await bus?.close();
  rmSync(spoolDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

describe('portcullis changes', () => {
  it('files a change request, lists it, and withdraws it', async () => {
    const filed = await runCli(
      ['changes', 'file', ...admin, '--token', LEAD, '--id', 'chg-cli-1', '--scope', 'etl-*', '--kind', 'agent', '--expect', `endpoint=https://api2.internal:443,env=API_TOKEN,env=DB_PASSWORD:${sha('rotated')}`, '--from=-1h', '--to', '+2h', '--title', 'second API', '--json'],
      cleanEnv(),
    );
    expect(filed.stderr).toBe('');
    expect(filed.code).toBe(0);
    const v = JSON.parse(filed.stdout) as ChangeRequestView;
    expect(v).toMatchObject({ changeId: 'chg-cli-1', scope: 'etl-*', kind: 'AGENT_MANIFEST', status: 'APPROVED', approvedBy: 'lead', expected: { endpoints: ['https://api2.internal:443'], env: [{ name: 'API_TOKEN', valueSha256: '' }, { name: 'DB_PASSWORD', valueSha256: sha('rotated') }] } });
    expect(v.windowEnd - v.windowStart).toBe(3 * 3_600_000);
    const onTopic: string[] = [];
    await bus.readToEnd(CHANGES, (r) => void (r.value && onTopic.push(pb.ChangeRequest.decode(r.value).changeId)));
    expect(onTopic).toEqual(['chg-cli-1']);

    const list = await runCli(['changes', 'list', ...admin], cleanEnv({ PORTCULLIS_TOKEN: LEAD }));
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/chg-cli-1\W+approved\W+agent\W+etl-\*/);

    const withdrawn = await runCli(['changes', 'withdraw', 'chg-cli-1', ...admin, '--token', LEAD], cleanEnv());
    expect(withdrawn.code).toBe(0);
    expect(withdrawn.stdout).toMatch(/^change chg-cli-1: withdrawn \(revoked at .* by lead\)/);
  });

  it('reports the field the API refused, and usage errors before calling it', async () => {
    const refused = await runCli(['changes', 'file', ...admin, '--token', LEAD, '--scope', 'etl', '--kind', 'agent', '--expect', 'env=DB_PASSWORD:hunter2', '--to', '+1h', '--title', 't'], cleanEnv());
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('expected.env[0].valueSha256');
    const forbidden = await runCli(['changes', 'list', ...admin, '--token', AGENT], cleanEnv());
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toContain('PCX_FORBIDDEN');
    const usage = await runCli(['changes', 'file', ...admin, '--token', LEAD, '--scope', 'etl', '--kind', 'firewall', '--expect', 'endpoint=x', '--to', '+1h', '--title', 't'], cleanEnv());
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('--kind');
  });
});
