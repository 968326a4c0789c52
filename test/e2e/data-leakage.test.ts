import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureCliBuilt, runCli, spawnCli, type CliServer } from '../../services/cli/test/support/cli-process.js';
import { eventually } from './scenario.js';

/**
 * End to end, embedded mode: the demo agent reads card numbers and SSNs (masked for it,
 * counted in the RESPONSE event) and declares with `portcullis exec --destination` that
 * the results go to a host it never sent anything to. The data-leakage detector raises a
 * critical alert and blocks the agent; the gateway refuses its next command; the URL's
 * credentials, path and query reach neither the events, the alert nor the store.
 */
const SECRET_PASS = `pw${randomBytes(6).toString('hex')}`;
const SECRET_PATH = `drop${randomBytes(6).toString('hex')}`;
const SECRET_QUERY = `sig${randomBytes(6).toString('hex')}`;
const DESTINATION = `https://mallory:${SECRET_PASS}@Exfil.Example.NET:443/${SECRET_PATH}?key=${SECRET_QUERY}`;
const NORMALISED = 'https://exfil.example.net';

let dir: string;
let state: string;
let server: CliServer;

beforeAll(async () => {
  ensureCliBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pcx-e2e-leak-'));
  state = join(dir, 'state');
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, `sink:\n  flushMs: 200\n`);
  server = spawnCli(['start', '--state-dir', state, '--config', config, '--grpc-port', '0', '--admin-port', '0'], cleanEnv());
  await server.waitForLine(/portcullis ready/, 120_000);
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli([...args.slice(0, 1), '--state-dir', state, ...args.slice(1)], cleanEnv());
const query = async (sql: string): Promise<Array<Record<string, unknown>>> => {
  const r = await cli(['query', '--json', sql]);
  if (r.code !== 0) throw new Error(`query failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>> }).rows;
};

describe('embedded mode: PII-bearing results declared bound for a new destination', () => {
  it('the data-leakage detector alerts and blocks the agent; nothing secret of the URL is kept', async () => {
    const read = await cli(['exec', '-c', 'demo', '--json', '--destination', DESTINATION, 'select id, name, ssn, card_number from customers order by id limit 5']);
    expect(read.code, read.stderr).toBe(0);
    const result = JSON.parse(read.stdout) as { rowCount: number; requestId: string };
    expect(result.rowCount).toBe(5);

    // The detector blocks the agent: the gateway refuses its next command.
    const blocked = await eventually('the agent blocked at the gateway', 60_000, async () => {
      const r = await cli(['exec', '-c', 'demo', 'select 1']);
      return r.code !== 0 && r.stderr.includes('PCX_BLOCKED_BY_DECISION') ? r.stderr : undefined;
    });
    expect(blocked).toContain('agent:demo');
    const decisions = await cli(['decisions', 'list', '--json']);
    expect(decisions.stdout).toContain('data-leakage');
    expect(decisions.stdout).toContain(NORMALISED);

    // The SOC's view: a critical data-leakage finding naming the normalised destination.
    const alerts = await eventually('data-leakage alert', 30_000, async () => {
      const r = await cli(['alerts', '--json']);
      return r.code === 0 && r.stdout.includes('Sensitive records sent to an untrusted destination') ? r.stdout : undefined;
    });
    const finding = alerts.split('\n').find((l) => l.includes('Sensitive records'));
    expect(JSON.parse(finding ?? '{}')).toMatchObject({ severity: expect.stringMatching(/critical/i) as string, subject: 'agent:demo' });
    // The detector's own alert (the risk aggregator's episode alert cites it too, so
    // match on the detector column, not on the text).
    const raw = await eventually('the data-leakage alert in ClickHouse', 30_000, async () => {
      const r = await query("select raw from portcullis.alerts final where detector = 'data-leakage'");
      return r.length > 0 ? r : undefined;
    });
    expect(raw).toHaveLength(1);
    expect(String(raw[0]?.raw)).toContain(NORMALISED);
    expect(String(raw[0]?.raw)).toContain('sensitive_to_new_destination');

    // The store has the RESPONSE with its PII counts and the normalised destination.
    const rows = await eventually('the RESPONSE event in ClickHouse', 30_000, async () => {
      const r = await query(`select destination, pii from portcullis.events final where request_id = '${result.requestId}' and phase = 'RESPONSE'`);
      return r.length > 0 ? r : undefined;
    });
    expect(rows[0]?.destination).toBe(NORMALISED);
    expect(JSON.stringify(rows[0]?.pii)).toMatch(/card/);
    expect(JSON.stringify(rows[0]?.pii)).toMatch(/ssn/);

    // Nothing of the URL's user-info, path or query anywhere.
    const everything = JSON.stringify(await query("select * from portcullis.events final where subject = 'agent:demo'")) + JSON.stringify(await query('select * from portcullis.alerts final')) + alerts + decisions.stdout;
    for (const secret of [SECRET_PASS, SECRET_PATH, SECRET_QUERY, 'mallory']) expect(everything).not.toContain(secret);
    expect(readFileSync(join(state, 'demo.json'), 'utf8')).not.toContain(SECRET_PASS);
  });
});
