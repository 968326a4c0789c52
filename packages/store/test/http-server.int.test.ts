import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeSchema } from '@portcullis/common';
import { createStoreClient, query, type ClickHouseClient } from '../src/index.js';
import { startClickHouseServer, type ClickHouseServer } from '../../../test/support/clickhouse-server.js';

// The HTTP path of createStoreClient against a real server: Debian's clickhouse-server
// (18.16, too old for the Portcullis schema, so a plain table). Fails, never skips, when
// the binary is missing: CI installs it.
let server: ClickHouseServer;
let client: ClickHouseClient;
const db = `smoke_${Date.now().toString(36)}`;

beforeAll(async () => {
  server = await startClickHouseServer();
  const config = storeSchema.parse({ url: server.url, username: server.username, password: '${env:PCX_TEST_CH_PASSWORD}', database: db });
  client = createStoreClient(config, { env: { PCX_TEST_CH_PASSWORD: server.password } });
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describe('createStoreClient over HTTP', () => {
  it('creates a table, inserts JSONEachRow and reads it back', async () => {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    await client.command({ query: `CREATE TABLE ${db}.t (id String, n UInt64, tags Array(String)) ENGINE = MergeTree ORDER BY id` });
    await client.insert({ table: `${db}.t`, values: [{ id: 'b', n: 2, tags: [] }, { id: 'a', n: 1, tags: ['x', 'y'] }], format: 'JSONEachRow' });
    expect(await query(client, `SELECT id, n, tags FROM ${db}.t ORDER BY id`)).toEqual([
      { id: 'a', n: '1', tags: ['x', 'y'] },
      { id: 'b', n: '2', tags: [] },
    ]);
  });

  it('is refused without the resolved password', async () => {
    const anonymous = createStoreClient(storeSchema.parse({ url: server.url, username: server.username }));
    try {
      await expect(anonymous.query({ query: 'SELECT 1', format: 'JSONEachRow' })).rejects.toThrow(/password|Authentication|pcx/i);
    } finally {
      await anonymous.close();
    }
  });
});
