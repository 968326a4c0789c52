import { Topics, type DetectorsConfig } from '@portcullis/common';
import type { Scorer } from '../scorer.js';
import { createCommandAnomalyScorer } from './command-anomaly.js';
import { createConfigDriftScorer } from './config-drift.js';
import { createCredentialOriginScorer } from './credential-origin.js';
import { createDataLeakageScorer } from './data-leakage.js';
import { createRiskAggregator, type RiskAggregator } from './risk-aggregation.js';
import { createTimingScorer } from './timing.js';

/**
 * The scorers the config enables, in a stable order. The one place a new detector is
 * registered; the runtime takes whatever list it is given.
 */
export function createScorers(config: DetectorsConfig): Scorer<unknown>[] {
  const scorers: Scorer<unknown>[] = [];
  if (config.credentialOrigin.enabled) scorers.push(createCredentialOriginScorer(config.credentialOrigin) as Scorer<unknown>);
  if (config.commandAnomaly.enabled) scorers.push(createCommandAnomalyScorer(config.commandAnomaly) as Scorer<unknown>);
  if (config.timing.enabled) scorers.push(createTimingScorer(config.timing) as Scorer<unknown>);
  if (config.dataLeakage.enabled) scorers.push(createDataLeakageScorer(config.dataLeakage) as Scorer<unknown>);
  if (config.configDrift.enabled) scorers.push(createConfigDriftScorer(config.configDrift, { changesTopic: Topics.changes }) as Scorer<unknown>);
  return scorers;
}

/** The findings aggregator the config enables (it runs after the scorers, on their findings), or undefined. */
export function createAggregator(config: DetectorsConfig): RiskAggregator | undefined {
  return config.riskAggregation.enabled ? createRiskAggregator(config.riskAggregation) : undefined;
}
