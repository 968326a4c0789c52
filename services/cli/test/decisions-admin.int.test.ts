import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureCliBuilt, runCli, spawnCli, type CliServer } from './support/cli-process.js';

// The embedded mode's block and lift, as the README walks through it: the credential-origin
// detector blocks the demo token used from a new host; the operator lists and lifts the
// block with the SOC token of demo.json, through the gateway's admin API.
describe('portcullis decisions on `portcullis start` (admin API)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'pcx-decisions-'));
  const state = ['--state-dir', stateDir];
  const configPath = join(stateDir, 'portcullis.json');
  let server: CliServer;

  beforeAll(async () => {
    ensureCliBuilt();
    writeFileSync(configPath, JSON.stringify({ detectors: { credentialOrigin: { maturityEvents: 5 } } }));
    server = spawnCli(['start', ...state, '--config', configPath, '--grpc-port', '0', '--admin-port', '0']);
    await server.waitForLine(/portcullis ready/, 150_000);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const exec = (host: string) => runCli(['exec', ...state, '-c', 'demo', '--host', host, 'select 1']);

  it('blocks the demo token from a new host; the SOC token lists and lifts it; the next Exec runs', async () => {
    const demo = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as { token: string; socToken: string };
    expect(demo.socToken).toMatch(/^pcx_[A-Za-z0-9_-]{43}$/);
    expect(demo.socToken).not.toBe(demo.token);

    expect((await runCli(['decisions', 'list', ...state, '--json'])).stdout).toBe('');
    for (let i = 0; i < 6; i++) expect((await exec('build-runner-1')).code).toBe(0);
    await exec('laptop-of-mallory');
    let blocked = await exec('build-runner-1');
    for (const deadline = Date.now() + 60_000; blocked.code === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 200));
      blocked = await exec('build-runner-1');
    }
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain('PCX_BLOCKED_BY_DECISION');

    const listed = await runCli(['decisions', 'list', ...state, '--json']);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { subject: string; source: string; decisionId: string });
    expect(rows.map((r) => r.subject)).toContain('credential:demo-agent');

    // The agent's own token is no SOC member: refused, exit 2.
    const agent = await runCli(['decisions', 'lift', ...state, 'credential:demo-agent', '--reason', 'let me out'], cleanEnv({ PORTCULLIS_TOKEN: demo.token }));
    expect(agent.code).toBe(2);
    expect(agent.stderr).toContain('PCX_FORBIDDEN');
    // No reason, no lift.
    expect((await runCli(['decisions', 'lift', ...state, 'credential:demo-agent'])).code).toBe(64);
    expect((await exec('build-runner-1')).code).toBe(2);

    for (const r of rows) {
      const lifted = await runCli(['decisions', 'lift', ...state, r.subject, '--reason', 'the operator moved laptops']);
      expect(lifted.stderr).toBe('');
      expect(lifted.code).toBe(0);
      expect(lifted.stdout).toContain(`lifted ${r.subject} (decision ${r.decisionId} from ${r.source}) by operator:soc`);
    }
    const after = await exec('build-runner-1');
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect((await runCli(['decisions', 'list', ...state, '--json'])).stdout).toBe('');
  });
});
