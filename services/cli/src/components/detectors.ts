import type { Bus } from '@portcullis/bus';
import type { Logger, MetricsRegistry, PortcullisConfig } from '@portcullis/common';
import { createCredentialOriginScorer, runDetectors, type DetectorRuntime, type Scorer } from '@portcullis/detectors';

/** The scorers the config turns on, run as one member of the detectors' consumer group. */
export function startDetectors(config: PortcullisConfig, bus: Bus, logger: Logger, metrics: MetricsRegistry): Promise<DetectorRuntime> {
  const scorers: Array<Scorer<unknown>> = [];
  if (config.detectors.credentialOrigin.enabled) scorers.push(createCredentialOriginScorer(config.detectors.credentialOrigin) as Scorer<unknown>);
  return runDetectors({ bus, scorers, logger, metrics, config: config.detectors, partitions: config.bus.partitions });
}
