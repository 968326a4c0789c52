import type { Bus } from '@portcullis/bus';
import type { Logger, MetricsRegistry, PortcullisConfig } from '@portcullis/common';
import { runSink, type SinkHandle } from '@portcullis/sink';
import type { ClickHouseClient } from '@portcullis/store';

/** The sink for this config: every topic it lands, into the configured database. */
export function startSinkComponent(config: PortcullisConfig, bus: Bus, store: ClickHouseClient, logger: Logger, metrics: MetricsRegistry): Promise<SinkHandle> {
  return runSink({ bus, client: store, database: config.store.database, config: config.sink, logger, metrics });
}
