import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@portcullis/common';
import { DEMO_POOL_MAX, startDemoDatabase, type DemoDatabase } from '../src/demo/database.js';
import { DEMO_SIZES } from '../src/demo/dataset.js';

describe('demo database on the Postgres wire', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcx-demo-db-'));
  const dataDir = join(dir, 'demo-pg');
  let db: DemoDatabase | undefined;

  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds once, serves pg clients, and persists across restarts', async () => {
    db = await startDemoDatabase({ dataDir, logger: silentLogger() });
    expect(db.seeded).toBe(true);
    expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);

    const pool = new pg.Pool({ connectionString: db.url, max: DEMO_POOL_MAX });
    try {
      // As many concurrent clients as the gateway's pool will open.
      const counts = await Promise.all(
        (['customers', 'orders', 'payments', 'payroll'] as const).map(async (t) => {
          const r = await pool.query<{ n: number }>(`select count(*)::int as n from ${t}`);
          return [t, r.rows[0]?.n] as const;
        }),
      );
      expect(Object.fromEntries(counts)).toEqual(DEMO_SIZES);
      const bad = await pool.query<{ n: number }>("select count(*)::int as n from customers where ssn like '000-%' or ssn like '666-%' or ssn like '9%'");
      expect(bad.rows[0]?.n).toBe(0);
      const fk = await pool.query<{ n: number }>('select count(*)::int as n from payments p join orders o on o.id = p.order_id');
      expect(fk.rows[0]?.n).toBe(DEMO_SIZES.payments);
    } finally {
      await pool.end();
    }
    const first = await firstCustomer(db.url);
    await db.close();
    db = undefined;

    db = await startDemoDatabase({ dataDir, logger: silentLogger() });
    expect(db.seeded).toBe(false);
    expect(await firstCustomer(db.url)).toEqual(first);
  });
});

async function firstCustomer(url: string): Promise<unknown> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('select id, name, email, card_number from customers order by id limit 1');
    return r.rows[0];
  } finally {
    await c.end();
  }
}
