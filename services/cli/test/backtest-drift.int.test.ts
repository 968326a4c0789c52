import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, uuidv7 } from '@portcullis/common';
import { IdentityKind, Phase, type IAccessEvent } from '@portcullis/proto';
import { changeToRow, createStoreClient, eventToRow, insertRows, migrate, migrations, type ClickHouseClient } from '@portcullis/store';
import { encodeChange, type BacktestReport } from '@portcullis/simulator';
import { cleanEnv, ensureCliBuilt, runCli } from './support/cli-process.js';

// `portcullis backtest` as an analyst runs it, on an embedded store written the way the
// sink writes it: MANIFEST events with their manifests, and the records of
// portcullis.changes. chdb lets one process hold a data directory, so this file writes,
// closes, and then lets the CLI open it.
const HOUR = 3_600_000;
const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;
const PLANTED = 'https://webhook.site:443';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'pcx-cli-backtest-'));
const stateDir = join(dir, 'state');
const configFile = join(dir, 'config.json');
const config = parseConfig({ store: { path: join(stateDir, 'chdb') } });
const db = config.store.database;

function manifest(subject: string, time: number, endpoints: string[]): IAccessEvent {
  return {
    eventId: uuidv7(time),
    requestId: uuidv7(time),
    sessionId: `s-${uuidv7(time)}`,
    time,
    phase: Phase.MANIFEST,
    environment: 'prod',
    gatewayId: 'gw-1',
    identity: { subject, kind: IdentityKind.AGENT },
    manifest: {
      agentConfigHash: sha256(endpoints.join(',')),
      endpoints,
      env: [
        { name: 'UPSTREAM_TOKEN', valueSha256: sha256('t0ken'), secretBearing: true },
        { name: 'BATCH_SIZE', valueSha256: sha256('500'), secretBearing: false },
      ],
      reportedAt: time,
    },
  };
}

async function withStore(fn: (client: ClickHouseClient) => Promise<void>): Promise<void> {
  const client = createStoreClient(config.store);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

function backtest(from: number, to: number, json = true) {
  return runCli(['backtest', '--from', new Date(from).toISOString(), '--to', new Date(to).toISOString(), '--config', configFile, '--state-dir', stateDir, ...(json ? ['--json'] : [])], cleanEnv());
}

beforeAll(() => {
  ensureCliBuilt();
  writeFileSync(configFile, JSON.stringify({ stateDir }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('portcullis backtest replays config drift from the store', () => {
  it('says what is missing on a store the sink has not migrated yet', async () => {
    await withStore(async (c) => void (await migrate(c, db, migrations.filter((m) => m.version === 1))));
    const r = await backtest(T0, T0 + HOUR);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^PCX_STORE_UNAVAILABLE: backtest: the event store .* is at schema version 1; it needs 2/);
  });

  it('reports a never-seen endpoint in an unapproved manifest as critical, and not the same manifest under an approved change', async () => {
    const base = ['postgres://db.internal:5432', 'https://portcullis-gateway.internal:8443'];
    const [rogue, approved] = ['agent:etl-rogue', 'agent:etl-approved'];
    await withStore(async (c) => {
      await migrate(c, db);
      const events = [rogue, approved].flatMap((s) => [manifest(s, T0 + 2 * HOUR, base), manifest(s, T0 + 5 * HOUR, [...base, PLANTED])]);
      await insertRows(c, db, 'events', events.map(eventToRow));
      const filed = T0 + 4 * HOUR;
      const value = encodeChange({ changeId: 'chg-etl-approved-1', title: 'webhook for etl', scope: approved, environment: 'prod', endpoints: [PLANTED], windowStart: filed, windowEnd: filed + 4 * HOUR, createdAt: filed });
      await insertRows(c, db, 'changes', [changeToRow('chg-etl-approved-1', value, { topic: 'portcullis.changes', partition: 0, offset: '0', timestamp: filed })]);
    });

    const r = await backtest(T0, T0 + 24 * HOUR);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as BacktestReport;
    expect(report).toMatchObject({ events: 4, changeRecords: 1 });
    const drift = report.alerts.filter((a) => a.detector === 'config-drift');
    expect(drift.map((a) => [a.actor, a.severity])).toEqual([[rogue, 'Critical']]);
    expect(drift[0]?.title).toMatch(/never-seen endpoint/);
    expect(report.decisions.map((d) => d.subject)).toEqual([`identity:${rogue}`]);

    const text = await backtest(T0, T0 + 24 * HOUR, false);
    expect(text.stdout).toMatch(/4 events, 1 change records/);
    expect(text.stdout).toMatch(/config-drift\s+agent:etl-rogue/);
    expect(text.stdout).not.toMatch(/agent:etl-approved/);
  });
});
