import { existsSync } from 'node:fs';
import { isPcxError, PcxError, type PortcullisConfig } from '@portcullis/common';
import type { CliEnv } from './env.js';
import { embeddedStorePath } from './config.js';
import { readStoreApiFile, resolveStateDir } from './state.js';
import { queryStoreApi } from './store-api/client.js';
import { runStoreQuery, type StoreResult } from './store-api/store-query.js';

/**
 * How `query` and `alerts` reach the event store, in order:
 *  1. a ClickHouse server: --store-url, else store.url in the config;
 *  2. the running `portcullis start` of the state directory, through its loopback store
 *     endpoint (store-api.json) — chdb lets only one process open a data directory;
 *  3. the embedded store directly, when no instance is running.
 */
export interface StoreReader {
  readonly description: string;
  query(sql: string): Promise<StoreResult>;
  close(): Promise<void>;
}

export async function openStoreReader(opts: { storeUrl: string | undefined; stateDirFlag: string | undefined; config: PortcullisConfig; env: CliEnv }): Promise<StoreReader> {
  const url = opts.storeUrl ?? opts.config.store.url;
  if (url) return serverReader({ ...opts.config.store, url }, opts.env, url);

  const stateDir = resolveStateDir(opts.stateDirFlag, opts.config.stateDir);
  const api = readStoreApiFile(stateDir);
  if (api) {
    try {
      await queryStoreApi(api.url, api.token, 'SELECT 1');
      return { description: `portcullis at ${api.url}`, query: (sql) => queryStoreApi(api.url, api.token, sql), close: async () => undefined };
    } catch (e) {
      // A store-api.json left by a process that died: fall through to the files.
      if (!(isPcxError(e) && e.code === 'PCX_STORE_UNAVAILABLE')) throw e;
    }
  }
  const path = embeddedStorePath(opts.config, stateDir);
  if (!existsSync(path)) throw new PcxError('PCX_STORE_UNAVAILABLE', `no event store at ${path}: run \`portcullis start\` first, or pass --store-url`);
  return embeddedReader({ ...opts.config.store, path });
}

async function serverReader(store: PortcullisConfig['store'], env: CliEnv, url: string): Promise<StoreReader> {
  const { createStoreClient } = await import('@portcullis/store');
  const client = createStoreClient(store, { env: env.vars });
  return { description: url, query: (sql) => runStoreQuery(client, sql), close: () => client.close() };
}

async function embeddedReader(store: PortcullisConfig['store']): Promise<StoreReader> {
  const { createStoreClient } = await import('@portcullis/store');
  let client: ReturnType<typeof createStoreClient>;
  try {
    client = createStoreClient(store);
  } catch (e) {
    // chdb refuses a directory another process holds (a start without store-api.json, e.g. one still starting).
    throw new PcxError('PCX_STORE_UNAVAILABLE', `the embedded store at ${store.path} is in use by another process: ${(e as Error).message}`, {}, { cause: e });
  }
  return { description: store.path, query: (sql) => runStoreQuery(client, sql), close: () => client.close() };
}
