import type { BusConfig, Logger, MetricsRegistry } from '@portcullis/common';
import type { Bus } from './bus.js';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.js';
import { MemoryBus, type MemoryBusOptions } from './memory-bus.js';

export interface CreateBusExtras {
  metrics?: MetricsRegistry;
  memory?: Omit<MemoryBusOptions, 'logger' | 'metrics'>;
  kafka?: Omit<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'producer'>;
}

/** The bus the config names: in-process for the embedded mode, Kafka for the distributed one. */
export function createBus(config: BusConfig, logger: Logger, extras: CreateBusExtras = {}): Bus {
  if (config.kind === 'kafka') {
    return new KafkaBus({ ...extras.kafka, brokers: config.brokers, clientId: config.clientId, logger, producer: config.producer });
  }
  return new MemoryBus({ maxBatch: config.producer.maxBatch, ...extras.memory, logger, metrics: extras.metrics });
}
