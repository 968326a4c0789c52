import type { Bus } from '@portcullis/bus';
import type { Logger, MetricsRegistry, PortcullisConfig } from '@portcullis/common';
import { createAggregator, createScorers, runDetectors, type DetectorRuntime } from '@portcullis/detectors';
import { startDetectorThreads } from './detector-threads.js';

/**
 * Every scorer the config turns on and the risk aggregator over their findings, run as
 * one member of the detectors' consumer group (the same list in `start` and `detectors`),
 * or with detectors.runtime.threads > 1 as that many members in worker threads, each on
 * its own Kafka connections (then `bus` is not used by the detectors).
 */
export function startDetectors(config: PortcullisConfig, bus: Bus, logger: Logger, metrics: MetricsRegistry): Promise<DetectorRuntime> {
  if (config.detectors.runtime.threads > 1) return startDetectorThreads(config, logger, metrics);
  const aggregator = createAggregator(config.detectors);
  return runDetectors({
    bus,
    scorers: createScorers(config.detectors),
    ...(aggregator ? { aggregator } : {}),
    logger,
    metrics,
    config: config.detectors,
    partitions: config.bus.partitions,
  });
}
