import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureCliBuilt, runCli, spawnCli, type CliServer } from '../../services/cli/test/support/cli-process.js';
import { eventually, runInsiderScenario } from './scenario.js';

/**
 * End to end, embedded mode: `portcullis start` as a user runs it (one process, in-process
 * bus, chdb, demo database), driven through its gRPC front end and the CLI.
 */
const USES_FROM_A = 25;
let dir: string;
let server: CliServer;
let demo: { grpc: string; token: string; connection: string };

beforeAll(async () => {
  ensureCliBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pcx-e2e-embedded-'));
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, `detectors:\n  credentialOrigin:\n    maturityEvents: 20\n    blockTtlMs: 600000\nsink:\n  flushMs: 200\n`);
  server = spawnCli(['start', '--state-dir', join(dir, 'state'), '--config', config, '--grpc-port', '0', '--admin-port', '0'], cleanEnv());
  await server.waitForLine(/portcullis ready/, 120_000);
  const path = join(dir, 'state', 'demo.json');
  expect(statSync(path).mode & 0o777).toBe(0o600);
  demo = JSON.parse(readFileSync(path, 'utf8')) as typeof demo;
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const query = async (sql: string): Promise<Array<Record<string, unknown>>> => {
  const r = await runCli(['query', '--state-dir', join(dir, 'state'), '--json', sql], cleanEnv());
  if (r.code !== 0) throw new Error(`query failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>> }).rows;
};

describe('embedded mode: a stolen token used from a new origin', () => {
  it('alerts, blocks the credential at the gateway, and leaves the story in ClickHouse', async () => {
    const { denial } = await runInsiderScenario({
      grpc: demo.grpc,
      token: demo.token,
      connection: demo.connection,
      sql: 'select id, name from customers where id = 7',
      usesFromA: USES_FROM_A,
      blockDeadlineMs: 30_000,
    });
    expect(denial.grpcStatus).toBe('PERMISSION_DENIED');
    expect(denial.message).toMatch(/decision/i);
    expect(denial.message).toMatch(/credential/);

    // The CLI shows the same denial with its stable code, and exits non-zero.
    const cli = await runCli(['exec', '--state-dir', join(dir, 'state'), '-c', demo.connection, '--host', 'laptop-of-mallory', 'select 1'], cleanEnv());
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('PCX_BLOCKED_BY_DECISION');

    // Events, the alert and the decision are queryable from the store.
    const events = await eventually('events in ClickHouse', 30_000, async () => {
      const rows = await query("select count() as n from portcullis.events final where subject = 'agent:demo'");
      const n = Number(rows[0]?.n);
      return n >= USES_FROM_A * 2 + 1 ? n : undefined;
    });
    expect(events).toBeGreaterThanOrEqual(USES_FROM_A * 2 + 1);
    const alerts = await eventually('alert in ClickHouse', 30_000, async () => {
      const rows = await query("select alert_id, severity_id, credential_id, raw from portcullis.alerts final where credential_id = 'demo-agent'");
      return rows.length > 0 ? rows : undefined;
    });
    const ocsf = JSON.parse(String(alerts[0]?.raw)) as { class_uid: number; finding_info: { uid: string } };
    expect(ocsf.class_uid).toBe(2004);
    const decisions = await eventually('decision in ClickHouse', 30_000, async () => {
      const rows = await query("select decision_id, subject from portcullis.decisions final where subject = 'credential:demo-agent'");
      return rows.length > 0 ? rows : undefined;
    });
    expect(decisions.map((d) => String(d.decision_id)).some((id) => denial.message.includes(id))).toBe(true);
    const denied = await query("select count() as n from portcullis.events final where verdict_code = 'PCX_BLOCKED_BY_DECISION'");
    expect(Number(denied[0]?.n)).toBeGreaterThanOrEqual(1);

    // And the SOC's view of it.
    const soc = await runCli(['alerts', '--state-dir', join(dir, 'state'), '--json'], cleanEnv());
    expect(soc.code).toBe(0);
    expect(soc.stdout).toContain('demo-agent');
  });
});
