import type { DetectorsConfig } from '@portcullis/common';
import type { Scorer } from '../scorer.js';
import { createCredentialOriginScorer } from './credential-origin.js';

/**
 * The scorers the config enables, in a stable order. The one place a new detector is
 * registered; the runtime takes whatever list it is given.
 */
export function createScorers(config: DetectorsConfig): Scorer<unknown>[] {
  const scorers: Scorer<unknown>[] = [];
  if (config.credentialOrigin.enabled) scorers.push(createCredentialOriginScorer(config.credentialOrigin) as Scorer<unknown>);
  return scorers;
}
