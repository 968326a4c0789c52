import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { PcxError } from '@portcullis/common';
import { checkIdentifier } from './identifier.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** The schema version after this call. */
  version: number;
}

/**
 * Brings `database` up to the latest schema version and records each applied version in
 * `<database>.schema_migrations`. Safe to run on every start and twice in a row: applied
 * versions are skipped, and each statement is itself idempotent, so a migration that
 * failed half-way is simply run again.
 */
export async function migrate(client: ClickHouseClient, database: string, migrations: readonly Migration[] = allMigrations): Promise<MigrateResult> {
  const db = checkIdentifier(database);
  await run(client, `CREATE DATABASE IF NOT EXISTS ${db}`, 0);
  await run(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC'))
     ENGINE = ReplacingMergeTree ORDER BY version`,
    0,
  );
  const done = new Set(await appliedVersions(client, db));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const sql of m.statements(db)) await run(client, sql, m.version);
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name, applied_at: Date.now() }],
      format: 'JSONEachRow',
    });
    applied.push(m.version);
    done.add(m.version);
  }
  return { applied, version: Math.max(0, ...done) };
}

/** Versions recorded as applied, ascending. */
export async function appliedVersions(client: ClickHouseClient, database: string): Promise<number[]> {
  const db = checkIdentifier(database);
  const rs = await client.query({ query: `SELECT DISTINCT version FROM ${db}.schema_migrations ORDER BY version`, format: 'JSONEachRow' });
  const rows = await rs.json<{ version: number | string }>();
  return rows.map((r) => Number(r.version));
}

async function run(client: ClickHouseClient, sql: string, version: number): Promise<void> {
  try {
    await client.command({ query: sql });
  } catch (e) {
    // A server that answered with an error has a schema problem; anything else is reachability.
    const code = e instanceof ClickHouseError ? 'PCX_INTERNAL' : 'PCX_STORE_UNAVAILABLE';
    throw new PcxError(code, `migration ${version} failed: ${e instanceof Error ? e.message : String(e)}`, { version }, { cause: e });
  }
}
