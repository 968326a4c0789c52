import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPcxError, parseConfig, silentLogger } from '@portcullis/common';
import { createStoreClient, migrate, type ClickHouseClient } from '@portcullis/store';
import { startStoreApi, type StoreApi } from '../src/store-api/server.js';
import { queryStoreApi } from '../src/store-api/client.js';

describe('loopback store API over the embedded chdb store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcx-store-api-'));
  let client: ClickHouseClient;
  let api: StoreApi;
  const token = 'pcx_test_store_token';

  beforeAll(async () => {
    const config = parseConfig({ store: { path: join(dir, 'chdb') } });
    client = createStoreClient(config.store);
    await migrate(client, config.store.database);
    api = await startStoreApi({ client, token, logger: silentLogger() });
  });

  afterAll(async () => {
    await api?.close();
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds loopback and answers queries with typed columns', async () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await queryStoreApi(api.url, token, "select count() as n, 'x' as s, NULL as z from portcullis.events FINAL");
    expect(r.columns.map((c) => c.name)).toEqual(['n', 's', 'z']);
    expect(r.columns[0]?.type).toBe('UInt64');
    expect(r.rows).toHaveLength(1);
    expect(Number(r.rows[0]?.[0])).toBe(0);
    expect(r.rows[0]?.slice(1)).toEqual(['x', null]);
  });

  it('refuses a wrong or missing token', async () => {
    await expect(queryStoreApi(api.url, 'wrong', 'select 1')).rejects.toMatchObject({ code: 'PCX_AUTH_INVALID' });
    const res = await fetch(`${api.url}/query`, { method: 'POST', body: '{"sql":"select 1"}' });
    expect(res.status).toBe(401);
  });

  it('is read-only', async () => {
    const err = await queryStoreApi(api.url, token, 'drop table portcullis.events').catch((e: unknown) => e);
    expect(isPcxError(err) && err.code).toBe('PCX_BAD_REQUEST');
    expect((err as Error).message).toMatch(/readonly/i);
    const still = await queryStoreApi(api.url, token, 'select count() from portcullis.events');
    expect(still.rows).toHaveLength(1);
  });

  it('reports SQL errors as PCX_BAD_REQUEST', async () => {
    await expect(queryStoreApi(api.url, token, 'select nope from nowhere')).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
  });
});
