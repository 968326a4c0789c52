import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PcxError, type Logger } from '@portcullis/common';
import { demoDataset, type DemoDataset } from './dataset.js';
import { DEMO_SCHEMA } from './schema.js';

/**
 * The embedded demo target: PGlite (Postgres compiled to WASM, in this process) served
 * on the Postgres wire by pglite-socket, so the gateway reaches it with its ordinary pg
 * driver exactly as it would a real server.
 *
 * What pglite-socket 0.2.x does with connections (read from its source): PGlite is one
 * backend, so the server multiplexes — every socket's protocol messages go through one
 * global queue and run one at a time; while a transaction is open only the socket that
 * opened it is served. `maxConnections` (default 1) caps open sockets and a socket beyond
 * the cap is *refused* ("Too many connections"), not queued. So the gateway's pool for
 * this connection must stay at or below the cap; DEMO_POOL_MAX leaves headroom under
 * DEMO_MAX_CONNECTIONS for an operator's psql on demoDatabaseUrl.
 */
export const DEMO_MAX_CONNECTIONS = 8;
export const DEMO_POOL_MAX = 4;

export interface DemoDatabase {
  /** postgres://postgres@127.0.0.1:<port>/postgres — PGlite accepts any user without a password. */
  readonly url: string;
  readonly port: number;
  /** True when this start seeded empty tables. */
  readonly seeded: boolean;
  close(): Promise<void>;
}

export interface DemoDatabaseOptions {
  dataDir: string;
  logger: Logger;
  host?: string;
  /** 0 = a free port. */
  port?: number;
  seed?: number;
}

export async function startDemoDatabase(opts: DemoDatabaseOptions): Promise<DemoDatabase> {
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  let db: PGlite;
  try {
    db = await PGlite.create(opts.dataDir);
  } catch (e) {
    throw new PcxError('PCX_TARGET_UNAVAILABLE', `demo database: cannot open ${opts.dataDir}: ${(e as Error).message}`, {}, { cause: e });
  }
  let server: PGLiteSocketServer | undefined;
  try {
    await db.exec(DEMO_SCHEMA);
    const seeded = await seedIfEmpty(db, () => demoDataset(opts.seed));
    if (seeded) opts.logger.info({ dataDir: opts.dataDir }, 'demo database seeded');
    server = new PGLiteSocketServer({ db, host, port: opts.port ?? 0, maxConnections: DEMO_MAX_CONNECTIONS });
    await server.start();
    const port = Number(server.getServerConn().split(':').pop());
    const running = server;
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      port,
      seeded,
      async close() {
        await running.stop();
        await db.close();
      },
    };
  } catch (e) {
    await server?.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    if (e instanceof PcxError) throw e;
    throw new PcxError('PCX_TARGET_UNAVAILABLE', `demo database: ${(e as Error).message}`, {}, { cause: e });
  }
}

/** Seeds in one transaction, so a crash mid-seed leaves empty tables to seed again. */
export async function seedIfEmpty(db: PGlite, dataset: () => DemoDataset): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT (SELECT count(*) FROM customers)::int + (SELECT count(*) FROM payroll)::int AS n');
  if ((r.rows[0]?.n ?? 0) > 0) return false;
  const d = dataset();
  await db.transaction(async (tx) => {
    await insertRows(tx, 'customers', ['id', 'name', 'email', 'phone', 'ssn', 'card_number', 'created_at'], d.customers);
    await insertRows(tx, 'orders', ['id', 'customer_id', 'total_cents', 'created_at'], d.orders);
    await insertRows(tx, 'payments', ['id', 'order_id', 'card_number', 'iban', 'amount_cents', 'created_at'], d.payments);
    await insertRows(tx, 'payroll', ['employee_id', 'name', 'salary_cents', 'iban'], d.payroll);
  });
  return true;
}

async function insertRows<T extends object>(tx: Transaction, table: string, columns: ReadonlyArray<keyof T & string>, rows: readonly T[]): Promise<void> {
  const perBatch = 500;
  for (let start = 0; start < rows.length; start += perBatch) {
    const batch = rows.slice(start, start + perBatch);
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const slots = columns.map((c) => {
        params.push(row[c]);
        return `$${params.length}`;
      });
      return `(${slots.join(', ')})`;
    });
    await tx.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}
