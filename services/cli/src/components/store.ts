import { PcxError, type Logger, type PortcullisConfig } from '@portcullis/common';
import { createStoreClient, migrate, type ClickHouseClient } from '@portcullis/store';

/** The store client for this config, migrated to the latest schema (migrations run on every start). */
export async function openMigratedStore(config: PortcullisConfig, env: Readonly<Record<string, string | undefined>>, logger: Logger): Promise<ClickHouseClient> {
  let client: ClickHouseClient | undefined;
  try {
    // chdb opens its directory here, synchronously, and refuses one that another process holds.
    client = createStoreClient(config.store, { env });
    const r = await migrate(client, config.store.database);
    if (r.applied.length > 0) logger.info({ applied: r.applied, version: r.version }, 'store migrated');
    return client;
  } catch (e) {
    await client?.close().catch(() => undefined);
    const message = (e as Error).message;
    if (/Cannot lock file|Failed to create connection/i.test(message)) {
      throw new PcxError('PCX_STORE_UNAVAILABLE', `the embedded store at ${config.store.path} is in use by another process (is another \`portcullis start\` running on this state directory?)`, {}, { cause: e });
    }
    throw e;
  }
}
