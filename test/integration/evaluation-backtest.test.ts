import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@portcullis/common';
import { changeToRow, createStoreClient, eventToRow, insertRows, migrate, type ClickHouseClient } from '@portcullis/store';
import { backtestEvents, evaluate, generateScenario, readStoredChanges, readStoredEvents, runThroughCore, type BacktestReport } from '@portcullis/simulator';
import { cleanEnv, ensureCliBuilt, runCli } from '../../services/cli/test/support/cli-process.js';

describe('backtest over a simulated history stored in ClickHouse (chdb)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcx-backtest-'));
  const stateDir = join(dir, 'state');
  // Recent history: the events table drops parts older than its 90-day TTL.
  const day = 86_400_000;
  const monday = (t: number) => t - ((new Date(t).getUTCDay() + 6) % 7) * day;
  const start = monday(Math.floor(Date.now() / day) * day - 5 * 7 * day);
  // Every kind of injected action, config drift included: the store keeps MANIFEST
  // payloads and the records of portcullis.changes (store migration 2).
  const scenario = generateScenario({ seed: 9, agents: 8, weeks: 3, start });
  let client: ClickHouseClient | undefined;

  beforeAll(async () => {
    const config = parseConfig({ store: { path: join(stateDir, 'chdb') } });
    client = createStoreClient(config.store);
    await migrate(client, config.store.database);
    const rows = scenario.events.map(eventToRow);
    for (let i = 0; i < rows.length; i += 10_000) await insertRows(client, config.store.database, 'events', rows.slice(i, i + 10_000));
    // A redelivered batch lands twice; events FINAL must read each event once.
    await insertRows(client, config.store.database, 'events', rows.slice(0, 500));
    // The change requests as the sink stores portcullis.changes: one row per record, published when filed.
    const changes = scenario.changes.map((c, i) => changeToRow(c.key, c.value, { topic: 'portcullis.changes', partition: 0, offset: String(i), timestamp: c.createdAt }));
    await insertRows(client, config.store.database, 'changes', changes);
  });

  afterAll(async () => {
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the window back in time order and reports the injected actions as the live run does', async () => {
    if (!client) throw new Error('no client');
    const c = client;
    const query = async (sql: string) => {
      const rs = await c.query({ query: sql, format: 'JSONCompact' });
      const body = (await rs.json()) as unknown as { meta: Array<{ name: string }>; data: unknown[][] };
      return { columns: body.meta, rows: body.data };
    };
    const stored = [];
    for await (const e of readStoredEvents(query, 'portcullis', scenario.from, scenario.to, 7_000)) stored.push(e);
    expect(stored.length).toBe(scenario.events.length);
    for (let i = 1; i < stored.length; i++) expect(Number(stored[i]?.time)).toBeGreaterThanOrEqual(Number(stored[i - 1]?.time));
    const changes = await readStoredChanges(query, 'portcullis', scenario.to);
    expect(changes.length).toBe(scenario.changes.length);
    const report = backtestEvents(stored, scenario.config, { from: scenario.from, to: scenario.to }, changes);
    const live = evaluate(scenario, runThroughCore(scenario.events, scenario.config, { changes: scenario.changes }));
    const replayed = evaluate(scenario, { alerts: report.alerts, decisions: report.decisions, events: report.events, deadLetters: report.deadLetters });
    expect(replayed.injections.filter((i) => !i.detected)).toEqual([]);
    expect(replayed.injections.map((i) => [i.id, i.detected, i.blocked, i.timeToDetectMs])).toEqual(live.injections.map((i) => [i.id, i.detected, i.blocked, i.timeToDetectMs]));
    expect(report.alerts.map((a) => a.id).sort()).toEqual(runThroughCore(scenario.events, scenario.config, { changes: scenario.changes }).alerts.map((a) => a.id).sort());
  });

  it('`portcullis backtest --from --to` on the embedded store reports what would have fired in the injection week', async () => {
    await client?.close();
    client = undefined; // chdb: one process per data directory; the CLI opens it now
    ensureCliBuilt();
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ stateDir, detectors: scenario.config }));
    const from = new Date(scenario.injectFrom - 14 * 86_400_000).toISOString();
    const to = new Date(scenario.to).toISOString();
    const r = await runCli(['backtest', '--from', from, '--to', to, '--config', configFile, '--state-dir', stateDir, '--json'], cleanEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as BacktestReport;
    expect(report.events).toBe(scenario.events.filter((e) => Number(e.time) >= Date.parse(from)).length);
    for (const inj of scenario.injections) {
      const hit = report.alerts.find((a) => a.detector === inj.detector && a.actor === inj.subject && a.time >= inj.start && a.time <= inj.end + 3_600_000);
      expect([inj.id, hit !== undefined]).toEqual([inj.id, true]);
      if (inj.expectBlock) expect([inj.id, report.decisions.some((d) => d.subject === inj.expectBlock && d.createdAt >= inj.start)]).toEqual([inj.id, true]);
    }
    const text = await runCli(['backtest', '--from', from, '--to', to, '--config', configFile, '--state-dir', stateDir], cleanEnv());
    expect(text.stdout).toMatch(/would have been issued/);
    expect(text.stdout).toMatch(/credential-origin/);
  });
});
