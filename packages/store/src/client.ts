import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection, type ChdbConnection } from 'chdb/connection';
import { resolveSecretRef, type Secret, type StoreConfig } from '@portcullis/common';

export type { ClickHouseClient } from '@clickhouse/client';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface StoreClientOptions {
  /** The password, already resolved by the caller. Wins over `config.password`. */
  password?: Secret;
  /** Where `${env:NAME}` references in `config.password` are looked up (injected: process.env is read once per process, elsewhere). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Clients on the embedded engine, and their connection: inserts take its zero-copy path. */
const embedded = new WeakMap<ClickHouseClient, ChdbConnection>();

/** The chdb connection under a client made by createStoreClient, if it is an embedded one. */
export function embeddedConnection(client: ClickHouseClient): ChdbConnection | undefined {
  return embedded.get(client);
}

/**
 * Settings both modes share, so results have one shape: 64-bit integers as JSON strings
 * (exact beyond 2^53; the server's default, which chdb does not share).
 */
const SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

/**
 * One client for both modes: a ClickHouse server over HTTP when `config.url` is set,
 * otherwise the embedded chdb engine bound to `config.path`. Callers write the same SQL
 * either way and always name tables with their database (`db.events`), because the
 * database does not exist before the first migration and the HTTP interface refuses a
 * default database that is missing.
 */
export function createStoreClient(config: StoreConfig, options: StoreClientOptions = {}): ClickHouseClient {
  if (config.url) {
    const password = options.password ?? (config.password ? resolveSecretRef(config.password, 'store.password', options.env ?? {}) : undefined);
    return createClient({
      url: config.url,
      ...(config.username ? { username: config.username } : {}),
      ...(password ? { password: password.reveal() } : {}),
      clickhouse_settings: SETTINGS,
    });
  }
  // chdb binds one data directory per process; a second path in the same process is refused by chdb itself.
  // The cast bridges two copies of the same Connection type: chdb's comes from
  // @clickhouse/client-common, the client bundles its own, and their settings types differ only nominally.
  const chdb = createChdbConnection({ path: config.path });
  const client = createClient({ connection: chdb as unknown as ClientConnection, clickhouse_settings: SETTINGS });
  embedded.set(client, chdb);
  return client;
}
