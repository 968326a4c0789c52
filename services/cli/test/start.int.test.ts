import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureCliBuilt, runCli, spawnCli, type CliServer } from './support/cli-process.js';

// The embedded mode end to end, as a user runs it: `portcullis start` in its own process
// with a temp state dir and free ports, then the CLI's other commands against it.
describe('portcullis start (embedded)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'pcx-start-'));
  const state = ['--state-dir', stateDir];
  let server: CliServer;
  let ready: string;

  beforeAll(async () => {
    ensureCliBuilt();
    server = spawnCli(['start', ...state, '--grpc-port', '0', '--admin-port', '0']);
    ready = await server.waitForLine(/portcullis ready/, 150_000);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('prints the actual addresses and writes demo.json 0600', async () => {
    const m = /grpc=(127\.0\.0\.1:(\d+)) admin=(http:\/\/127\.0\.0\.1:(\d+))/.exec(ready);
    expect(m).not.toBeNull();
    expect(Number(m?.[2])).toBeGreaterThan(0);
    const demoPath = join(stateDir, 'demo.json');
    expect(statSync(demoPath).mode & 0o777).toBe(0o600);
    const demo = JSON.parse(readFileSync(demoPath, 'utf8')) as Record<string, string>;
    expect(demo.grpc).toBe(m?.[1]);
    expect(demo.admin).toBe(m?.[3]);
    expect(demo.connection).toBe('demo');
    expect(demo.token).toMatch(/^pcx_[A-Za-z0-9_-]{43}$/);
    expect(demo.demoDatabaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(server.stdout()).not.toContain(demo.token);
    expect(server.stderr()).not.toContain(demo.token);
    const health = await fetch(`${demo.admin}/healthz`);
    expect(health.status).toBe(200);
  });

  it('lets the operator reach the demo database directly', async () => {
    const demo = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as { demoDatabaseUrl: string };
    const c = new pg.Client({ connectionString: demo.demoDatabaseUrl });
    await c.connect();
    try {
      const r = await c.query<{ n: number }>('select count(*)::int as n from payroll');
      expect(r.rows[0]?.n).toBe(60);
    } finally {
      await c.end();
    }
  });

  it('exec prints an aligned table with a row count', async () => {
    const r = await runCli(['exec', ...state, '-c', 'demo', 'select count(*) from customers']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([' count', '-------', '  1000', '(1 row)', '']);
  });

  it('exec --json prints columns and rows, NULL as null, with the demo PII masked', async () => {
    const r = await runCli(['exec', ...state, '--connection', 'demo', '--json', '--host', 'ci-runner', 'select id, email, null as nothing from customers order by id limit 2']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { columns: Array<{ name: string }>; rows: unknown[][]; rowCount: number };
    expect(out.columns.map((c) => c.name)).toEqual(['id', 'email', 'nothing']);
    expect(out.rowCount).toBe(2);
    expect(out.rows[0]?.[0]).toBe(1);
    // The demo connection masks emails (partial: the last four characters survive).
    const email = String(out.rows[0]?.[1]);
    expect(email).toContain('*');
    expect(email.replace(/[^a-z0-9]/gi, '').length).toBeLessThanOrEqual(4);
    expect(out.rows[0]?.[2]).toBeNull();
  });

  it('a bad token is a denial: exit 2 and the PCX code on stderr', async () => {
    const r = await runCli(['exec', ...state, '-c', 'demo', 'select 1'], cleanEnv({ PORTCULLIS_TOKEN: 'pcx_not_a_real_token' }));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^PCX_AUTH_INVALID: /);
  });

  it('an unknown connection is an error: exit 1', async () => {
    const r = await runCli(['exec', ...state, '-c', 'nosuch', 'select 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^PCX_CONNECTION_UNKNOWN: /);
  });

  it('a target error is exit 1 with PCX_TARGET_ERROR', async () => {
    const r = await runCli(['exec', ...state, '-c', 'demo', 'select * from nosuchtable']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^PCX_TARGET_ERROR: .*nosuchtable/);
  });

  it('query shows the events landed in the store (through the running instance)', async () => {
    // The sink writes in batches; poll until the commands above are all there.
    let n = 0;
    for (let i = 0; i < 40 && n < 7; i++) {
      const r = await runCli(['query', ...state, '--json', 'select count() as n from portcullis.events FINAL']);
      expect(r.stderr).toBe('');
      n = Number((JSON.parse(r.stdout) as { rows: Array<{ n: number | string }> }).rows[0]?.n);
      if (n < 7) await new Promise((res) => setTimeout(res, 500));
    }
    // Two successful execs and one target error (REQUEST + RESPONSE each), the unknown connection (REQUEST), at least.
    expect(n).toBeGreaterThanOrEqual(7);

    const table = await runCli(['query', ...state, "select phase, connection, verdict_code from portcullis.events FINAL where connection = 'nosuch'"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/REQUEST\s+\|\s+nosuch\s+\|\s+PCX_CONNECTION_UNKNOWN/);
    expect(table.stdout).toContain('(1 row)');

    const host = await runCli(['query', ...state, '--json', "select count() as n from portcullis.events FINAL where declared_host = 'ci-runner'"]);
    expect(Number((JSON.parse(host.stdout) as { rows: Array<{ n: number }> }).rows[0]?.n)).toBe(2);

    // The demo URL reaches the gateway by reference only; no event carries it.
    const leak = await runCli(['query', ...state, '--json', "select count() as n from portcullis.events FINAL where position(concat(target_host, target_db, command_text, reason, payload), 'postgres://') > 0"]);
    expect(Number((JSON.parse(leak.stdout) as { rows: Array<{ n: number }> }).rows[0]?.n)).toBe(0);
  });

  it('alerts lists the (empty) alert table', async () => {
    const r = await runCli(['alerts', ...state]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/time\s+\|\s+severity\s+\|\s+title\s+\|\s+subject\s+\|\s+credential\s+\|\s+risk\s+\|\s+evidence/);
  });

  it('refuses a second start on the same state dir', async () => {
    const r = await runCli(['start', ...state, '--grpc-port', '0', '--admin-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PCX_STORE_UNAVAILABLE: .*in use by another process/);
  });

  it('shuts down cleanly on SIGTERM and removes its run files', async () => {
    expect(await server.stop()).toBe(0);
    expect(server.stdout()).toContain('portcullis stopped');
    expect(existsSync(join(stateDir, 'demo.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'store-api.json'))).toBe(false);
    // The store stays, readable directly now that no process holds it.
    const r = await runCli(['query', ...state, '--json', 'select count() as n from portcullis.events FINAL']);
    expect(r.stderr).toBe('');
    expect(Number((JSON.parse(r.stdout) as { rows: Array<{ n: number }> }).rows[0]?.n)).toBeGreaterThanOrEqual(7);
  });
});
