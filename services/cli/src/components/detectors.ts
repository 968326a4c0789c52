import type { Bus } from '@portcullis/bus';
import type { Logger, MetricsRegistry, PortcullisConfig } from '@portcullis/common';
import { createAggregator, createScorers, runDetectors, type DetectorRuntime } from '@portcullis/detectors';

/**
 * Every scorer the config turns on and the risk aggregator over their findings, run as
 * one member of the detectors' consumer group (the same list in `start` and `detectors`).
 */
export function startDetectors(config: PortcullisConfig, bus: Bus, logger: Logger, metrics: MetricsRegistry): Promise<DetectorRuntime> {
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
