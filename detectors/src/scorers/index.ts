import { Topics, type DetectorsConfig } from '@portcullis/common';
import type { Scorer } from '../scorer.js';
import { createConfigDriftScorer } from './config-drift.js';
import { createCredentialOriginScorer } from './credential-origin.js';

/**
 * The scorers the config enables, in a stable order. The one place a new detector is
 * registered; the runtime takes whatever list it is given.
 */
export function createScorers(config: DetectorsConfig): Scorer<unknown>[] {
  const scorers: Scorer<unknown>[] = [];
  if (config.credentialOrigin.enabled) scorers.push(createCredentialOriginScorer(config.credentialOrigin) as Scorer<unknown>);
  if (config.configDrift.enabled) scorers.push(createConfigDriftScorer(config.configDrift, { changesTopic: Topics.changes }) as Scorer<unknown>);
  return scorers;
}
